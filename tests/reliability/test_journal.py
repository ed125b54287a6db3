"""The project's journal: O(1) scene changes, replayed on load, folded in by a save."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storyframe.models import PaidJob, RunSettings, Scene, SceneRecord, Storyboard, StoryInfo
from storyframe.project import JOURNAL, Project


def board(scenes: int) -> Storyboard:
    return Storyboard(
        story=StoryInfo(path="s.txt", sha256="ab" * 32),
        settings=RunSettings(
            scenes=scenes,
            style="cinematic",
            seed=1,
            width=64,
            height=64,
            text_providers=["heuristic"],
            image_providers=["placeholder"],
        ),
        scenes=[
            SceneRecord(scene=Scene(number=i, title=f"t{i}", description="d", image_prompt=f"p{i}"))
            for i in range(1, scenes + 1)
        ],
    )


def test_changes_are_replayed_over_the_manifest(tmp_path: Path) -> None:
    project = Project(tmp_path)
    b = board(3)
    project.save(b)
    record = b.record(2)
    record.job = PaidJob(provider="runware", handle="h-2")
    project.record(b, record)
    record.status, record.job = "done", None
    project.record(b, record)

    loaded = project.load()
    assert loaded.record(2).status == "done" and loaded.record(2).job is None
    assert loaded.record(1).status == "pending"
    assert json.loads((tmp_path / "storyboard.json").read_text())["scenes"][1]["status"] == (
        "pending"
    ), "the manifest itself is only rewritten by a save"


def test_a_line_cut_short_by_a_kill_is_ignored(tmp_path: Path) -> None:
    project = Project(tmp_path)
    b = board(2)
    project.save(b)
    b.record(1).job = PaidJob(provider="runware", handle="h-1")
    project.record(b, b.record(1))
    with (tmp_path / JOURNAL).open("ab") as journal:
        journal.write(b'{"board": "x", "record": {"scene": {"num')
    loaded = project.load()
    assert loaded.record(1).job is not None and loaded.record(1).job.handle == "h-1"


def test_a_save_folds_the_journal_in_and_empties_it(tmp_path: Path) -> None:
    project = Project(tmp_path)
    b = board(2)
    project.save(b)
    b.record(1).status = "done"
    project.record(b, b.record(1))
    assert (tmp_path / JOURNAL).exists()
    project.save(b)
    assert not (tmp_path / JOURNAL).exists()
    assert project.load().record(1).status == "done"


def test_lines_of_an_earlier_board_are_not_applied(tmp_path: Path) -> None:
    project = Project(tmp_path)
    old = board(2)
    project.save(old)
    old.record(1).status = "done"
    project.record(old, old.record(1))
    fresh = board(2)  # a --force restart: new created_at
    fresh.created_at = old.created_at.replace(year=old.created_at.year + 1)
    (tmp_path / "storyboard.json").write_text(fresh.model_dump_json())
    assert project.load().record(1).status == "pending"


def test_a_change_costs_the_same_whatever_the_scene_count(tmp_path: Path) -> None:
    sizes = []
    for count in (5, 200):
        folder = tmp_path / str(count)
        folder.mkdir()
        project = Project(folder)
        b = board(count)
        project.save(b)
        b.record(3).status = "done"
        project.record(b, b.record(3))
        sizes.append((folder / JOURNAL).stat().st_size)
    assert sizes[0] == sizes[1]


async def test_durable_lines_share_one_fsync_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import os
    import threading

    project = Project(tmp_path)
    b = board(4)
    project.save(b)
    loop_thread = threading.get_ident()
    synced: list[tuple[int, bool]] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        size = os.fstat(fd).st_size
        synced.append((size, threading.get_ident() != loop_thread))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)

    async def submit(number: int) -> int:
        record = b.record(number)
        record.job = PaidJob(provider="runware", handle=f"h-{number}")
        project.record(b, record)
        await project.flush_journal()
        return (tmp_path / JOURNAL).stat().st_size

    sizes = await asyncio.gather(*(submit(n) for n in (1, 2, 3)))
    # The three lines were written before the one fsync started, which covered all of them.
    assert len(synced) == 1 and synced[0][1], "one fsync, in a worker thread"
    assert synced[0][0] == max(sizes)
    await project.flush_journal()  # nothing new: no fsync
    assert len(synced) == 1
    await submit(4)
    assert len(synced) == 2
    assert project.load().record(3).job is not None


async def test_a_flush_after_a_save_returns_at_once(tmp_path: Path) -> None:
    """A save folds every journal line into the durable manifest: nothing is left to flush."""
    import asyncio

    project = Project(tmp_path)
    b = board(2)
    project.save(b)
    b.record(1).job = PaidJob(provider="runware", handle="h-1")
    project.record(b, b.record(1))
    project.save(b)  # the journal is closed and removed
    async with asyncio.timeout(2):
        await project.flush_journal()
    assert project.load().record(1).job is not None
