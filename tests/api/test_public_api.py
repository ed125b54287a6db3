"""The public Python API: one cheap import, the example in docs/api.md, sync and async twins."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import storyframe
from storyframe.errors import InputError, StoryframeError

REPO = Path(__file__).resolve().parents[2]
GOLDEN_BIRD = REPO / "examples" / "stories" / "golden-bird.txt"
OFFLINE = {"text": {"providers": ["heuristic"]}, "image": {"providers": ["placeholder"]}}
STORY = "A fox found a bell in the snow.\nIt rang, and the whole forest woke up.\nThen it slept."


def test_import_is_cheap_and_the_api_loads_on_first_use() -> None:
    code = (
        "import sys, storyframe\n"
        "heavy = ('pydantic', 'aiohttp', 'jinja2', 'PIL', 'storyframe.api', 'storyframe.config')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "storyframe.make_storyboard\n"
        "print('storyframe.api' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert result.stdout.split("\n")[:2] == ["[]", "True"]


def test_every_name_in_all_resolves_and_unknown_names_fail() -> None:
    for name in storyframe.__all__:
        assert getattr(storyframe, name) is not None
    assert set(storyframe.__all__) <= set(dir(storyframe))
    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        storyframe.nosuch  # noqa: B018


def test_the_reference_table_lists_the_public_functions() -> None:
    text = (REPO / "docs" / "api.md").read_text()
    listed = set(re.findall(r"^\| `(\w+)\(", text, re.M))
    functions = {n for n in storyframe.__all__ if n[0].islower() and not n.startswith("_")}
    twins = {n for n in functions if n.startswith("a") and n[1:] in functions}
    assert listed == functions - twins - {"hookimpl"}


def test_the_docs_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (REPO / "docs" / "api.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None
    shutil.copytree(REPO / "examples" / "stories", tmp_path / "examples" / "stories")
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), "docs/api.md", "exec"), {})
    board = json.loads((tmp_path / "out" / "golden-bird" / "storyboard.json").read_text())
    assert board["settings"]["style"] == "watercolor"
    assert [s["status"] for s in board["scenes"]] == ["done"] * 4
    fox = json.loads((tmp_path / "out" / "fox" / "storyboard.json").read_text())
    assert [s["status"] for s in fox["scenes"]] == ["pending", "done"]
    assert (tmp_path / "out" / "fox" / "index.html").is_file()


def test_make_storyboard_from_a_path_string_and_a_toml_config(tmp_path: Path) -> None:
    config = tmp_path / "offline.toml"
    config.write_text('[text]\nproviders = ["heuristic"]\n[image]\nproviders = ["placeholder"]\n')
    board = storyframe.make_storyboard(str(GOLDEN_BIRD), tmp_path / "out", scenes=2, config=config)
    assert isinstance(board, storyframe.Storyboard)
    assert board.story.path == str(GOLDEN_BIRD)
    assert [r.status for r in board.scenes] == ["done", "done"]
    assert {r.provider for r in board.scenes} == {"placeholder"}
    again = storyframe.make_storyboard(GOLDEN_BIRD, tmp_path / "out", scenes=2, config=config)
    assert [r.image for r in again.scenes] == [r.image for r in board.scenes]


def test_text_stories_and_config_objects(tmp_path: Path) -> None:
    config = storyframe.load_config(OFFLINE)
    assert isinstance(config, storyframe.Config)
    board = storyframe.make_storyboard(STORY, tmp_path / "fox", scenes=2, config=config)
    assert board.story.path == "story.txt"
    assert board.settings.style == "cinematic"
    assert len(board.scenes) == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scenes": 0}, "scenes"),
        ({"size": (10, 10)}, "size"),
        ({"style": "nosuch"}, "unknown style 'nosuch'"),
    ],
)
def test_bad_options_raise_storyframe_errors(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(StoryframeError, match=message) as caught:
        storyframe.plan_scenes(STORY, tmp_path / "p", config=OFFLINE, **options)  # type: ignore[arg-type]
    assert caught.value.hint
    assert not (tmp_path / "p").exists()


def test_an_empty_story_text_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="the story is empty"):
        storyframe.plan_scenes("  \n", tmp_path / "p", config=OFFLINE)


async def test_sync_call_inside_a_running_loop_points_to_the_async_twin(tmp_path: Path) -> None:
    with pytest.raises(StoryframeError, match="inside a running event loop") as caught:
        storyframe.make_storyboard(STORY, tmp_path / "p", config=OFFLINE)
    assert "await storyframe.amake_storyboard(...)" in caught.value.one_line()
    board = await storyframe.aplan_scenes(STORY, tmp_path / "p", scenes=2, config=OFFLINE)
    assert [r.status for r in board.scenes] == ["pending", "pending"]
    drawn = await storyframe.adraw(tmp_path / "p", config=OFFLINE)
    assert [r.status for r in drawn.scenes] == ["done", "done"]
    assert asyncio.get_running_loop().is_running()
