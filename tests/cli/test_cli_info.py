"""``providers``, ``styles`` and ``config show`` with named instances and TOML styles."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from storyframe.cli import EXIT_USAGE, cli
from storyframe.config import RunSection, parse_config
from storyframe.providers import ProviderConfig
from storyframe.registry import Registry

REPO = Path(__file__).resolve().parents[2]
GOLDEN_BIRD = REPO / "examples" / "stories" / "golden-bird.txt"
KEY = "sk-or-v1-" + "f00d" * 12

CONFIG = """
[text]
providers = ["quick", "heuristic"]

[image]
providers = ["cards"]

[run]
scenes = 2
style = "moody"

[providers.quick]
use = "heuristic"
max_characters = 3

[providers.cards]
use = "placeholder"

[providers.or-cheap]
use = "openrouter"
model = "openai/gpt-4o-mini"
key_env = "OR_CHEAP_KEY"

[styles.moody]
extends = "noir"
width = 640
height = 480

[styles.pastel]
prompt_suffix = "pastel colours"
palette = ["#ffffff", "#000000"]
"""


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(
        cli, [str(a) for a in args], prog_name="storyframe", catch_exceptions=False
    )


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "storyframe.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("STORYFRAME_CONFIG", str(path))
    return path


@pytest.mark.usefixtures("config")
def test_providers_lists_instances_with_class_and_key_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = {r["name"]: r for r in json.loads(invoke("providers", "--json").stdout)}
    assert rows["quick"]["use"] == "heuristic" and rows["quick"]["kind"] == "text"
    assert rows["cards"]["use"] == "placeholder" and rows["cards"]["kind"] == "image"
    assert rows["or-cheap"]["use"] == "openrouter"
    assert rows["or-cheap"]["key_source"] == "unset (OR_CHEAP_KEY)"
    assert rows["or-cheap"]["configured"] is False
    monkeypatch.setenv("OR_CHEAP_KEY", KEY)
    table = invoke("providers").stdout
    assert KEY not in table
    line = next(li for li in table.splitlines() if li.startswith("or-cheap "))
    assert line.split()[:5] == ["or-cheap", "openrouter", "text", "yes", "env"]


@pytest.mark.usefixtures("config")
def test_instances_and_toml_style_make_a_storyboard_that_names_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", GOLDEN_BIRD, "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    board = json.loads((out / "storyboard.json").read_text())
    assert board["text_provider"] == "quick"
    assert board["settings"]["style"] == "moody"
    assert (board["settings"]["width"], board["settings"]["height"]) == (640, 480)
    assert {s["provider"] for s in board["scenes"]} == {"cards"}
    other = invoke("run", GOLDEN_BIRD, "-o", tmp_path / "o2", "-q", "--style", "pastel")
    assert other.exit_code == 0, other.stderr


def test_styles_marks_each_source(config: Path) -> None:
    rows = {r["name"]: r for r in json.loads(invoke("styles", "--json").stdout)}
    assert rows["cinematic"]["source"] == "built-in"
    assert rows["moody"]["source"] == "config"
    assert rows["moody"]["prompt_suffix"] == rows["noir"]["prompt_suffix"]
    assert rows["moody"]["width"] == 640
    table = invoke("styles").stdout.splitlines()
    assert table[0].split() == ["NAME", "SIZE", "SOURCE", "DESCRIPTION"]
    assert any(li.split()[:3] == ["pastel", "1024x576", "config"] for li in table)


def test_a_toml_style_may_not_replace_a_builtin(config: Path) -> None:
    config.write_text("[styles.noir]\nwidth = 640\n")
    result = invoke("styles")
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.strip() == (
        f"Error: {config}: [styles.noir]: 'noir' is already a built-in style; a config style "
        'may not replace it. Choose another name, with extends = "noir" to start from it.'
    )


def test_config_show_comments_every_key_and_parses_back(config: Path) -> None:
    result = invoke("config", "show")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    shown = tomllib.loads(text)
    again, original = Registry(parse_config(shown)), Registry(parse_config(tomllib.loads(CONFIG)))
    for section in ("text", "image", "run"):
        assert getattr(again.config, section) == getattr(original.config, section)
    assert again.names() == original.names()
    for name in original.names():
        assert again.slot(name).config == original.slot(name).config, name
    assert again.styles == original.styles
    lines = text.splitlines()
    assert "scenes = 2  # storyframe.toml" in lines
    assert "concurrency = 4  # default" in lines
    for key in ("seed", "width", "height"):
        assert f"# {key} = (unset)  # default" in lines
    for key in RunSection.model_fields:
        assert any(li.lstrip("# ").startswith(f"{key} = ") for li in lines), key
    runware = text.split("[providers.runware]\n")[1].split("\n\n")[0]
    for key in ProviderConfig.model_fields:
        assert key in runware, key
    for key in ("width", "height", "steps", "cfg_scale", "scheduler", "api_key_file"):
        assert f"# {key} = (unset)  # default" in runware
    quick = text.split("[providers.quick]\n")[1].split("\n\n")[0]
    assert 'use = "heuristic"  # storyframe.toml' in quick
    assert "max_characters = 3  # storyframe.toml" in quick
    assert 'extends = "noir"  # storyframe.toml' in text
    assert all(li == "" or li.startswith(("#", "[")) or "  # " in li for li in lines)
