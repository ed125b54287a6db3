"""Exports: PDF pages, CBZ images and ComicInfo.xml, the zip's files, the contact sheet's size."""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner, Result
from PIL import Image
from pypdf import PdfReader

from storyframe.cli import EXIT_PROJECT, EXIT_USAGE, cli
from storyframe.export import sheet
from storyframe.project import Project

GOLDEN_BIRD = Path(__file__).resolve().parents[2] / "examples" / "stories" / "golden-bird.txt"
SCENES = 5


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five scenes drawn by the placeholder; scene 3 then failed, with no image."""
    out = tmp_path_factory.mktemp("export") / "gb"
    assert invoke("run", GOLDEN_BIRD, "-n", SCENES, "-o", out, "-q").exit_code == 0
    folder = Project(out)
    board = folder.load()
    record = board.record(3)
    (out / record.image.path).unlink()  # type: ignore[union-attr]
    record.status, record.image, record.error = "failed", None, "boom"
    board.record(2).scene.title = "Quotes \u201ccurly\u201d \u2014 and \u00e9, \u4e2d"
    folder.save(board)
    return out


def export(project: Path, tmp_path: Path, fmt: str, *extra: str) -> Path:
    out = tmp_path / f"out.{fmt}"
    result = invoke("export", project, "--format", fmt, "--out", out, *extra)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{fmt}: {SCENES} scenes -> {out}"
    return out


@pytest.mark.parametrize(("per_page", "pages"), [(1, SCENES), (4, 2), (6, 1)])
def test_pdf_page_count(project: Path, tmp_path: Path, per_page: int, pages: int) -> None:
    out = export(project, tmp_path, "pdf", "--per-page", str(per_page))
    reader = PdfReader(out)
    assert len(reader.pages) == pages == math.ceil(SCENES / per_page)
    text = reader.pages[0].extract_text()
    assert "Scene 1" in text or "1." in text
    if per_page == 1:
        assert "not drawn: failed" in reader.pages[2].extract_text()
        assert '"curly" - and \u00e9, ?' in reader.pages[1].extract_text()
        assert len(reader.pages[0].images) == 1


def test_cbz_holds_the_images_in_order_and_a_valid_comic_info(
    project: Path, tmp_path: Path
) -> None:
    out = export(project, tmp_path, "cbz")
    board = Project(project).load()
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert names == [f"{n:03d}.jpg" for n in range(1, SCENES + 1)] + ["ComicInfo.xml"]
        sizes = []
        for name in names[:-1]:
            with Image.open(io.BytesIO(archive.read(name))) as image:
                assert image.format == "JPEG"
                assert image.size == (board.settings.width, board.settings.height)
                sizes.append((image.size, archive.getinfo(name).file_size))
        # Scene order: each page looks most like its own scene's image (scene 3 has none).
        sources = {
            n: _small(Image.open(project / "images" / f"scene-{n:02d}.png")) for n in (1, 2, 4, 5)
        }
        for index, number in ((0, 1), (1, 2), (3, 4), (4, 5)):
            page = _small(Image.open(io.BytesIO(archive.read(names[index]))))
            assert min(sources, key=lambda n: _distance(page, sources[n])) == number
        info = ElementTree.fromstring(archive.read("ComicInfo.xml"))
    assert info.tag == "ComicInfo"
    assert info.findtext("Title") == "The Golden Bird"
    assert info.findtext("PageCount") == str(SCENES)
    children = [child.tag for child in info]
    assert children.index("Title") < children.index("PageCount") < children.index("Pages")
    pages = info.findall("Pages/Page")
    assert [p.get("Image") for p in pages] == [str(i) for i in range(SCENES)]
    assert [int(p.get("ImageSize", "0")) for p in pages] == [size for _, size in sizes]
    assert "not drawn" in (pages[2].get("Bookmark") or "")


def _small(image: Image.Image) -> bytes:
    return image.convert("L").resize((160, 90)).tobytes()


def _distance(a: bytes, b: bytes) -> int:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True))


def test_zip_holds_every_project_file(project: Path, tmp_path: Path) -> None:
    out = export(project, tmp_path, "zip")
    expected = {
        f"golden-bird/{p.relative_to(project).as_posix()}"
        for p in project.rglob("*")
        if p.is_file() and p.name != ".storyframe.lock"
    }
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        assert set(archive.namelist()) == expected
        assert "golden-bird/storyboard.json" in expected
        assert archive.read("golden-bird/index.html") == (project / "index.html").read_bytes()


def test_zip_inside_the_project_does_not_hold_itself(project: Path) -> None:
    result = invoke("export", project, "--format", "zip")
    assert result.exit_code == 0, result.stderr
    target = project / "golden-bird.zip"
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
    target.unlink()
    assert "golden-bird/golden-bird.zip" not in names
    assert "golden-bird/storyboard.json" in names


def test_contact_sheet_size(project: Path, tmp_path: Path) -> None:
    out = export(project, tmp_path, "contact-sheet")
    board = Project(project).load()
    tile_h = round(sheet.TILE * board.settings.height / board.settings.width)
    columns, rows = 4, 2  # five scenes, at most four a row
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.size == (
            columns * sheet.TILE + (columns + 1) * sheet.GAP,
            sheet.HEADER + rows * (tile_h + sheet.LABEL + sheet.GAP),
        )


def test_bad_input_is_one_line(project: Path, tmp_path: Path) -> None:
    cases = [
        (["--format", "cbz", "--per-page", "4"], "--per-page is for --format pdf only", EXIT_USAGE),
        (["--per-page", "5"], "--per-page 5 is not offered", EXIT_USAGE),
        (["--out", str(tmp_path / "no" / "x.pdf")], "does not exist", EXIT_USAGE),
    ]
    for args, message, code in cases:
        result = invoke("export", project, *args)
        assert result.exit_code == code
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]
    missing = tmp_path / "nothing-here"
    result = invoke("export", missing)
    assert result.exit_code == EXIT_PROJECT and "does not exist" in result.stderr
    assert not missing.exists()


def test_export_imports_nothing_heavy_at_cli_start() -> None:
    import subprocess
    import sys

    code = "import sys, storyframe.cli; print(any(m.startswith('fpdf') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
