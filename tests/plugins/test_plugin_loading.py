"""Loading plugins from entry points: discovery, selection, and broken plugins.

Each test builds throwaway plugin distributions as ``*.dist-info`` folders next to their module
in a temporary directory on ``sys.path``, which ``importlib.metadata`` discovers like any
installed distribution. No pip, no venv: every test runs in milliseconds.
"""

from __future__ import annotations

import textwrap

import click
import pytest
from click.testing import CliRunner

from storyframe import plugins
from storyframe.errors import PluginError
from storyframe.plugins import BUILTIN_NAME, get_host
from tests.plugins.conftest import TEXT_PROVIDER, MakePlugin, load


def assert_builtins_work(host: plugins.PluginHost) -> None:
    assert "heuristic" in host.text_providers
    assert "placeholder" in host.image_providers
    assert "cinematic" in host.styles


# (a) discovery ---------------------------------------------------------------------------------


def test_discovers_a_plugin_distribution(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    distribution, entry_point = make_plugin(TEXT_PROVIDER.format(provider="echo"))
    host = load(monkeypatch, distribution)
    info = host.plugins[entry_point]
    assert (info.distribution, info.version, info.builtin) == (distribution, "1.2.3", False)
    assert info.error is None
    assert info.hooks == ["register_text_providers"]
    assert info.text_providers == ["echo"]
    assert host.text_providers["echo"].__name__ == "EchoTextProvider"
    assert host.owner("echo") is info
    assert host.errors == []
    assert info.as_dict()["providers"] == {"text": ["echo"], "image": []}


@pytest.mark.parametrize("spelling", ["entry point", "normalized", "in a list"])
def test_selected_by_entry_point_or_normalized_distribution_name(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    distribution, entry_point = make_plugin(TEXT_PROVIDER.format(provider="echo"))
    names = {
        "entry point": entry_point,
        "normalized": distribution.upper().replace("-", "_"),
        "in a list": f" storyframe , {distribution} ,",
    }[spelling]
    assert "echo" in load(monkeypatch, names).text_providers


def test_unlisted_plugin_is_not_imported(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = "raise RuntimeError('imported although not selected')\n"
    _, entry_point = make_plugin(source)
    wanted, _ = make_plugin(TEXT_PROVIDER.format(provider="echo"))
    host = load(monkeypatch, wanted)
    assert entry_point not in host.plugins
    assert host.errors == []


# (b) broken plugins ------------------------------------------------------------------------------


def test_plugin_that_fails_to_import_is_reported_and_skipped(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken, broken_name = make_plugin("import storyframe_no_such_dependency\n")
    working, _ = make_plugin(TEXT_PROVIDER.format(provider="echo"))
    host = load(monkeypatch, broken, working)
    err = capsys.readouterr().err
    assert f"plugin {broken_name!r} ({broken}) failed to load" in err
    assert "ModuleNotFoundError" in err and "storyframe_no_such_dependency" in err
    assert host.plugins[broken_name].error is not None
    assert host.plugins[broken_name].hooks == []
    assert "echo" in host.text_providers
    assert_builtins_work(host)


def test_plugin_whose_hook_raises_is_reported_and_skipped(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = """
        from storyframe import hookimpl

        @hookimpl
        def register_text_providers(register):
            raise ValueError("the hook is broken")
    """
    broken, name = make_plugin(source)
    host = load(monkeypatch, broken)
    err = capsys.readouterr().err
    assert f"plugin {name!r} ({broken}) hook register_text_providers raised" in err
    assert "ValueError: the hook is broken" in err
    assert host.plugins[name].error is not None
    assert_builtins_work(host)


def test_register_commands_failure_spares_other_plugins(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken_source = """
        from storyframe import hookimpl

        @hookimpl
        def register_commands(cli):
            raise RuntimeError("no commands today")
    """
    good_source = """
        import click
        from storyframe import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command()
            def hello():
                click.echo("hello from a plugin")
    """
    broken, name = make_plugin(broken_source)
    good, _ = make_plugin(good_source)
    host = load(monkeypatch, broken, good)

    @click.group()
    def cli() -> None:
        """A stand-in for the storyframe command group."""

    host.add_commands(cli)
    host.add_commands(cli)  # a second call adds nothing twice
    assert f"plugin {name!r} ({broken}) hook register_commands raised" in capsys.readouterr().err
    result = CliRunner().invoke(cli, ["hello"])
    assert (result.exit_code, result.output) == (0, "hello from a plugin\n")


def test_strict_mode_makes_an_import_failure_fatal(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken, name = make_plugin("raise ImportError('needs libfoo')\n")
    with pytest.raises(PluginError, match=rf"plugin '{name}' .* failed to load: ImportError"):
        load(monkeypatch, broken, strict=True)
    # The failed load is not cached: the next call tries again.
    monkeypatch.delenv(plugins.STRICT_ENV)
    assert plugins.get_host().plugins[name].error is not None


def test_strict_mode_makes_a_hook_failure_fatal(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = """
        from storyframe import hookimpl

        @hookimpl
        def register_text_providers(register):
            raise ValueError("the hook is broken")
    """
    broken, name = make_plugin(source)
    with pytest.raises(PluginError, match=rf"plugin '{name}' .* raised: ValueError") as caught:
        load(monkeypatch, broken, strict=True)
    assert caught.value.hint is not None and plugins.STRICT_ENV in caught.value.hint


# (c) selection -----------------------------------------------------------------------------------


def test_empty_selection_loads_only_the_builtins(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_plugin(TEXT_PROVIDER.format(provider="echo"))
    host = load(monkeypatch)
    assert list(host.plugins) == [BUILTIN_NAME]
    assert host.plugins[BUILTIN_NAME].builtin
    assert "echo" not in host.text_providers
    assert_builtins_work(host)


def test_unset_selection_loads_every_entry_point(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, entry_point = make_plugin(TEXT_PROVIDER.format(provider="echo"))
    monkeypatch.delenv(plugins.LOAD_ENV, raising=False)
    plugins.reset()
    host = get_host()
    assert {BUILTIN_NAME, "openrouter", "runware", entry_point} <= set(host.plugins)
    assert host.plugins["openrouter"].distribution == "storyframe"
    assert host.plugins["runware"].distribution == "storyframe"
    assert "echo" in host.text_providers


def test_suite_default_loads_only_the_bundled_plugins() -> None:
    """tests/conftest.py selects the ``storyframe`` distribution: no third-party leaks in."""
    host = get_host()
    assert {info.distribution for info in host.plugins.values()} == {"storyframe"}
    assert {"openrouter", "runware", BUILTIN_NAME} <= set(host.plugins)


def test_host_is_loaded_once_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_host()
    assert get_host() is first
    plugins.reset()
    assert get_host() is not first


# (d) bad registrations ---------------------------------------------------------------------------


def test_duplicate_provider_name_is_reported_not_fatal(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = make_plugin(TEXT_PROVIDER.format(provider="echo"))
    second, _ = make_plugin(TEXT_PROVIDER.format(provider="echo"))
    host = load(monkeypatch, first, second)
    err = capsys.readouterr().err
    assert err.count("a provider named 'echo' is already registered") == 1
    owners = [info for info in host.plugins.values() if "echo" in info.text_providers]
    assert len(owners) == 1
    assert_builtins_work(host)


def test_duplicate_style_is_reported_not_fatal(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = """
        from storyframe import hookimpl
        from storyframe.models import Style

        @hookimpl
        def register_styles(register):
            register(Style(name="sepia", description="warm and old"))
    """
    first, _ = make_plugin(source)
    second, _ = make_plugin(source)
    host = load(monkeypatch, first, second)
    assert capsys.readouterr().err.count("a style named 'sepia' is already registered") == 1
    assert "sepia" in host.styles
    assert_builtins_work(host)


def test_builtin_names_cannot_be_taken(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = TEXT_PROVIDER.format(provider="placeholder") + textwrap.dedent(
        """
        from storyframe.models import Style

        @hookimpl
        def register_styles(register):
            register(Style(name="cinematic", description="an impostor"))
        """
    )
    distribution, name = make_plugin(source)
    host = load(monkeypatch, distribution)
    err = capsys.readouterr().err
    assert f"plugin {name!r} ({distribution}) hook register_text_providers" in err
    assert "a provider named 'placeholder' is already registered" in err
    # The plugin is skipped whole at its first failure: its style hook never runs.
    assert "register_styles" not in err
    assert BUILTIN_NAME not in err
    assert host.provider_class("placeholder") is host.image_providers["placeholder"]
    assert host.styles["cinematic"].description != "an impostor"
    assert host.plugins[name].text_providers == host.plugins[name].styles == []
    assert_builtins_work(host)


@pytest.mark.parametrize(
    ("registered", "message"),
    [
        ("42", "42 is not a subclass of TextProvider"),
        ("object", "is not a subclass of TextProvider"),
        ("ImageOnly", "is not a subclass of TextProvider"),
        ("BadName", "name must be a lowercase identifier, not 'Bad Name'"),
    ],
)
def test_registering_a_non_provider_is_reported_not_fatal(
    make_plugin: MakePlugin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    registered: str,
    message: str,
) -> None:
    source = f"""
        from storyframe import hookimpl
        from storyframe.builtins.placeholder import PlaceholderImageProvider
        from storyframe.providers import TextProvider

        class ImageOnly(PlaceholderImageProvider):
            name = "image-only"

        class BadName(TextProvider):
            name = "Bad Name"

        @hookimpl
        def register_text_providers(register):
            register({registered})
    """
    distribution, name = make_plugin(source)
    host = load(monkeypatch, distribution)
    err = capsys.readouterr().err
    assert f"plugin {name!r} ({distribution}) hook register_text_providers" in err
    assert message in err
    assert host.plugins[name].text_providers == []
    assert_builtins_work(host)


def test_strict_mode_makes_a_bad_registration_fatal(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = make_plugin(TEXT_PROVIDER.format(provider="echo"))
    second, _ = make_plugin(TEXT_PROVIDER.format(provider="echo"))
    with pytest.raises(PluginError, match="a provider named 'echo' is already registered"):
        load(monkeypatch, first, second, strict=True)
