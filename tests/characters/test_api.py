"""The Python API of sheets: ``references`` on draw/make_storyboard, and ``characters``."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

import storyframe
from storyframe.errors import InputError
from storyframe.project import Project
from tests.characters.conftest import Service, pipeline

REPO = Path(__file__).resolve().parents[2]


def refs_config(**image: Any) -> dict[str, Any]:
    pipeline()  # registers the test providers with the plugin host the API uses
    return {
        "image": {"providers": ["refs"], "sheets": 3, **image},
        "providers": {"refs": {"deadline": 0.5}},
    }


async def test_adraw_with_references_draws_the_sheets_then_the_scenes_with_them(
    project: Project, service: Service
) -> None:
    board = await storyframe.adraw(project.folder, references=True, config=refs_config())
    assert [s.name for s in board.sheets] == ["Mara", "Tobin", "Old Wen"]
    assert all(s.status == "done" and s.uploads == {"refs": f"up-{s.name}"} for s in board.sheets)
    assert len(service.requests("sheet")) == 3 and len(service.uploads()) == 3
    assert board.record(5).references == ["Mara", "Tobin"]
    assert [e[3] for e in service.requests("scene")][1] == [
        ("Mara", "up-Mara"),
        ("Tobin", "up-Tobin"),
    ]


async def test_references_false_overrides_the_config(project: Project, service: Service) -> None:
    config = refs_config(references=True)
    board = await storyframe.adraw(project.folder, references=False, config=config)
    assert board.sheets == [] and service.requests("sheet") == []
    assert all(e[3] == [] for e in service.requests("scene"))


async def test_adraw_characters_draws_the_missing_sheets_one_by_name_and_reseeds(
    project: Project, service: Service
) -> None:
    config = refs_config()
    board = await storyframe.adraw_characters(project.folder, character="the fox", config=config)
    assert [(s.name, s.status) for s in board.sheets] == [("Mara", "done")]
    seed = board.sheets[0].seed
    board = await storyframe.adraw_characters(project.folder, config=config)
    assert [s.name for s in board.sheets] == ["Mara", "Tobin", "Old Wen"]
    assert len(service.requests("sheet")) == 3, "Mara's sheet is kept"
    board = await storyframe.adraw_characters(
        project.folder, character="Mara", reseed=True, config=config
    )
    assert board.sheets[0].seed != seed and len(service.requests("sheet")) == 4
    assert project.load().sheets[0].seed == board.sheets[0].seed


async def test_adraw_characters_records_a_fallback(project: Project, service: Service) -> None:
    board = await storyframe.adraw_characters(
        project.folder, image_providers=["broken", "refs"], config=refs_config()
    )
    assert all(s.fallback is not None and s.fallback.after == "broken" for s in board.sheets)


async def test_adraw_characters_refuses_bad_input_with_a_hint(
    project: Project, service: Service
) -> None:
    with pytest.raises(InputError, match=r"no character 'Nobody'.*Mara, Tobin") as caught:
        await storyframe.adraw_characters(project.folder, character="Nobody", config=refs_config())
    assert caught.value.hint
    with pytest.raises(InputError, match="reseed redraws one sheet"):
        await storyframe.adraw_characters(project.folder, reseed=True, config=refs_config())
    assert service.log == []


def test_draw_characters_inside_a_running_loop_points_to_its_coroutine(project: Project) -> None:
    import asyncio

    async def inside() -> None:
        with pytest.raises(storyframe.StoryframeError, match="draw_characters") as caught:
            storyframe.draw_characters(project.folder)
        assert "await storyframe.adraw_characters(" in (caught.value.hint or "")

    asyncio.run(inside())


def test_the_docs_characters_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (REPO / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    (code,) = [b for b in blocks if "storyframe.draw_characters(" in b]
    shutil.copytree(REPO / "examples" / "stories", tmp_path / "examples" / "stories")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/api.md", "exec"), {})
    board = Project(tmp_path / "out" / "bird").load()
    assert board.sheets and all(s.status == "done" for s in board.sheets)
    assert all((tmp_path / "out" / "bird" / s.image.path).is_file() for s in board.sheets)
