"""The HTML storyboard: escaping, order, relative images, states, atomic writes, no externals."""

from __future__ import annotations

import html
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from markupsafe import escape

from storyframe import project as project_module
from storyframe.models import ImageFile, SceneRecord, Storyboard
from storyframe.render import render_html, write_html

Project = tuple[Storyboard, Path]


class Page(HTMLParser):
    """Collects what the tests look at: tags with attributes, and script elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    return parser


def test_escapes_untrusted_text(project: Project, sample: SimpleNamespace) -> None:
    board, root = project
    evil, failed_error = sample.EVIL, sample.FAILED_ERROR
    board.notes.append(f"note {evil}")
    assert board.analysis is not None
    board.analysis.characters[0].look = f"look {evil}"
    page = render_html(board, root)
    assert "<script" not in page
    assert "<img src=x" not in page
    assert "<b>bold</b>" not in page and "<b>not bold</b>" not in page
    assert html.escape(evil) in page  # title, prompt, note, look: shown, escaped
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4
    assert html.escape(failed_error) in page
    parsed = parse(page)
    assert not parsed.all("script")
    assert all(not key.startswith("on") for _, attrs in parsed.tags for key in attrs)
    # Parsed back, the page shows the evil title as text, not markup.
    assert evil in "".join(parsed.text)


def test_scenes_in_order(project: Project, sample: SimpleNamespace) -> None:
    board, root = project
    board.scenes.reverse()  # the manifest's order must not matter
    page = render_html(board, root)
    anchors = re.findall(r'<article class="scene[^"]*" id="scene-(\d+)"', page)
    assert anchors == ["01", "02", "03", "04", "05"]
    positions = [page.index(str(escape(title))) for title, *_ in sample.SCENES]
    assert positions == sorted(positions)


def test_images_are_relative_with_size_and_alt(project: Project) -> None:
    board, root = project
    images = parse(render_html(board, root)).all("img")
    assert [img["src"] for img in images] == [
        "images/scene-01.png",
        "images/scene-02.png",
        "images/scene-04.png",
    ]
    for img, number in zip(images, (1, 2, 4), strict=True):
        record = board.record(number)
        assert record.image is not None
        assert img["width"] == str(record.image.width)
        assert img["height"] == str(record.image.height)
        assert img["alt"] == record.scene.title
        assert (root / str(img["src"])).is_file()


def test_states_are_shown(project: Project, sample: SimpleNamespace) -> None:
    board, root = project
    failed_error = sample.FAILED_ERROR
    page = render_html(board, root)
    failed = _article(page, 3)
    assert "panel--failed" in failed and "Failed" in failed
    assert html.escape(failed_error) in failed
    assert "tried runware, placeholder" in failed
    pending = _article(page, 5)
    assert "panel--pending" in pending and "Pending" in pending and "<img" not in pending
    done = _article(page, 1)
    assert "seed 1001" in done and "placeholder" in done
    assert "Image prompt" in done and "<details" in done
    assert html.escape(board.record(1).prompt) in done

    board.record(5).approved = False
    assert "Not approved" in _article(render_html(board, root), 5)


def test_header_and_characters(project: Project) -> None:
    board, root = project
    board.record(1).cost = 0.0042
    board.text_usage.cost = 0.001
    page = render_html(board, root)
    head = page.split("</header>", 1)[0]
    assert "The Keeper of Gull Rock" in head
    assert "cinematic" in head
    assert "3 drawn, 1 failed, 1 pending" in head
    assert "placeholder (placeholder-card)" in head and "heuristic" in head
    assert "$0.0052" in head
    assert "used placeholder instead" in head
    assert "Mara" in page and "grey wool coat, red scarf" in page
    assert "yellow oilskins" in page
    assert "tense, then hopeful" in page and "rescue" in page


def test_unsafe_or_missing_image_paths_are_not_linked(project: Project) -> None:
    board, root = project
    good = board.record(1).image
    assert good is not None
    for bad in ("../outside.png", "/etc/passwd", "https://example.com/x.png", "images/nope.png"):
        board.record(1).image = good.model_copy(update={"path": bad})
        article = _article(render_html(board, root), 1)
        assert "<img" not in article
        assert "Image not found" in article
    board.record(1).image = None
    assert "No image was recorded" in _article(render_html(board, root), 1)


def test_links_are_followed_only_to_files_inside_the_project(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    board, root = project
    good = board.record(1).image
    assert good is not None
    outside = tmp_path_factory.mktemp("elsewhere")
    (outside / "secret.png").write_bytes((root / good.path).read_bytes())
    (root / "images" / "leak.png").symlink_to(outside / "secret.png")
    (root / "images" / "same.png").symlink_to(root / good.path)
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "inner").symlink_to(root / "images", target_is_directory=True)
    cases = {
        "images/leak.png": False,  # a link out of the project
        "linked/secret.png": False,  # through a linked folder outside
        "images": False,  # a folder, not a file
        ".": False,
        "images/same.png": True,  # a link to a file inside
        "inner/" + Path(good.path).name: True,  # through a linked folder inside
    }
    for path, shown in cases.items():
        board.record(1).image = good.model_copy(update={"path": path})
        article = _article(render_html(board, root), 1)
        assert ("<img" in article) is shown, path


def test_paths_with_spaces_are_quoted(project: Project) -> None:
    board, root = project
    (root / "images" / "scene 01 #a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    record: SceneRecord = board.record(1)
    assert record.image is not None
    record.image = ImageFile(**{**record.image.model_dump(), "path": "images/scene 01 #a.png"})
    srcs = [img["src"] for img in parse(render_html(board, root)).all("img")]
    assert srcs[0] == "images/scene%2001%20%23a.png"


def test_self_contained_and_responsive(project: Project) -> None:
    board, root = project
    page = render_html(board, root)
    assert page.startswith("<!doctype html>")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert '<meta charset="utf-8">' in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page, re.I)
    assert "@import" not in page
    assert "http://" not in page and "https://" not in page
    parsed = parse(page)
    assert not parsed.all("link") and not parsed.all("script")
    assert "@media (min-width:" in page and "grid-template-columns" in page


def test_write_html_is_atomic(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    board, root = project
    target = write_html(board, root)
    assert target == root / "index.html"
    assert target.read_text(encoding="utf-8") == render_html(board, root)
    assert sorted(p.name for p in root.iterdir()) == ["images", "index.html"]

    # A failure half-way leaves the old page in place and no temporary file behind.
    before = target.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(project_module.os, "replace", broken_replace)
    board.record(1).scene.title = "Changed"
    with pytest.raises(OSError, match="disk full"):
        write_html(board, root)
    assert target.read_bytes() == before
    assert sorted(p.name for p in root.iterdir()) == ["images", "index.html"]


def test_write_html_uses_fsync_and_replace(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    board, root = project
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        calls.append("replace")
        assert Path(src).parent == root and Path(src).name != "index.html"
        real_replace(src, dst)

    monkeypatch.setattr(project_module.os, "fsync", fsync)
    monkeypatch.setattr(project_module.os, "replace", replace)
    write_html(board, root)
    assert calls[:2] == ["fsync", "replace"]


def test_minimal_board_renders(project: Project) -> None:
    board, root = project
    bare = Storyboard(story=board.story.model_copy(update={"title": ""}), settings=board.settings)
    page = render_html(bare, root)
    assert "Gull Rock" in page  # title from the story file name
    assert "No scenes yet." in page


def _article(page: str, number: int) -> str:
    start = page.index(f'id="scene-{number:02d}"')
    return page[start : page.index("</article>", start)]


def test_module_imports_no_jinja2() -> None:
    import subprocess
    import sys

    code = "import sys, storyframe.render; assert 'jinja2' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
