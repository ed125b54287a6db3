"""The plugin cache: ``plugins``, ``providers`` and ``styles`` answer from it, exactly as without.

Every listing is compared with the same command run with ``STORYFRAME_NO_CACHE=1``. A run that
answered from the cache leaves no plugin host behind (it loaded no plugin), which is how these
tests tell the two paths apart; one test runs a real process to check what it imports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from storyframe import infocache, plugins
from storyframe.cli import cli
from tests.plugins.conftest import TEXT_PROVIDER, MakePlugin

COMMANDS = [
    ("plugins",),
    ("providers",),
    ("providers", "--json"),
    ("styles",),
    ("styles", "--json"),
]
KEY = "rw-" + "0123456789abcdef" * 2


def run(*args: str) -> tuple[int, str, str, bool]:
    """Exit code, stdout, stderr, and whether the run answered from the cache."""
    plugins.reset()
    result = CliRunner().invoke(cli, list(args), prog_name="storyframe", catch_exceptions=False)
    cached = plugins._host is None
    plugins.reset()
    return result.exit_code, result.stdout, result.stderr, cached


def uncached(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    with monkeypatch.context() as patch:
        patch.setenv(infocache.NO_CACHE_ENV, "1")
        code, out, err, cached = run(*args)
    assert not cached
    return code, out, err


def assert_cached_like_uncached(monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """Run ``args`` until it answers from the cache; each answer equals the uncached one."""
    expected = uncached(monkeypatch, *args)
    for _ in range(3):
        code, out, err, cached = run(*args)
        assert (code, out, err) == expected, args
        if cached:
            return out
    raise AssertionError(f"{args} never answered from the cache")


@pytest.fixture
def plugin_dist(make_plugin: MakePlugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """One third-party plugin with a text provider and a style, selected to load."""
    source = TEXT_PROVIDER.format(provider="echo") + textwrap.dedent(
        """
        from storyframe.models import Style

        @hookimpl
        def register_styles(register):
            register(Style(name="sepia", description="Old photographs.", width=800, height=600))
        """
    )
    distribution, _ = make_plugin(source)
    monkeypatch.setenv(plugins.LOAD_ENV, f"storyframe,{distribution}")
    return distribution


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_listing_is_the_same_from_the_cache(
    args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_cached_like_uncached(monkeypatch, *args)


@pytest.mark.usefixtures("plugin_dist")
def test_a_third_party_plugin_is_listed_the_same_from_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for args in COMMANDS:
        out = assert_cached_like_uncached(monkeypatch, *args)
        assert ("echo" in out) if args[0] != "styles" else ("sepia" in out)


def test_the_cache_lives_in_the_user_cache_dir_and_can_be_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "cache" / "storyframe" / infocache.CACHE_NAME
    assert infocache.cache_path() == path
    uncached(monkeypatch, "providers")
    assert not path.exists()
    run("providers")
    assert path.exists()
    monkeypatch.setenv(infocache.NO_CACHE_ENV, "1")
    assert not run("providers")[3]


def test_a_corrupt_cache_is_ignored_and_written_again(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = uncached(monkeypatch, "plugins")
    run("plugins")
    infocache.cache_path().write_text("{not json")
    code, out, err, cached = run("plugins")
    assert (code, out, err, cached) == (*expected, False)
    assert run("plugins")[3]


# Invalidation: what the installation is now, at once -------------------------------------------


def test_installing_a_plugin_is_seen_at_once(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_cached_like_uncached(monkeypatch, "providers", "--json")
    distribution, _ = make_plugin(TEXT_PROVIDER.format(provider="late"))
    monkeypatch.setenv(plugins.LOAD_ENV, f"storyframe,{distribution}")
    _code, out, _, cached = run("providers", "--json")
    assert not cached and "late" in {row["name"] for row in json.loads(out)}


def test_editing_removing_and_upgrading_a_plugin_are_seen_at_once(
    plugin_dist: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Path(sys.path[0])
    (module,) = site.glob("sf_test_plugin_*.py")
    assert "echo" in assert_cached_like_uncached(monkeypatch, "providers")
    # An edit in place (as in an editable install): same distribution, same version.
    module.write_text(module.read_text().replace("'echo'", "'echo-renamed'"))
    sys.modules.pop(module.stem, None)
    out = assert_cached_like_uncached(monkeypatch, "providers")
    assert "echo-renamed" in out
    # An upgrade: the version in the metadata changes.
    (info,) = site.glob("*.dist-info")
    metadata = info / "METADATA"
    metadata.write_text(metadata.read_text().replace("1.2.3", "1.3.0"))
    out = assert_cached_like_uncached(monkeypatch, "plugins")
    assert '"version": "1.3.0"' in out
    # A removal.
    shutil.rmtree(info)
    module.unlink()
    sys.modules.pop(module.stem, None)
    _code, out, err, cached = run("providers")
    assert not cached and "echo" not in out
    assert f"{plugins.LOAD_ENV} names '{plugin_dist}'" in err


def test_editing_storyframe_itself_is_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = infocache.fingerprint(plugins.entry_points())
    modules = wanted[-1]["storyframe"]
    assert any(path.endswith(os.path.join("storyframe", "styles.py")) for path, *_ in modules)


def test_a_plugin_that_fails_to_load_is_still_reported(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken, name = make_plugin("import storyframe_no_such_dependency\n")
    monkeypatch.setenv(plugins.LOAD_ENV, f"storyframe,{broken}")
    for args in COMMANDS:
        assert_cached_like_uncached(monkeypatch, *args)
    _code, out, err, cached = run("plugins")
    assert cached and f"plugin {name!r} ({broken}) failed to load" in err
    assert "ModuleNotFoundError" in next(p for p in json.loads(out) if p["name"] == name)["error"]


def test_strict_loading_bypasses_the_cache(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_cached_like_uncached(monkeypatch, "plugins")
    monkeypatch.setenv(plugins.STRICT_ENV, "1")
    assert not run("plugins")[3]


# The configuration and the keys ---------------------------------------------------------------

CONFIG = """
[image]
providers = ["cards", "runware"]

[providers.cards]
use = "placeholder"

[providers.local-rw]
use = "runware"

[providers.runware]
api_key_file = "{key_file}"

[styles.moody]
extends = "noir"
width = 640
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key_file = tmp_path / "runware.key"
    key_file.write_text(KEY + "\n")
    path = tmp_path / "storyframe.toml"
    path.write_text(CONFIG.format(key_file=key_file))
    monkeypatch.setenv("STORYFRAME_CONFIG", str(path))
    monkeypatch.setenv("STORYFRAME_KEYS_FILE", str(tmp_path / "keys.json"))
    return path


def test_instances_key_files_and_config_styles_from_the_cache(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = assert_cached_like_uncached(monkeypatch, "providers", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["runware"]["key_source"] == f"file {config.parent / 'runware.key'}"
    assert rows["local-rw"]["key_source"] == "none (keyless instance: no key_env)"
    assert rows["cards"]["use"] == "placeholder"
    assert "moody" in assert_cached_like_uncached(monkeypatch, "styles")


def test_keys_are_looked_up_on_every_run(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_cached_like_uncached(monkeypatch, "providers")
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    keys = config.parent / "keys.json"
    keys.write_text(json.dumps({"local-rw": KEY}))
    keys.chmod(0o600)
    out = assert_cached_like_uncached(monkeypatch, "providers", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["openrouter"]["key_source"] == "env OPENROUTER_API_KEY"
    assert rows["local-rw"]["key_source"] == "stored key"
    assert KEY not in out


@pytest.mark.parametrize("problem", ["bad key", "key file gone", "keys file open to others"])
def test_what_the_normal_path_refuses_is_refused_the_same(
    config: Path, monkeypatch: pytest.MonkeyPatch, problem: str
) -> None:
    assert_cached_like_uncached(monkeypatch, "providers")
    if problem == "bad key":
        monkeypatch.setenv("OPENROUTER_API_KEY", "two words")
    elif problem == "key file gone":
        (config.parent / "runware.key").unlink()
    else:
        keys = config.parent / "keys.json"
        keys.write_text("{}")
        keys.chmod(0o644)
    expected = uncached(monkeypatch, "providers")
    assert expected[0] != 0 and expected[2].startswith("Error: ")
    code, out, err, cached = run("providers")
    assert (code, out, err, cached) == (*expected, False)


def test_a_config_edit_is_seen_at_once(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_cached_like_uncached(monkeypatch, "styles")
    config.write_text(config.read_text() + '\n[styles.pale]\nprompt_suffix = "pale"\n')
    _code, out, _, cached = run("styles")
    assert not cached and "pale" in out
    config.write_text("[run]\nscenes = 'many'\n")
    assert run("styles")[0] != 0


# A real process ------------------------------------------------------------------------------

PROBE = """
import sys
from storyframe.cli import main
try:
    main()
except SystemExit:
    pass
heavy = {"pydantic", "aiohttp", "storyframe_openrouter", "storyframe_runware"}
print(sorted({m.split(".")[0] for m in sys.modules} & heavy), file=sys.stderr)
"""


@pytest.mark.parametrize("command", ["plugins", "providers", "styles"])
def test_a_cached_listing_imports_no_pydantic_and_no_provider(command: str) -> None:
    def probe() -> str:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, command], capture_output=True, text=True, check=True
        )
        return done.stderr.strip().splitlines()[-1]

    assert "pydantic" in probe()  # the first run loads the plugins and writes the cache
    assert probe() == "[]"
