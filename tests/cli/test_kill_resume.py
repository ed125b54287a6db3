"""SIGKILL in the middle of a real run, then the same command again: nothing finished is lost."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storyframe.errors import StoryframeError
from storyframe.project import Project

REPO = Path(__file__).resolve().parents[2]
STORY = REPO / "examples" / "stories" / "golden-bird.txt"

# An image provider that draws placeholder cards slowly, so the test can kill the run halfway.
SLOW_PLUGIN = """
import asyncio
import storyframe
from storyframe.builtins.placeholder import PlaceholderImageProvider


class SlowPlaceholder(PlaceholderImageProvider):
    name = "slow-placeholder"

    async def generate(self, request):
        await asyncio.sleep(0.25)
        image = await super().generate(request)
        return image.model_copy(update={"provider": self.name})


@storyframe.hookimpl
def register_image_providers(register):
    register(SlowPlaceholder)
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a CLI subprocess that has the slow plugin installed."""
    site = slow_plugin_site(tmp_path)
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        "STORYFRAME_LOAD_PLUGINS": "storyframe,slow-plugin",
    }


def slow_plugin_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "slow_plugin.py").write_text(SLOW_PLUGIN)
    info = site / "slow_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slow-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[storyframe]\nslow = slow_plugin\n")
    return site


def command(out: Path) -> list[str]:
    return [
        sys.executable, "-m", "storyframe", "run", str(STORY), "-n", "8", "-o", str(out),
        "--image-provider", "slow-placeholder", "--concurrency", "1",
    ]  # fmt: skip


def done_scenes(manifest: Path) -> dict[int, dict]:
    """The done scenes as storyframe sees them: the manifest with its journal replayed."""
    try:
        board = Project(manifest.parent).load().model_dump(mode="json")
    except StoryframeError:
        return {}
    return {s["scene"]["number"]: s for s in board["scenes"] if s["status"] == "done"}


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_finishes_and_keeps_finished_scenes(
    tmp_path: Path, env: dict[str, str]
) -> None:
    out = tmp_path / "project"
    manifest = out / "storyboard.json"
    process = subprocess.Popen(
        command(out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while len(done_scenes(manifest)) < 3:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the run never finished three scenes"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    # The manifest is whole, and every scene it calls done has its image with its checksum.
    before = done_scenes(manifest)
    assert 3 <= len(before) < 8
    kept = {}
    for number, record in before.items():
        data = (out / record["image"]["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["image"]["sha256"]
        kept[number] = (data, record["finished_at"])

    result = subprocess.run(
        [*command(out), "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] and len(summary["done"]) == 8
    assert set(summary["kept"]) >= set(before)
    assert not set(summary["drawn"]) & set(before)
    after = done_scenes(manifest)
    assert len(after) == 8
    for number, (data, finished_at) in kept.items():
        assert (out / after[number]["image"]["path"]).read_bytes() == data
        assert after[number]["finished_at"] == finished_at
    assert all(r["provider"] == "slow-placeholder" for r in after.values())
    # Temporary files a kill may leave behind are swept by the next run.
    assert not list(out.glob("**/.*.tmp"))


@pytest.mark.slow
def test_ctrl_c_saves_finished_scenes_and_says_how_to_continue(
    tmp_path: Path, env: dict[str, str]
) -> None:
    out = tmp_path / "project"
    manifest = out / "storyboard.json"
    process = subprocess.Popen(
        command(out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while len(done_scenes(manifest)) < 2:
        assert process.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 130
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert 2 <= len(done_scenes(manifest)) < 8
    assert (out / "index.html").is_file()
    result = subprocess.run(
        [*command(out), "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["done"]) == 8
