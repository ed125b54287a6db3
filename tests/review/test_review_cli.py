"""Review from the command line: show, edit, approve, reject, and what `images` says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from storyframe.cli import EXIT_USAGE, cli

REPO = Path(__file__).resolve().parents[2]
GOLDEN_BIRD = REPO / "examples" / "stories" / "golden-bird.txt"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result: Result) -> str:
    assert result.exit_code != 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and "Traceback" not in result.stderr
    return lines[0]


def manifest(folder: Path) -> dict:
    return json.loads((folder / "storyboard.json").read_text())


@pytest.fixture
def drawn(tmp_path: Path) -> Path:
    out = tmp_path / "gb"
    assert invoke("run", GOLDEN_BIRD, "-n", "3", "-o", out, "-q").exit_code == 0
    return out


def test_show_one_scene_as_json_and_text(drawn: Path) -> None:
    record = manifest(drawn)["scenes"][1]
    result = invoke("show", drawn, "2", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["number"] == 2
    assert data["title"] == record["scene"]["title"]
    assert data["prompt"] == record["prompt"]
    assert (data["status"], data["provider"], data["seed"]) == (
        "done",
        "placeholder",
        record["seed"],
    )
    assert Path(data["image"]).is_file()

    text = invoke("show", drawn, "2").stdout
    assert text.startswith(f"Scene 2 of 3: {record['scene']['title']}")
    assert f"seed       {record['seed']}" in text
    assert "placeholder" in text and "images/scene-02.png" in text


def test_show_lists_scenes_without_a_number(drawn: Path) -> None:
    lines = invoke("show", drawn).stdout.splitlines()
    assert lines[0].split() == ["SCENE", "STATUS", "APPROVED", "SHOT", "TITLE"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3"]


@pytest.mark.parametrize("command", [["show"], ["edit", "--title", "x"], ["approve"], ["reject"]])
def test_bad_scene_number_names_the_range(drawn: Path, command: list[str]) -> None:
    before = (drawn / "storyboard.json").read_bytes()
    result = invoke(command[0], drawn, "9", *command[1:])
    line = one_line_error(result)
    assert result.exit_code == EXIT_USAGE
    assert "no scene 9" in line and "1 to 3" in line
    assert (drawn / "storyboard.json").read_bytes() == before


def test_edit_changes_the_manifest_and_page_and_redraws_on_next_images(drawn: Path) -> None:
    image = drawn / "images" / "scene-02.png"
    old_image = image.read_bytes()
    result = invoke(
        "edit", drawn, "2", "--title", "The new title", "--prompt", "a red fox in snow",
        "--shot", "close-up", "--camera", "low angle",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "changed title, prompt, shot, camera" in result.stdout
    assert "draws it again" in result.stdout
    scene = manifest(drawn)["scenes"][1]["scene"]
    assert (scene["title"], scene["image_prompt"]) == ("The new title", "a red fox in snow")
    assert (scene["shot"], scene["camera"]) == ("close-up", "low angle")
    page = (drawn / "index.html").read_text()
    assert "The new title" in page and "close-up" in page

    summary = json.loads(invoke("images", drawn, "--json").stdout)
    assert summary["drawn"] == [2] and summary["kept"] == [1, 3]
    record = manifest(drawn)["scenes"][1]
    assert record["prompt"].startswith("close-up shot, low angle, a red fox in snow")
    assert (drawn / record["image"]["path"]).read_bytes() != old_image
    assert image.read_bytes() == old_image, "the earlier image is kept, as variant 1"


def test_edit_refuses_nothing_and_blank(drawn: Path) -> None:
    assert "nothing to change" in one_line_error(invoke("edit", drawn, "1"))
    before = (drawn / "storyboard.json").read_bytes()
    line = one_line_error(invoke("edit", drawn, "1", "--prompt", "  "))
    assert "--prompt" in line and "empty" in line
    assert (drawn / "storyboard.json").read_bytes() == before


def test_reject_then_images_scene_says_why_then_approve_draws(tmp_path: Path) -> None:
    out = tmp_path / "gb"
    assert invoke("scenes", GOLDEN_BIRD, "-n", "3", "-o", out, "-q").exit_code == 0
    result = invoke("reject", out, "2", "3")
    assert result.exit_code == 0 and "Scenes 2, 3 are not approved." in result.stdout
    assert [s["approved"] for s in manifest(out)["scenes"]] == [True, False, False]

    result = invoke("images", out, "--scene", "2")
    assert result.exit_code == 0
    assert f"scene 2 is not approved; run `storyframe approve {out} 2` first." in result.stderr
    assert manifest(out)["scenes"][1]["status"] == "pending"

    result = invoke("images", out)
    assert result.stdout.startswith("1 of 3 scenes drawn, 2 not approved;")

    result = invoke("approve", out, "2")
    assert "Scene 2 is approved." in result.stdout and "storyframe images" in result.stdout
    summary = json.loads(invoke("images", out, "--json").stdout)
    assert summary["drawn"] == [2] and summary["unapproved"] == [3]
