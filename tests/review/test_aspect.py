"""--aspect: a size from the style's long side, stored in the settings; not with --size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from storyframe.cli import EXIT_USAGE, cli
from storyframe.cli.projects import aspect_size
from storyframe.styles import BUILTIN_STYLES

GOLDEN_BIRD = Path(__file__).resolve().parents[2] / "examples" / "stories" / "golden-bird.txt"


@pytest.mark.parametrize(
    ("aspect", "size"),
    [
        ("16:9", (1344, 752)),
        ("3:2", (1344, 896)),
        ("4:3", (1344, 1008)),
        ("1:1", (1344, 1344)),
        ("2:3", (896, 1344)),
        ("9:16", (752, 1344)),
    ],
)
def test_aspect_size_keeps_the_long_side(aspect: str, size: tuple[int, int]) -> None:
    assert aspect_size(aspect, 1344) == size
    assert aspect_size(aspect, 64) == (64, 64)  # never below the smallest size


def test_scenes_with_aspect_store_the_size(tmp_path: Path) -> None:
    style = next(s for s in BUILTIN_STYLES if s.name == "cinematic")
    out = tmp_path / "p"
    result = CliRunner().invoke(
        cli, ["scenes", str(GOLDEN_BIRD), "-n", "2", "-o", str(out), "-q", "--aspect", "9:16"]
    )
    assert result.exit_code == 0, result.stderr
    settings = json.loads((out / "storyboard.json").read_text())["settings"]
    long_side = max(style.width, style.height)
    assert (settings["width"], settings["height"]) == aspect_size("9:16", long_side)
    assert settings["height"] == long_side > settings["width"]


def test_aspect_and_size_together_is_one_line_error(tmp_path: Path) -> None:
    args = ["run", str(GOLDEN_BIRD), "-o", str(tmp_path / "p"), "--aspect", "1:1"]
    result = CliRunner().invoke(cli, [*args, "--size", "512x512"])
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.strip().splitlines() == [
        "Error: --size and --aspect both set the image size. Give only one of them."
    ]
    assert not (tmp_path / "p").exists()
