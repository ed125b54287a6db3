"""storyframe finds the plugin through its entry point, and the plugin does no work at import."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner
from storyframe import plugins
from storyframe.plugins import get_host

DISTRIBUTION = "storyframe-openai-compat"


def test_discovered_through_entry_point() -> None:
    host = get_host()
    compat = host.plugins["openai-compat"]
    assert (compat.distribution, compat.error, compat.module) == (
        DISTRIBUTION,
        None,
        "storyframe_openai_compat",
    )
    assert compat.hooks == ["register_image_providers", "register_text_providers"]
    assert (compat.text_providers, compat.image_providers) == (["openai-chat"], ["openai-images"])
    assert host.text_providers["openai-chat"].__module__ == "storyframe_openai_compat.chat"
    info = host.plugins["mosaic"]
    assert info.distribution == DISTRIBUTION
    assert info.error is None
    assert info.module == "storyframe_mosaic"
    assert info.hooks == ["register_commands", "register_image_providers", "register_styles"]
    assert info.image_providers == ["mosaic"]
    assert info.styles == ["stained-glass"]
    assert host.owner("mosaic") is info
    assert host.image_providers["mosaic"].__module__ == "storyframe_mosaic.provider"


@pytest.mark.parametrize(
    "names", ["storyframe_openai_compat", "mosaic", "storyframe, Storyframe-OpenAI-Compat"]
)
def test_selected_by_distribution_or_entry_point_name(
    monkeypatch: pytest.MonkeyPatch, names: str
) -> None:
    monkeypatch.setenv("STORYFRAME_LOAD_PLUGINS", names)
    plugins.reset()
    assert "mosaic" in get_host().image_providers


def test_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYFRAME_LOAD_PLUGINS", "")
    plugins.reset()
    host = get_host()
    assert "mosaic" not in host.plugins
    assert "mosaic" not in host.image_providers
    assert "stained-glass" not in host.styles


def test_no_work_at_import_time() -> None:
    code = (
        "import sys, storyframe_mosaic, storyframe_openai_compat; "
        "print(sorted(m for m in ('PIL', 'click', 'aiohttp', 'storyframe.http', "
        "'storyframe_mosaic.provider', 'storyframe_mosaic.styles', 'storyframe_mosaic.commands', "
        "'storyframe_openai_compat.chat', 'storyframe_openai_compat.images') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def cli_with_plugins() -> click.Group:
    @click.group()
    def cli() -> None:
        """A stand-in for the storyframe command group."""

    get_host().add_commands(cli)
    return cli


def test_palette_command() -> None:
    result = CliRunner().invoke(cli_with_plugins(), ["mosaic-palette", "stained-glass"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["#15171c", "lead"]
    assert [line.split()[0] for line in lines[1:]] == [
        "#f3e9d2",
        "#9b1d20",
        "#1d4e89",
        "#2f7d32",
        "#d9a21b",
        "#5c2a86",
    ]


def test_palette_command_json_for_a_builtin_style() -> None:
    result = CliRunner().invoke(cli_with_plugins(), ["mosaic-palette", "noir", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "style": "noir",
        "lead": "#0d0d0d",
        "glass": ["#eeeeee", "#7a7a7a", "#3a3a3a"],
    }


def test_palette_command_unknown_style() -> None:
    result = CliRunner().invoke(cli_with_plugins(), ["mosaic-palette", "no-such-style"])
    assert result.exit_code == 2
    assert "unknown style 'no-such-style'" in result.output
    assert "stained-glass" in result.output
