"""Debugging plugins: hook tracing, misspelt plugin names, whole-plugin removal, -v logging."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import click
import pytest

from storyframe import plugins
from storyframe.cli.base import setup_logging
from storyframe.errors import PluginError
from tests.plugins.conftest import TEXT_PROVIDER, MakePlugin, load

REGISTERS_THEN_FAILS = """
from storyframe import hookimpl
from storyframe.models import Scene, StoryAnalysis, Style
from storyframe.providers import TextProvider


class EchoTextProvider(TextProvider):
    name = "echo"

    async def analyze(self, story):
        return StoryAnalysis()

    async def generate_scenes(self, story, n, style, analysis=None):
        return []


@hookimpl
def register_text_providers(register):
    register(EchoTextProvider)


@hookimpl
def register_image_providers(register):
    raise {image_error}


@hookimpl
def register_styles(register):
    register(Style(name="echo-style"))


@hookimpl
def register_commands(cli):
    @cli.command()
    def echo_hello():
        pass

    raise {command_error}
"""


def test_trace_prints_every_hook_call(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    distribution, name = make_plugin(TEXT_PROVIDER.format(provider="echo"))
    monkeypatch.setenv(plugins.TRACE_ENV, "1")
    load(monkeypatch, distribution)
    err = capsys.readouterr().err
    module = f"sf_test_plugin_{name.removeprefix('test-')}"
    assert f"storyframe: trace: loaded {name} ({distribution} 1.2.3) from {module} in " in err
    assert f"trace: register_text_providers(register) -> {name} ({module})" in err
    assert "trace: register_text_providers returned [], registered text provider 'echo' in " in err
    assert "trace: register_styles(register) -> storyframe.builtins" in err


def test_trace_shows_what_a_hook_raised(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = REGISTERS_THEN_FAILS.format(
        image_error="OSError('no GPU')", command_error="RuntimeError"
    )
    distribution, _ = make_plugin(source)
    monkeypatch.setenv(plugins.TRACE_ENV, "1")
    load(monkeypatch, distribution)
    err = capsys.readouterr().err
    assert "trace: register_image_providers raised OSError: no GPU in " in err


def test_no_trace_by_default(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    distribution, _ = make_plugin(TEXT_PROVIDER.format(provider="echo"))
    load(monkeypatch, distribution)
    assert "trace:" not in capsys.readouterr().err


def test_unknown_plugin_name_warns_with_the_installed_names(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    distribution, name = make_plugin(TEXT_PROVIDER.format(provider="echo"))
    host = load(monkeypatch, "storyframe", distribution, "storyframe-mosiac")
    err = capsys.readouterr().err
    assert "STORYFRAME_LOAD_PLUGINS names 'storyframe-mosiac', which matches no installed" in err
    assert f"{name} ({distribution})" in err and "openrouter (storyframe)" in err
    assert "echo" in host.text_providers  # the names that do match still load
    with pytest.raises(PluginError, match="'storyframe-mosiac', which matches no installed"):
        load(monkeypatch, "storyframe-mosiac", strict=True)


def test_a_later_hook_failing_unregisters_the_whole_plugin(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = REGISTERS_THEN_FAILS.format(image_error="OSError('no GPU')", command_error="None")
    distribution, name = make_plugin(source)
    host = load(monkeypatch, distribution)
    err = capsys.readouterr().err
    assert f"plugin {name!r} ({distribution}) hook register_image_providers raised" in err
    assert "the plugin is skipped" in err
    assert "echo" not in host.text_providers  # registered by the earlier hook, then removed
    assert "echo-style" not in host.styles  # the later hook never ran
    assert host.pm.get_plugin(name) is None
    info = host.plugins[name]
    assert (info.text_providers, info.styles, info.error is not None) == ([], [], True)

    @click.group()
    def cli() -> None:
        """A stand-in for the storyframe command group."""

    host.add_commands(cli)
    assert "echo-hello" not in cli.commands  # an unregistered plugin adds no commands


def test_a_failing_command_hook_takes_providers_styles_and_commands_with_it(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = REGISTERS_THEN_FAILS.format(
        image_error="None", command_error="RuntimeError('no commands today')"
    ).replace("    raise None\n", "    pass\n")
    good, good_name = make_plugin(
        """
        from storyframe import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command()
            def hello():
                pass
        """
    )
    distribution, name = make_plugin(source)
    host = load(monkeypatch, distribution, good)
    assert "echo" in host.text_providers and "echo-style" in host.styles

    @click.group()
    def cli() -> None:
        """A stand-in for the storyframe command group."""

    host.add_commands(cli)
    err = capsys.readouterr().err
    assert f"plugin {name!r} ({distribution}) hook register_commands raised" in err
    assert set(cli.commands) == {"hello"}
    assert "echo" not in host.text_providers and "echo-style" not in host.styles
    assert host.plugins[good_name].commands == ["hello"]
    assert host.plugins[good_name].as_dict()["commands"] == ["hello"]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("verbose", [True, False])
def test_verbose_shows_every_plugins_log_records(
    make_plugin: MakePlugin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    verbose: bool,
) -> None:
    distribution, name = make_plugin(TEXT_PROVIDER.format(provider="echo"))
    host = load(monkeypatch, distribution)
    module = host.plugins[name].module
    setup_logging(verbose)
    logging.getLogger(f"{module}.provider").debug("plugin debug detail")
    logging.getLogger(module).warning("plugin warning")
    logging.getLogger("storyframe.http").debug("storyframe debug detail")
    logging.getLogger("some_library").debug("library debug noise")
    err = capsys.readouterr().err
    assert f"storyframe: WARNING {module}: plugin warning" in err
    assert ("plugin debug detail" in err) is verbose
    assert ("storyframe debug detail" in err) is verbose
    assert "library debug noise" not in err
