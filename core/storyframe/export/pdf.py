"""The PDF export (fpdf2): one scene a page, or storyboard sheets of 4 or 6 scenes.

Text is set in the PDF core fonts, which cover Latin-1: typographic quotes and dashes become
their plain forms, and anything else outside Latin-1 becomes ``?``.
"""

from __future__ import annotations

import io
import unicodedata
from typing import TYPE_CHECKING

from storyframe.export import Page, Pages, open_image

if TYPE_CHECKING:
    from fpdf import FPDF

MARGIN = 12.0  # mm
INK = (31, 28, 24)
MUTED = (109, 101, 90)
ACCENT = (180, 83, 42)
GRID = {4: (2, 2), 6: (3, 2)}  # scenes a page -> (columns, rows)
MAX_PIXELS = 1600  # images are scaled down to this long side, then stored as JPEG

_PLAIN = str.maketrans(
    {
        "\u2018": "'",  # single quotes
        "\u2019": "'",
        "\u201c": '"',  # double quotes
        "\u201d": '"',
        "\u2013": "-",  # en and em dash
        "\u2014": "-",
        "\u2026": "...",
        "\u2022": "*",
        "\u00a0": " ",
    }
)


def latin1(text: str) -> str:
    """``text`` in what the core fonts can show."""
    text = unicodedata.normalize("NFC", text.translate(_PLAIN))
    return text.encode("latin-1", "replace").decode("latin-1")


def build(pages: Pages, *, per_page: int = 1) -> bytes:
    """The PDF bytes."""
    from fpdf import FPDF

    landscape = pages.width >= pages.height or per_page > 1
    pdf = FPDF(orientation="L" if landscape else "P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)  # each page is laid out by hand: text never spills over
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_title(latin1(pages.title))
    pdf.set_creator("storyframe")
    count = len(pages.pages)
    if per_page == 1:
        for page in pages.pages:
            pdf.add_page()
            _running_head(pdf, pages.title, f"Scene {page.number} of {count}")
            _scene_page(pdf, page, pages)
    else:
        columns, rows = GRID[per_page]
        for start in range(0, count, per_page):
            pdf.add_page()
            last = min(start + per_page, count)
            _running_head(pdf, pages.title, f"Scenes {start + 1}-{last} of {count}")
            _sheet(pdf, pages.pages[start:last], pages, columns, rows)
    return bytes(pdf.output())


def _running_head(pdf: FPDF, title: str, where: str) -> None:
    pdf.set_font("Helvetica", size=8.5)
    pdf.set_text_color(*MUTED)
    pdf.set_xy(MARGIN, MARGIN - 4)
    pdf.cell(pdf.epw / 2, 5, latin1(title))
    pdf.cell(pdf.epw / 2, 5, latin1(where), align="R")


def _image(pdf: FPDF, page: Page, pages: Pages, x: float, y: float, w: float, h: float) -> float:
    """The scene's picture fitted into the box at its top, centred across, with a hairline; or
    a plain frame. Returns the height used."""
    if page.image is None:
        return _placeholder(pdf, page, pages, x, y, w, h)
    image = open_image(page, pages.width, pages.height)
    image.thumbnail((MAX_PIXELS, MAX_PIXELS))
    scale = min(w / image.width, h / image.height)
    width, height = image.width * scale, image.height * scale
    left, top = x + (w - width) / 2, y
    data = io.BytesIO()
    image.save(data, "JPEG", quality=88)
    pdf.image(data, left, top, width, height)
    pdf.set_draw_color(200, 192, 180)
    pdf.set_line_width(0.2)
    pdf.rect(left, top, width, height)
    return height


def _placeholder(
    pdf: FPDF, page: Page, pages: Pages, x: float, y: float, w: float, h: float
) -> float:
    """A grey frame of the picture's shape saying why there is no picture (as text)."""
    scale = min(w / pages.width, h / pages.height)
    width, height = pages.width * scale, pages.height * scale
    left, top = x + (w - width) / 2, y
    pdf.set_fill_color(236, 232, 224)
    pdf.set_draw_color(170, 162, 150)
    pdf.set_line_width(0.3)
    pdf.rect(left, top, width, height, style="DF")
    size = max(7.0, min(16.0, height / 8))
    pdf.set_text_color(*MUTED)
    pdf.set_font("Helvetica", "", size)
    pdf.set_xy(left, top + height / 2 - size * 0.25)
    pdf.cell(width, size * 0.5, latin1(page.status), align="C")
    return height


def _text(
    pdf: FPDF, text: str, x: float, y: float, w: float, size: float, lines: int, **style: str
) -> float:
    """Set ``text`` in at most ``lines`` lines; return the height used."""
    if not text.strip() or lines < 1:
        return 0.0
    pdf.set_font("Helvetica", style.get("style", ""), size)
    height = size * 0.45
    found = pdf.multi_cell(w, height, latin1(text), dry_run=True, output="LINES")
    wrapped = [str(line) for line in found] if isinstance(found, list) else [latin1(text)]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1].rstrip(" ,;:.") + "..."
    pdf.set_xy(x, y)
    pdf.multi_cell(w, height, "\n".join(wrapped), align="L")
    return height * len(wrapped)


def _scene_page(pdf: FPDF, page: Page, pages: Pages) -> None:
    top = MARGIN + 4
    pdf.set_text_color(*ACCENT)
    used = _text(pdf, f"Scene {page.number}", MARGIN, top, pdf.epw, 9, 1, style="B")
    pdf.set_text_color(*INK)
    used += _text(pdf, page.title, MARGIN, top + used + 1, pdf.epw, 17, 2, style="B") + 3
    caption_room = 34.0
    box_h = pdf.eph - 4 - used - caption_room
    y = top + used + _image(pdf, page, pages, MARGIN, top + used, pdf.epw, box_h) + 4
    if page.framing:
        pdf.set_text_color(*MUTED)
        y += _text(pdf, page.framing, MARGIN, y, pdf.epw, 9, 1) + 1
    pdf.set_text_color(*INK)
    _text(pdf, page.caption, MARGIN, y, pdf.epw, 11, 5)


def _sheet(pdf: FPDF, group: list[Page], pages: Pages, columns: int, rows: int) -> None:
    gap = 6.0
    top = MARGIN + 4
    cell_w = (pdf.epw - gap * (columns - 1)) / columns
    cell_h = (pdf.eph - 4 - gap * (rows - 1)) / rows
    text_room = 24.0
    for index, page in enumerate(group):
        row, column = divmod(index, columns)
        x = MARGIN + column * (cell_w + gap)
        y = top + row * (cell_h + gap)
        box_h = cell_h - text_room
        y += _image(pdf, page, pages, x, y, cell_w, box_h) + 2
        pdf.set_text_color(*INK)
        y += _text(pdf, f"{page.number}. {page.title}", x, y, cell_w, 10, 1, style="B")
        if page.framing:
            pdf.set_text_color(*MUTED)
            y += _text(pdf, page.framing, x, y, cell_w, 8, 1)
        pdf.set_text_color(*INK)
        _text(pdf, page.caption, x, y + 0.5, cell_w, 8.5, 3 if not page.framing else 2)
