"""The storyboard page in a real browser at desktop and phone widths (scripts/check_html.py)."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from PIL import Image

from storyframe.models import Character
from storyframe.render import write_html

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_html.py"
HAS_CHROMIUM = any(shutil.which(name) for name in ("chromium", "chromium-browser"))

pytestmark = [pytest.mark.chromium]


def require_chromium(found: bool) -> None:
    """Skip without Chromium locally; on CI (env CI set) a missing Chromium is a failure."""
    if found:
        return
    if os.environ.get("CI"):
        pytest.fail("no chromium or chromium-browser on PATH, and CI is set: install chromium")
    pytest.skip("no chromium or chromium-browser on PATH")


@pytest.fixture(autouse=True)
def _needs_chromium(request: pytest.FixtureRequest) -> None:
    if "no_browser_needed" not in request.keywords:
        require_chromium(HAS_CHROMIUM)


@pytest.mark.no_browser_needed
def test_missing_chromium_fails_on_ci_and_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require_chromium(False)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require_chromium(False)
    require_chromium(True)  # found: nothing happens


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_html", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_screenshots(tmp_path: Path, sample: SimpleNamespace) -> None:
    root = tmp_path / "project"
    board = sample.build_project(root, size=640)
    write_html(board, root)
    out = tmp_path / "shots"

    assert load_script().main([str(root), "--out", str(out)]) == 0

    for name, width, height in (("desktop", 1280, 900), ("phone", 390, 844)):
        data = (out / f"screenshot-{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        with Image.open(io.BytesIO(data)) as shot:
            assert shot.size == (width, height)
            # Not a blank page: the masthead and cards put many colours on screen.
            colours = shot.convert("RGB").getcolors(maxcolors=1 << 16)
            assert colours is None or len(colours) > 50


def test_layout_on_phone_and_desktop(
    tmp_path: Path, sample: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    """Eight character cards and two notes (a real run's header) must not push scene 1 off the
    phone's first screen; no sideways scrolling; the panel grid packs more columns."""
    root = tmp_path / "project"
    board = sample.build_project(root, size=640)
    assert board.analysis is not None
    for name in ("the king", "the princess", "the fox", "the horse", "the gardener", "the son"):
        look = f"{name}, described at some length so that the card wraps onto two lines"
        board.analysis.characters.append(Character(name=name, look=look))
    board.notes.append("openrouter: skipped, no API key (set OPENROUTER_API_KEY or api_key_file)")
    board.record(2).scene.shot, board.record(2).scene.camera = "wide", "low angle"
    write_html(board, root)
    script = load_script()

    assert script.main([str(root), "--probe"]) == 0
    measured = json.loads(capsys.readouterr().out)
    phone, desktop = measured["phone"], measured["desktop"]

    assert phone["viewport"] == [390, 844] and desktop["viewport"] == [1280, 900]
    assert 0 < phone["first_scene_top"] < 844, phone
    assert phone["scroll_width"] <= 390 and desktop["scroll_width"] <= 1280
    assert (phone["columns"], desktop["columns"]) == (1, 3)
    assert phone["compact_columns"] == 2 and desktop["compact_columns"] >= 5
    assert script.layout_problems("phone", 390, 844, phone) == []


@pytest.mark.no_browser_needed
def test_probe_reports_a_scene_below_the_first_screen() -> None:
    problems = load_script().layout_problems(
        "phone", 390, 844, {"first_scene_top": 1460, "scroll_width": 420}
    )
    assert problems == [
        "phone: the page is 420 px wide in a 390 px window",
        "phone: the first scene starts at 1460 px, below the first screen",
    ]


def test_missing_page_is_an_error(tmp_path: Path) -> None:
    assert load_script().main([str(tmp_path)]) == 2


def test_variants_show_as_thumbnails_with_the_chosen_one_large(
    tmp_path: Path, sample: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    from storyframe.models import Variant

    root = tmp_path / "project"
    board = sample.build_project(root, size=640)
    record = board.record(2)
    assert record.image is not None
    other = root / "images" / "scene-02-v2.png"
    other.write_bytes((root / record.image.path).read_bytes())
    second = record.image.model_copy(update={"path": "images/scene-02-v2.png"})
    record.variants = [Variant(image=record.image, seed=1), Variant(image=second, seed=2)]
    record.image = second  # the second take is chosen
    write_html(board, root)

    assert load_script().main([str(root), "--probe"]) == 0
    measured = json.loads(capsys.readouterr().out)
    for name in ("phone", "desktop"):
        takes = measured[name]["takes"]
        assert takes["thumbs"] == 2, (name, takes)
        assert takes["main_src"] == takes["chosen_src"] == "images/scene-02-v2.png"
        assert 0 < takes["thumb_width"] * 3 < takes["main_width"], (name, takes)
        assert takes["compact_height"] == 0, "the panel grid shows no thumbnails"
