"""`storyframe characters`, `edit --character`, `show` and `--references` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from storyframe.cli import EXIT_USAGE, cli
from storyframe.project import Project

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


@pytest.fixture
def drawn(tmp_path: Path) -> Path:
    out = tmp_path / "gb"
    result = invoke(
        "run", GOLDEN_BIRD, "-n", "4", "-o", out, "-q", "--references",
        "--image-provider", "placeholder", "--text-provider", "heuristic",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return out


def test_run_with_references_draws_the_sheets_first_and_characters_lists_them(
    drawn: Path,
) -> None:
    board = Project(drawn).load()
    assert len(board.sheets) == 4 and all(s.status == "done" for s in board.sheets)
    for sheet in board.sheets:
        assert (drawn / sheet.image.path).is_file()
        assert sheet.image.path.startswith("images/character-")
    result = invoke("characters", drawn, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["drawn"] == [] and data["kept"] == [s.name for s in board.sheets]
    assert [r["name"] for r in data["sheets"]] == [s.name for s in board.sheets]
    text = invoke("characters", drawn).stdout
    assert board.sheets[0].name in text and "0 sheet(s) drawn, 4 kept." in text


def test_reseed_redraws_one_sheet_and_keeps_the_others(drawn: Path) -> None:
    before = Project(drawn).load().sheets
    name = before[1].name
    result = invoke("characters", drawn, "--character", name.upper(), "--reseed", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["drawn"] == [name]
    after = {s.name: s for s in Project(drawn).load().sheets}
    assert after[name].seed != before[1].seed
    assert (drawn / after[name].image.path).read_bytes() != b""
    for sheet in before:
        if sheet.name != name:
            assert after[sheet.name] == sheet


def test_an_unknown_character_is_a_one_line_error_naming_the_characters(drawn: Path) -> None:
    result = invoke("characters", drawn, "--character", "the dragon")
    line = one_line_error(result)
    assert result.exit_code == EXIT_USAGE
    assert "has no character 'the dragon'; its characters are: the fox, the bird" in line
    line = one_line_error(invoke("characters", drawn, "--reseed"))
    assert "--reseed redraws one sheet" in line and "--character NAME" in line


def test_edit_a_characters_look_says_the_sheet_is_out_of_date(drawn: Path) -> None:
    name = Project(drawn).load().sheets[0].name
    result = invoke("edit", drawn, "--character", name, "--look", "a red fox", "--age", "old")
    assert result.exit_code == 0, result.stderr
    assert f"{name}: changed look, age." in result.stdout
    assert f"The sheet of {name} is now out of date" in result.stdout
    assert f"--character '{name}' --reseed" in result.stdout
    board = Project(drawn).load()
    character = board.analysis.character(name)
    assert (character.look, character.age) == ("a red fox", "old")
    listing = invoke("characters", drawn, "--json")
    assert json.loads(listing.stdout)["sheets"][0]["out_of_date"] is True
    line = one_line_error(invoke("edit", drawn, "1", "--character", name, "--look", "x"))
    assert "--character edits a character, not a scene" in line
    again = invoke("edit", drawn, "--character", name, "--look", "a red fox")
    assert again.stdout == f"{name} unchanged.\n"


def test_images_dry_run_with_references_plans_the_missing_sheets(drawn: Path) -> None:
    (drawn / Project(drawn).load().sheets[0].image.path).unlink()
    result = invoke("images", drawn, "--force", "--references", "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    stages = {s["stage"]: s for s in json.loads(result.stdout)["stages"]}
    assert stages["sheets"]["items"] == 1 and "1 of 4" in stages["sheets"]["note"]
    plain = invoke("images", drawn, "--force", "--no-references", "--dry-run", "--json")
    assert "sheets" not in {s["stage"] for s in json.loads(plain.stdout)["stages"]}


def test_show_lists_a_scenes_references(drawn: Path) -> None:
    project = Project(drawn)
    board = project.load()
    board.record(2).references = [board.sheets[0].name]
    project.save(board)
    data = json.loads(invoke("show", drawn, "2", "--json").stdout)
    assert data["references"] == [board.sheets[0].name]
    assert f"references {board.sheets[0].name}" in invoke("show", drawn, "2").stdout
