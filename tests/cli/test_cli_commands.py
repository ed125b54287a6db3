"""The inspection commands, start-up cost, and configuration errors through the CLI."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from storyframe import __version__
from storyframe.cli import EXIT_USAGE, cli

KEY = "sk-or-v1-" + "a1b2c3d4" * 8


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )


HEAVY = (
    "aiohttp",
    "PIL",
    "jinja2",
    "fpdf",
    "rich",
    "tenacity",
    "storyframe.http",
    "storyframe.builtins.analysis",
    "storyframe.builtins.textsplit",
    # the bundled providers' working parts: planning, polling, requests
    "storyframe_openrouter.planner",
    "storyframe_openrouter.long",
    "storyframe_openrouter.beats",
    "storyframe_openrouter.budget",
    "storyframe_openrouter.validate",
    "storyframe_runware.polling",
)
# `--help` lists the commands: the entry-point modules load, no provider, model or config does.
HELP_HEAVY = (
    *HEAVY,
    "pydantic",
    "importlib.metadata",
    "asyncio",
    "storyframe.models",
    "storyframe.providers",
    "storyframe.config",
    "storyframe.builtins.heuristic",
    "storyframe.builtins.placeholder",
    "storyframe_openrouter.text",
    "storyframe_openrouter.image",
    "storyframe_openrouter.chat",
    "storyframe_openrouter.schema",
    "storyframe_runware.provider",
)


def imported_by(
    argv: list[str], heavy: tuple[str, ...], env: dict[str, str] | None = None
) -> list[str]:
    """Run ``storyframe ARGV`` in a fresh interpreter; the modules of ``heavy`` it imported."""
    code = (
        "import sys\n"
        "from storyframe.cli import main\n"
        f"sys.argv = ['storyframe', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        f"heavy = sorted(m for m in {heavy!r} if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=os.environ if env is None else env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stderr.splitlines() if x.startswith("HEAVY "))
    return list(ast.literal_eval(line.removeprefix("HEAVY ")))


@pytest.mark.parametrize("argv", [["--help"], ["plugins"], ["providers"], ["styles"]])
def test_light_commands_do_not_import_heavy_modules(argv: list[str]) -> None:
    assert imported_by(argv, HELP_HEAVY if argv == ["--help"] else HEAVY) == []


def test_help_with_every_installed_plugin_loads_no_provider() -> None:
    env = {k: v for k, v in os.environ.items() if k != "STORYFRAME_LOAD_PLUGINS"}
    assert imported_by(["--help"], HELP_HEAVY, env) == []


def test_builtin_commands_load_no_plugin() -> None:
    """A built-in command that needs no provider loads no entry point at all."""
    heavy = ("storyframe.plugins", "storyframe_openrouter", "storyframe_runware")
    assert imported_by(["keys", "path"], heavy) == []


def test_python_dash_m_and_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "storyframe", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_plugins_lists_bundled_entry_point_plugins_as_json() -> None:
    result = invoke("plugins")
    assert result.exit_code == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["storyframe.builtins"]["builtin"] is True
    assert "heuristic" in plugins["storyframe.builtins"]["providers"]["text"]
    assert "placeholder" in plugins["storyframe.builtins"]["providers"]["image"]
    assert plugins["openrouter"]["distribution"] == "storyframe"
    assert plugins["openrouter"]["version"] == __version__
    assert "openrouter" in plugins["openrouter"]["providers"]["text"]
    assert "register_text_providers" in plugins["openrouter"]["hooks"]
    assert "runware" in plugins["runware"]["providers"]["image"]


def test_load_plugins_empty_loads_only_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYFRAME_LOAD_PLUGINS", "")
    names = [p["name"] for p in json.loads(invoke("plugins").stdout)]
    assert names == ["storyframe.builtins"]


def test_providers_table_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    table = invoke("providers")
    assert table.exit_code == 0
    for name in ("heuristic", "placeholder", "openrouter", "runware"):
        assert name in table.stdout
    rows = {r["name"]: r for r in json.loads(invoke("providers", "--json").stdout)}
    assert rows["openrouter"]["configured"] is False
    assert rows["openrouter"]["key_source"] == "unset (OPENROUTER_API_KEY)"
    assert rows["heuristic"]["configured"] is True
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    rows = {r["name"]: r for r in json.loads(invoke("providers", "--json").stdout)}
    assert rows["openrouter"]["configured"] is True
    assert rows["openrouter"]["key_source"] == "env OPENROUTER_API_KEY"
    assert KEY not in invoke("providers").stdout


def test_check_offline_passes_with_builtins_and_skips_unconfigured() -> None:
    result = invoke("check", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)["providers"]}
    assert rows["openrouter"]["status"] == "skipped"
    assert rows["heuristic"]["ok"] is True
    assert rows["placeholder"]["ok"] is True


def test_check_fails_when_a_chain_has_no_working_provider(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[image]\nproviders = ["runware"]\n')
    result = invoke("--config", config, "check")
    assert result.exit_code == 1
    assert "no working image provider" in result.stderr


def test_config_show_fills_defaults_and_never_shows_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "runware.key"
    key_file.write_text("rw-secret-key-123456789\n")
    config = tmp_path / "storyframe.toml"
    config.write_text(f'[run]\nscenes = 9\n[providers.runware]\napi_key_file = "{key_file}"\n')
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    result = invoke("config", "show", "--config", config)
    assert result.exit_code == 0, result.stderr
    assert "scenes = 9" in result.stdout
    assert "[providers.openrouter]" in result.stdout
    sections = result.stdout.split("\n\n")
    openrouter = next(s for s in sections if s.startswith("[providers.openrouter]"))
    runware = next(s for s in sections if s.startswith("[providers.runware]"))
    assert "# key: env OPENROUTER_API_KEY" in openrouter
    assert f"# key: file {key_file}" in runware
    assert KEY not in result.stdout
    assert "rw-secret-key-123456789" not in result.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[run\nscenes = 3\n", "invalid TOML"),
        ("[run]\nscene = 3\n", "[run] scene: unknown key"),
        ('[run]\nscenes = "six"\n', "[run] scenes:"),
        ('[text]\nproviders = ["gpt-magic"]\n', "unknown text provider 'gpt-magic'"),
        ("[providers.nonesuch]\nmodel = 'x'\n", "[providers.nonesuch]: unknown provider"),
        ("[providers.placeholder]\ncolour = 'red'\n", "[providers.placeholder] colour"),
        ('[providers.runware]\napi_key_file = "/nonexistent/key"\n', "does not exist"),
        ('[providers.runware]\napi_key = "abc"\n', "never read from the config file"),
    ],
)
def test_bad_config_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    config = tmp_path / "storyframe.toml"
    config.write_text(text)
    story = Path(__file__).resolve().parents[2] / "examples" / "stories" / "golden-bird.txt"
    result = invoke("--config", config, "run", story, "-o", tmp_path / "out")
    assert result.exit_code == EXIT_USAGE, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert str(config) in lines[0] or "api_key" in expected
    assert expected in lines[0]
    assert not (tmp_path / "out").exists()


def test_missing_config_file(tmp_path: Path) -> None:
    result = invoke("--config", tmp_path / "nope.toml", "providers")
    assert result.exit_code == EXIT_USAGE
    assert "does not exist" in result.stderr


def test_local_storyframe_toml_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "storyframe.toml").write_text("[run]\nscenes = 11\n")
    monkeypatch.chdir(tmp_path)
    assert "scenes = 11" in invoke("config", "show").stdout
