"""Takes and variants against the Runware look-alike: each take is paid work, bought once.

- a reseed sends exactly one new paid request, with the new seed;
- ``--variants K`` under ``--max-cost`` counts K requests per scene, stops cleanly, and a
  re-run finishes without paying twice;
- a take killed (SIGKILL) while Runware works on it is recovered by the next ``images`` run,
  not bought again and not redrawn with another seed;
- so are candidates (``--variants K``) killed in flight: same handles and seeds, nothing sent
  or paid again, the chosen image unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from storyframe.cli import EXIT_BUDGET, EXIT_OK, cli
from storyframe.project import Project
from tests.runware.emulator import Emulator, serve_in_thread

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])

REPO = Path(__file__).resolve().parents[2]
STORY = REPO / "examples" / "stories" / "golden-bird.txt"
KEY = "rw-takes-test-key-9f8e7d6c5b4a"
FAST = (
    "max_attempts = 2\nbackoff_base = 0.01\nbackoff_max = 0.02\nretry_after_cap = 0.05\n"
    'allowed_download_hosts = ["127.0.0.1"]\npoll_interval = 0.02\npoll_max_interval = 0.05\n'
)


@dataclass
class Service:
    rw: Emulator
    config: Path

    def tasks(self) -> list[dict[str, Any]]:
        """Every imageInference task sent, in order."""
        return [
            task
            for body in self.rw.inference_bodies()
            for task in body
            if task.get("taskType") == "imageInference"
        ]


def service(tmp_path: Path, url: str, delivery: str) -> Path:
    config = tmp_path / f"storyframe-{delivery}.toml"
    config.write_text(
        '[text]\nproviders = ["heuristic"]\n[image]\nproviders = ["runware"]\n'
        f'[providers.runware]\nbase_url = "{url}"\n{FAST}delivery = "{delivery}"\n'
        "poll_timeout = 30\n"
    )
    return config


@pytest.fixture
def runware(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    monkeypatch.setenv("RUNWARE_API_KEY", KEY)
    rw = Emulator(api_key=KEY, image_scale=16)
    with serve_in_thread(rw) as url:
        yield Service(rw, service(tmp_path, url, "sync"))


def invoke(config: Path, *args: str | Path) -> Result:
    argv = ["--config", str(config), *(str(a) for a in args)]
    return CliRunner().invoke(cli, argv, catch_exceptions=False)


def manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "storyboard.json").read_text())


def plan_scenes(config: Path, out: Path, count: int) -> None:
    result = invoke(config, "scenes", STORY, "-n", str(count), "-o", out, "-q")
    assert result.exit_code == EXIT_OK, result.stderr


def test_a_reseed_sends_one_paid_request_with_the_new_seed(
    tmp_path: Path, runware: Service
) -> None:
    out = tmp_path / "project"
    plan_scenes(runware.config, out, 2)
    assert invoke(runware.config, "images", out, "-q").exit_code == EXIT_OK
    before = manifest(out)["scenes"][1]
    old_file = out / before["image"]["path"]
    old_bytes = old_file.read_bytes()
    sent, paid = len(runware.tasks()), runware.rw.images_paid

    result = invoke(runware.config, "images", out, "--scene", "2", "--reseed", "--json")
    assert result.exit_code == EXIT_OK, result.stderr
    new_tasks = runware.tasks()[sent:]
    assert len(new_tasks) == 1 and runware.rw.images_paid == paid + 1
    record = manifest(out)["scenes"][1]
    assert new_tasks[0]["seed"] == record["seed"] != before["seed"]
    assert new_tasks[0]["positivePrompt"] == before["prompt"]
    assert [v["seed"] for v in record["variants"]] == [before["seed"], record["seed"]]
    assert record["variants"][1]["cost"] == pytest.approx(runware.rw.cost)
    assert record["variants"][1]["provider"] == "runware"
    assert old_file.read_bytes() == old_bytes
    digest = hashlib.sha256((out / record["image"]["path"]).read_bytes()).hexdigest()
    assert digest == record["image"]["sha256"] != before["image"]["sha256"]
    # the project's image cost counts both takes
    assert manifest(out)["stage_costs"]["images"]["cost"] == pytest.approx(3 * runware.rw.cost)
    assert manifest(out)["stage_costs"]["images"]["requests"] == 3


def test_variants_under_a_budget_stop_cleanly_and_finish_without_paying_twice(
    tmp_path: Path, runware: Service
) -> None:
    out = tmp_path / "project"
    plan_scenes(runware.config, out, 2)
    plan = invoke(runware.config, "images", out, "--variants", "3", "--dry-run", "--json")
    assert plan.exit_code == EXIT_OK, plan.stderr
    data = json.loads(plan.stdout)
    assert data["stages"][0]["items"] == 6, "K requests per scene"
    assert runware.tasks() == []
    high = data["cost_high"] / 6  # the most one image may cost

    budget = 4.5 * high  # room for two rounds of two, not for a third
    first = invoke(runware.config, "images", out, "--variants", "3", "--max-cost", f"{budget}")
    assert first.exit_code == EXIT_BUDGET, first.stderr
    assert "Budget reached" in first.stderr
    board = manifest(out)
    counts = [len(r["variants"]) for r in board["scenes"]]
    assert 4 <= sum(counts) < 6 and min(counts) >= 2
    spent = sum(v["cost"] for r in board["scenes"] for v in r["variants"])
    assert spent <= budget
    assert all(r["status"] == "done" for r in board["scenes"]), "a held candidate is no failure"
    assert all(r["image"] == r["variants"][0]["image"] for r in board["scenes"])

    second = invoke(runware.config, "images", out, "--variants", "3", "--json")
    assert second.exit_code == EXIT_OK, second.stderr
    board = manifest(out)
    assert [len(r["variants"]) for r in board["scenes"]] == [3, 3]
    assert len(runware.tasks()) == 6 and runware.rw.images_paid == 6, "each image paid once"
    for record in board["scenes"]:
        assert len({v["seed"] for v in record["variants"]}) == 3


def job_in_flight(out: Path, number: int = 2) -> dict[str, Any] | None:
    """A scene's paid work in flight as the project sees it (journal replayed), if any."""
    try:
        record = Project(out).load().record(number)
    except Exception:
        return None
    return record.job.model_dump() if record.job is not None else None


@pytest.mark.slow
def test_a_take_killed_in_flight_is_recovered_not_bought_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNWARE_API_KEY", KEY)
    rw = Emulator(api_key=KEY, image_scale=16)
    env = dict(os.environ)
    with serve_in_thread(rw) as url:
        config = service(tmp_path, url, "async")
        out = tmp_path / "project"
        plan_scenes(config, out, 2)
        assert invoke(config, "images", out, "-q").exit_code == EXIT_OK
        first = manifest(out)["scenes"][1]
        rw.processing_polls = 10**6  # Runware keeps working on the take until told
        command = [
            sys.executable, "-m", "storyframe", "--config", str(config),
            "images", str(out), "--scene", "2", "--reseed",
        ]  # fmt: skip
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        job = None
        while job is None or not rw.polls.get(job["handle"]):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the take never reached Runware"
            time.sleep(0.02)
            job = job_in_flight(out)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        handle = job["handle"]
        (task,) = [t for b in rw.inference_bodies() for t in b if t["taskUUID"] == handle]
        assert job["seed"] == task["seed"] != first["seed"]
        rw.processing_polls = 0
        rw.finish(handle)
        sent = sum(len(b) for b in rw.inference_bodies())

        result = invoke(config, "images", out, "--json")
        assert result.exit_code == EXIT_OK, result.stderr
    summary = json.loads(result.stdout)
    assert summary["recovered"] == [2] and summary["drawn"] == [2]
    assert sum(len(b) for b in rw.inference_bodies()) == sent, "nothing submitted again"
    assert rw.submissions[handle] == 1 and rw.images_paid == 3
    record = manifest(out)["scenes"][1]
    assert record["job"] is None and record["status"] == "done"
    assert [v["seed"] for v in record["variants"]] == [first["seed"], task["seed"]]
    assert record["image"] == record["variants"][1]["image"]
    assert record["task_id"] == handle
    assert (out / first["image"]["path"]).is_file()


@pytest.mark.slow
def test_candidates_killed_in_flight_are_recovered_not_bought_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNWARE_API_KEY", KEY)
    rw = Emulator(api_key=KEY, image_scale=16)
    env = dict(os.environ)
    with serve_in_thread(rw) as url:
        config = service(tmp_path, url, "async")
        out = tmp_path / "project"
        plan_scenes(config, out, 2)
        assert invoke(config, "images", out, "-q").exit_code == EXIT_OK
        before = manifest(out)["scenes"]
        rw.processing_polls = 10**6  # Runware keeps working on the candidates until told
        command = [
            sys.executable, "-m", "storyframe", "--config", str(config),
            "images", str(out), "--variants", "2",
        ]  # fmt: skip
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        jobs: dict[int, dict[str, Any] | None] = {1: None, 2: None}
        while not all(job is not None and rw.polls.get(job["handle"]) for job in jobs.values()):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the candidates never reached Runware"
            time.sleep(0.02)
            jobs = {number: job_in_flight(out, number) for number in jobs}
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        sent_tasks = {t["taskUUID"]: t for b in rw.inference_bodies() for t in b}
        handles = {number: job["handle"] for number, job in jobs.items() if job is not None}
        killed = manifest(out)["scenes"]
        for number, handle in handles.items():
            job, first, record = jobs[number], before[number - 1], killed[number - 1]
            assert job is not None and job["seed"] == sent_tasks[handle]["seed"] != first["seed"]
            assert record["status"] == "done" and record["image"] == first["image"], (
                "a candidate in flight leaves the chosen image alone"
            )
        assert rw.images_paid == 4
        rw.processing_polls = 0
        for handle in handles.values():
            rw.finish(handle)
        sent = sum(len(b) for b in rw.inference_bodies())

        result = invoke(config, "images", out, "--variants", "2", "--json")
        assert result.exit_code == EXIT_OK, result.stderr
    summary = json.loads(result.stdout)
    assert sorted(summary["recovered"]) == [1, 2]
    assert sum(len(b) for b in rw.inference_bodies()) == sent, "nothing submitted again"
    assert all(rw.submissions[handle] == 1 for handle in handles.values())
    assert rw.images_paid == 4 and max(rw.paid_per_prompt().values()) == 2
    for number, handle in handles.items():
        record, first = manifest(out)["scenes"][number - 1], before[number - 1]
        assert record["job"] is None and record["status"] == "done"
        seeds = [v["seed"] for v in record["variants"]]
        assert seeds == [first["seed"], sent_tasks[handle]["seed"]]
        assert record["image"] == first["image"], "the first image stays chosen"
        assert (out / record["variants"][1]["image"]["path"]).is_file()
