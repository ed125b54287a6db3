"""The page shows the cast's sheets, and which sheets each scene was drawn with."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from storyframe.project import Project
from storyframe.render import render_html
from tests.characters.conftest import Service, pipeline

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_html.py"


async def test_the_page_shows_the_sheets_and_each_scenes_references(
    project: Project, service: Service
) -> None:
    await pipeline().draw(project, project.load(), references=True)
    board = project.load()
    html = render_html(board, project.folder)
    assert "Character sheets (3)" in html
    for sheet in board.sheets:
        assert f'src="{sheet.image.path}"' in html
        assert f'alt="Reference sheet of {sheet.name}"' in html
    assert "fox, colours rust red" in html  # Mara's look fields
    # Scene 5 shows Old Wen, Tobin and Mara; it was drawn with the first two sheets.
    scene5 = html.split('id="scene-05"')[1].split("</article>")[0]
    assert 'Drawn with the sheets of <a href="#character-mara">Mara</a>, ' in scene5
    assert '<a href="#character-tobin">Tobin</a>' in scene5 and "Old Wen</a>" not in scene5
    assert 'id="character-mara"' in html
    scene4 = html.split('id="scene-04"')[1].split("</article>")[0]
    assert "Drawn with the sheets" not in scene4


@pytest.mark.chromium
async def test_on_a_phone_the_scenes_come_before_the_sheets(
    project: Project, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    if not any(shutil.which(n) for n in ("chromium", "chromium-browser")):
        pytest.skip("no chromium or chromium-browser on PATH")
    await pipeline().draw(project, project.load(), references=True)
    spec = importlib.util.spec_from_file_location("check_html", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    capsys.readouterr()
    assert script.main([str(project.folder), "--probe"]) == 0
    measured = json.loads(capsys.readouterr().out)
    phone, desktop = measured["phone"], measured["desktop"]
    assert 0 < phone["first_scene_top"] < 844, phone
    assert phone["scroll_width"] <= 390 and desktop["scroll_width"] <= 1280
