"""SIGKILL while Runware draws a scene with references, or a sheet: the next run recovers the
paid work under the same taskUUID, with the same references, and records them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storyframe.cli import EXIT_OK
from storyframe.models import PaidJob
from storyframe.project import Project
from tests.characters.lookalike import KEY, TALE, inferences, invoke, write_config
from tests.runware.emulator import Emulator, serve_in_thread

pytestmark = [pytest.mark.block_network(allowed_hosts=["127.0.0.1"]), pytest.mark.slow]


@pytest.fixture
def runware(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setenv("RUNWARE_API_KEY", KEY)
    rw = Emulator(api_key=KEY, image_scale=16)
    with serve_in_thread(rw):
        yield rw


def kill_when(config: Path, args: list[str], ready: Callable[[], bool]) -> None:
    """Run ``storyframe ARGS`` in a subprocess and SIGKILL it once ``ready()``."""
    command = [sys.executable, "-m", "storyframe", "--config", str(config), *args]
    process = subprocess.Popen(
        command, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while not ready():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the paid work never reached Runware"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


def journaled(out: Path) -> tuple[dict[int, PaidJob], dict[str, PaidJob]]:
    """The paid work in flight as the project sees it (journal replayed): scenes, sheets."""
    try:
        board = Project(out).load()
    except Exception:
        return {}, {}
    scenes = {r.scene.number: r.job for r in board.scenes if r.job is not None}
    return scenes, {s.name: s.job for s in board.sheets if s.job is not None}


@pytest.mark.parametrize("case", ["finished", "lost", "downloading"])
def test_a_scene_killed_in_flight_is_recovered_with_the_references_it_was_sent_with(
    tmp_path: Path, runware: Emulator, case: str
) -> None:
    on = write_config(tmp_path / "on", runware, references=True)
    out = tmp_path / "lantern"
    assert invoke(on, "run", TALE, "-n", "8", "-o", out, "-q").exit_code == EXIT_OK
    board = Project(out).load()
    ids = {s.name: s.uploads["runware"] for s in board.sheets}
    assert board.record(5).references == ["Mara", "Tobin"]  # all three shown, Kontext takes 2

    if case == "downloading":
        runware.image_latency = 60  # the result is journaled, its download never ends
    else:
        runware.processing_polls = 10**6  # Runware works on the redraw until told
    sent = len(runware.bodies)

    def polled() -> bool:
        job = journaled(out)[0].get(5)
        if case == "downloading":
            return job is not None and job.state == "finished"
        return job is not None and runware.polls[job.handle] > 0

    kill_when(on, ["images", str(out), "--scene", "5"], polled)
    job = journaled(out)[0][5]
    assert job.references == ["Mara", "Tobin"], "the references are journaled with the job"
    (first,) = [t for t in inferences(runware, sent) if t["taskUUID"] == job.handle]
    assert first["referenceImages"] == [ids["Mara"], ids["Tobin"]]
    runware.processing_polls, runware.image_latency = 0, 0.0
    if case == "finished":
        runware.finish(job.handle)
    elif case == "lost":
        runware.lose(job.handle)  # the request never reached Runware after all
    paid = runware.images_paid

    # The next run has references off: the recovery still sends and records the same sheets.
    off = write_config(tmp_path / "off", runware, references=False)
    result = invoke(off, "images", out, "--json")
    assert result.exit_code == EXIT_OK, result.stderr
    summary = json.loads(result.stdout)
    assert summary["recovered"] == [5] and summary["drawn"] == [5]
    again = [t for t in inferences(runware, sent) if t is not first]
    if case != "lost":
        assert again == [], "nothing is sent again"
        assert runware.images_paid == paid
    else:
        (resent,) = again
        assert resent["taskUUID"] == job.handle, "resent under the same taskUUID"
        assert resent["referenceImages"] == first["referenceImages"]
        assert resent["seed"] == first["seed"]
        assert runware.submissions[job.handle] == 2 and runware.images_paid == paid + 1
    record = Project(out).load().record(5)
    assert record.status == "done" and record.job is None and record.task_id == job.handle
    assert record.references == ["Mara", "Tobin"]
    assert len(runware.upload_tasks()) == 3, "no sheet uploaded again"


def test_sheets_killed_in_flight_are_recovered_not_bought_again(
    tmp_path: Path, runware: Emulator
) -> None:
    config = write_config(tmp_path, runware, references=True)
    out = tmp_path / "lantern"
    assert invoke(config, "scenes", TALE, "-n", "8", "-o", out, "-q").exit_code == EXIT_OK
    runware.processing_polls = 10**6

    def polled() -> bool:
        jobs = journaled(out)[1]
        return len(jobs) == 3 and all(runware.polls[j.handle] > 0 for j in jobs.values())

    kill_when(config, ["characters", str(out)], polled)
    jobs = journaled(out)[1]
    assert list(jobs) == ["Mara", "Tobin", "Old Wen"]
    assert all(s.image is None for s in Project(out).load().sheets)
    runware.processing_polls = 0
    runware.finish(jobs["Mara"].handle)
    runware.finish(jobs["Old Wen"].handle)
    runware.lose(jobs["Tobin"].handle)
    sent = len(inferences(runware))

    result = invoke(config, "characters", out, "--json")
    assert result.exit_code == EXIT_OK, result.stderr
    summary = json.loads(result.stdout)
    assert summary["recovered"] == ["Mara", "Tobin", "Old Wen"]
    resent = inferences(runware)[sent:]
    assert [t["taskUUID"] for t in resent] == [jobs["Tobin"].handle], "only the lost one"
    assert runware.images_paid == 3, "each sheet paid once"
    board = Project(out).load()
    for sheet in board.sheets:
        assert sheet.status == "done" and sheet.job is None
        assert sheet.task_id == jobs[sheet.name].handle
        assert Project(out).image_intact(sheet.image)
    assert summary["spent"] == 0

    # Scenes then go with the recovered sheets, uploaded once each.
    result = invoke(config, "images", out, "-q")
    assert result.exit_code == EXIT_OK, result.stderr
    assert len(runware.upload_tasks()) == 3 and runware.images_paid == 11
