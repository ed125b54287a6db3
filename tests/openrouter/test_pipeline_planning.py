"""The pipeline with the OpenRouter planner: auto counts, text calls in the manifest, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from storyframe.cli import EXIT_USAGE, cli
from storyframe.config import parse_config
from storyframe.models import RunSettings
from storyframe.pipeline import CACHE, Pipeline
from storyframe.project import Project
from storyframe.story import read_story
from tests.conftest import STORIES
from tests.openrouter.conftest import FAST
from tests.openrouter.emulator import OpenRouterEmulator

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])

TALE = STORIES / "18-the-valiant-little-tailor.txt"


def settings(scenes: int | str) -> RunSettings:
    return RunSettings(
        scenes=scenes,
        style="cinematic",
        seed=1,
        width=64,
        height=64,
        text_providers=["openrouter", "heuristic"],
        image_providers=["placeholder"],
    )


async def test_auto_scenes_one_call_and_text_calls_in_the_manifest(
    emulator: OpenRouterEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", emulator.api_key)
    config = parse_config(
        {
            "run": {"scenes": "auto", "auto_min": 5, "auto_max": 7},
            "providers": {"openrouter": {"base_url": emulator.base_url, **FAST}},
        }
    )
    story = read_story(TALE)
    project = Project(tmp_path / "board")
    board = await Pipeline(config).write_scenes(story, project, settings("auto"))
    assert board.text_provider == "openrouter" and 5 <= len(board.scenes) <= 7
    assert [c.purpose for c in board.text_calls] == ["analysis and scenes"]
    call = board.text_calls[0]
    assert call.cost > 0 and call.cost == board.text_usage.cost
    assert call.prompt_tokens == board.text_usage.prompt_tokens
    saved = json.loads(project.manifest_path.read_text())
    assert saved["settings"]["scenes"] == "auto" and len(saved["text_calls"]) == 1
    assert all(r["scene"]["source_start"] is not None for r in saved["scenes"])
    # a resume with "auto" again keeps the project and asks nothing
    again = await Pipeline(config).write_scenes(story, project, settings("auto"))
    assert len(again.scenes) == len(board.scenes) and len(emulator.chat_requests) == 1


async def test_the_pipeline_hands_the_provider_a_cache_folder(
    emulator: OpenRouterEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", emulator.api_key)
    config = parse_config(
        {"providers": {"openrouter": {"base_url": emulator.base_url, "chunk_tokens": 1000}}}
    )
    config.providers["openrouter"].update({"context_length": 4000, "max_output_tokens": 2000})
    project = Project(tmp_path / "board")
    board = await Pipeline(config).write_scenes(read_story(TALE), project, settings(4))
    assert any(c.purpose.startswith("beats") for c in board.text_calls)
    cached = list((project.folder / CACHE / "openrouter").glob("beats-*.json"))
    assert len(cached) == sum(c.purpose.startswith("beats") for c in board.text_calls)


def test_cli_accepts_auto_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "board"
    args = ["scenes", str(TALE), "-n", "auto", "--text-provider", "heuristic", "-o", str(out)]
    first = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    manifest = json.loads((out / "storyboard.json").read_text())
    assert manifest["settings"]["scenes"] == "auto" and 4 <= len(manifest["scenes"]) <= 24
    again = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert again.exit_code == 0 and "resuming" in again.output + again.stderr


def test_cli_rejects_a_bad_count_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["scenes", str(TALE), "-n", "many"])
    assert result.exit_code == EXIT_USAGE
    assert "'many' is not a number of scenes from 1 to 200, nor 'auto'" in result.output
    assert "Traceback" not in result.output
