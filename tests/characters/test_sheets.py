"""The sheet stage: drawn once, stable seeds, resumable, redrawn on request, never paid twice."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from storyframe.characters import main_characters, sheet_seed
from storyframe.project import Project
from storyframe.sheets import draw_sheets
from tests.characters.conftest import Service, make_board, pipeline


async def test_sheets_are_drawn_once_with_seeds_from_the_story_seed_and_the_name(
    project: Project, service: Service, tmp_path: Path
) -> None:
    board = project.load()
    result = await draw_sheets(pipeline(), project, board)
    assert result.done == ["Mara", "Tobin", "Old Wen"]
    seeds = {s.name: s.seed for s in project.load().sheets}
    assert seeds == {n: sheet_seed(7, n) for n in ("Mara", "Tobin", "Old Wen")}
    assert [e[4] for e in service.requests("sheet")] == list(seeds.values())
    assert len(set(seeds.values())) == 3

    again = await draw_sheets(pipeline(), project, project.load())
    assert again.done == [] and again.kept == ["Mara", "Tobin", "Old Wen"]
    assert len(service.requests("sheet")) == 3

    # The same story seed gives the same sheets in another project; another seed, others.
    other = Project(tmp_path / "other")
    other.prepare()
    other.save(make_board(seed=8))
    await draw_sheets(pipeline(), other, other.load())
    assert {s.name: s.seed for s in other.load().sheets} != seeds
    assert sheet_seed(7, "Mara") == sheet_seed(7, "mara") == seeds["Mara"]


def test_main_characters_are_the_most_mentioned_shown_in_a_scene() -> None:
    board = make_board()
    assert [c.name for c in main_characters(board, 10)] == ["Mara", "Tobin", "Old Wen", "Baker"]
    assert [c.name for c in main_characters(board, 2)] == ["Mara", "Tobin"]
    board.scenes = [r for r in board.scenes if "Mara" not in r.scene.characters]
    board.scenes = [r for r in board.scenes if "the fox" not in r.scene.characters]
    assert "Mara" not in [c.name for c in main_characters(board, 10)]


async def test_a_rerun_draws_only_the_missing_sheets(project: Project, service: Service) -> None:
    await draw_sheets(pipeline(), project, project.load())
    board = project.load()
    kept = {s.name: (project.folder / s.image.path).read_bytes() for s in board.sheets if s.image}
    (project.folder / "images" / "character-tobin.png").unlink()
    result = await draw_sheets(pipeline(), project, project.load())
    assert result.done == ["Tobin"] and result.kept == ["Mara", "Old Wen"]
    assert [e[2] for e in service.requests("sheet")][3:] == [1002]
    board = project.load()
    for sheet in board.sheets:
        assert (project.folder / sheet.image.path).read_bytes() == kept[sheet.name]


async def test_reseed_redraws_one_sheet_and_keeps_the_others(
    project: Project, service: Service
) -> None:
    await pipeline().draw(project, project.load(), references=True)
    board = project.load()
    old = {s.name: s.model_copy() for s in board.sheets}
    tobin = board.analysis.character("Tobin")
    result = await draw_sheets(pipeline(), project, board, only=tobin, reseed=True)
    assert result.done == ["Tobin"]
    board = project.load()
    new = {s.name: s for s in board.sheets}
    assert new["Tobin"].seed != old["Tobin"].seed
    assert new["Tobin"].image.sha256 != old["Tobin"].image.sha256
    assert new["Tobin"].uploads == {}, "the old upload was of the old image"
    for name in ("Mara", "Old Wen"):
        assert new[name] == old[name]
    # The next scene run uploads the new sheet only.
    uploads = len(service.uploads())
    await pipeline().draw(project, board, only=[6], references=True)
    assert service.uploads()[uploads:] == [("upload", "Tobin")]


async def test_a_failed_redraw_keeps_the_old_sheet(project: Project, service: Service) -> None:
    await draw_sheets(pipeline(), project, project.load())
    board = project.load()
    old = board.sheets[0].model_copy()
    service.fail_sheets = True
    result = await draw_sheets(
        pipeline(), project, board, only=board.analysis.character("Mara"), reseed=True
    )
    assert "the model refused the prompt" in result.failed["Mara"]
    sheet = project.load().sheets[0]
    assert sheet.status == "done" and sheet.image == old.image and sheet.seed == old.seed
    assert (project.folder / old.image.path).is_file()


async def test_a_kill_mid_sheet_recovers_the_paid_sheet_without_paying_again(
    project: Project, service: Service, tmp_path: Path
) -> None:
    service.hang_sheets = True
    task = asyncio.ensure_future(draw_sheets(pipeline(), project, project.load()))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if len(service.requests("sheet")) == 3:
            break
    # What a SIGKILL leaves on disk now: the handles journaled, no image stored.
    killed = tmp_path / "killed"
    shutil.copytree(project.folder, killed)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    service.hang_sheets = False
    left = Project(killed)
    board = left.load()
    assert all(s.job is not None and s.job.provider == "refs" for s in board.sheets)
    assert all(s.image is None for s in board.sheets)

    result = await draw_sheets(pipeline(), left, board)
    assert sorted(result.recovered) == ["Mara", "Old Wen", "Tobin"]
    assert len(service.requests("sheet")) == 3, "nothing was bought again"
    assert result.spent == 0
    board = left.load()
    for sheet in board.sheets:
        assert sheet.status == "done" and sheet.job is None and sheet.cost == 0.01
        assert left.image_intact(sheet.image)
    assert board.stage_costs["sheets"].cost == 0.03
