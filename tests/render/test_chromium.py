"""The storyboard page in a real browser at desktop and phone widths (scripts/check_html.py)."""

from __future__ import annotations

import importlib.util
import io
import shutil
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from PIL import Image

from storyframe.render import write_html

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_html.py"
HAS_CHROMIUM = any(shutil.which(name) for name in ("chromium", "chromium-browser"))

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(not HAS_CHROMIUM, reason="no chromium or chromium-browser on PATH"),
]


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


def test_missing_page_is_an_error(tmp_path: Path) -> None:
    assert load_script().main([str(tmp_path)]) == 2
