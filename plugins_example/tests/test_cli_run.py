"""``storyframe run`` with only a TOML file pointing at a local OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from fake_openai import answer
from storyframe.plugins import get_host
from storyframe.testing import SAMPLE_STORY, FakeService

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

CONFIG = """\
[text]
providers = ["openai-chat", "heuristic"]

[image]
providers = ["openai-images", "placeholder"]

[providers.openai-chat]
base_url = "{url}/v1"
model = "llama3.2"

[providers.openai-images]
base_url = "{url}/v1"
model = "sd-turbo"
"""


async def storyframe(*args: str, cwd: Path) -> tuple[int, str, str]:
    """Run the installed ``storyframe`` CLI in a subprocess (plugins come from entry points)."""
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "storyframe",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_run_uses_the_local_server_for_scenes_and_images(tmp_path: Path) -> None:
    (tmp_path / "story.txt").write_text(SAMPLE_STORY, encoding="utf-8")
    async with FakeService(answer) as server:
        (tmp_path / "storyframe.toml").write_text(CONFIG.format(url=server.url), encoding="utf-8")
        code, out, err = await storyframe(
            "run", "story.txt", "-n", "3", "--size", "320x192", "-o", "board", "--json",
            cwd=tmp_path,
        )  # fmt: skip
    assert code == 0, err
    board = json.loads((tmp_path / "board" / "storyboard.json").read_text(encoding="utf-8"))
    assert board["text_provider"] == "openai-chat"
    suffix = get_host().styles[board["settings"]["style"]].prompt_suffix
    assert suffix
    assert board["text_usage"]["calls"] == 1
    assert board["text_usage"]["prompt_tokens"] == 900
    assert [s["scene"]["title"] for s in board["scenes"]] == [
        "At the landing",
        "At the river",
        "At the reeds",
    ]
    for record in board["scenes"]:
        assert (record["status"], record["provider"], record["model"]) == (
            "done",
            "openai-images",
            "sd-turbo",
        )
        assert (record["image"]["width"], record["image"]["height"]) == (320, 192)
        assert (tmp_path / "board" / record["image"]["path"]).is_file()
        # The pipeline appends the style's suffix once; the provider's prompts carry none.
        assert record["prompt"].count(suffix) == 1
    paths = [request.path for request in server.requests]
    assert paths.count("/v1/chat/completions") == 1
    assert paths.count("/v1/images/generations") == 3
    assert all("Authorization" not in request.headers for request in server.requests)
    assert json.loads(out)["text_provider"] == "openai-chat"
