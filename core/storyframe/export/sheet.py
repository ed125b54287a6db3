"""A contact sheet: one PNG grid of the scenes, each with its number and title (Pillow)."""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

from storyframe.export import Pages, font_of, open_image

if TYPE_CHECKING:
    from PIL import ImageDraw
    from PIL.ImageFont import FreeTypeFont, ImageFont

TILE = 320  # width of a tile, in pixels
GAP = 16
HEADER = 64  # the story's title above the grid
LABEL = 46  # number and title, then framing or status, under each tile
MAX_COLUMNS = 4
BACKGROUND = (250, 248, 244)
INK = (31, 28, 24)
MUTED = (109, 101, 90)
ACCENT = (180, 83, 42)


def layout(pages: Pages) -> tuple[int, int, int, int]:
    """(columns, rows, width, height) of the sheet for these pages."""
    count = max(1, len(pages.pages))
    columns = min(MAX_COLUMNS, count)
    rows = math.ceil(count / columns)
    width = columns * TILE + (columns + 1) * GAP
    height = HEADER + rows * (tile_height(pages) + LABEL + GAP)
    return columns, rows, width, height


def tile_height(pages: Pages) -> int:
    """The height of a tile's picture: the frame's shape at ``TILE`` wide."""
    return max(1, round(TILE * pages.height / pages.width))


def _fit(draw: ImageDraw.ImageDraw, text: str, font: FreeTypeFont | ImageFont, width: int) -> str:
    """``text``, cut with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def build(pages: Pages) -> bytes:
    """The PNG bytes of the sheet."""
    from PIL import Image, ImageDraw

    columns, _rows, width, height = layout(pages)
    high = tile_height(pages)
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    title_font, label_font, small_font = font_of(26), font_of(15), font_of(13)
    draw.text((GAP, HEADER / 2), _fit(draw, pages.title, title_font, width - 2 * GAP),
              fill=INK, font=title_font, anchor="lm")  # fmt: skip
    for index, page in enumerate(pages.pages):
        row, column = divmod(index, columns)
        x = GAP + column * (TILE + GAP)
        y = HEADER + row * (high + LABEL + GAP)
        tile = open_image(page, pages.width, pages.height)
        tile.thumbnail((TILE, high))
        sheet.paste(tile, (x + (TILE - tile.width) // 2, y + (high - tile.height) // 2))
        number = f"{page.number:02d}"
        draw.text((x, y + high + 6), number, fill=ACCENT, font=label_font)
        offset = round(draw.textlength(number + "  ", font=label_font))
        title = _fit(draw, page.title, label_font, TILE - offset)
        draw.text((x + offset, y + high + 6), title, fill=INK, font=label_font)
        second = page.status or page.framing
        if second:
            draw.text((x, y + high + 26), _fit(draw, second, small_font, TILE), fill=MUTED,
                      font=small_font)  # fmt: skip
    data = io.BytesIO()
    sheet.save(data, "PNG", optimize=True)
    return data.getvalue()
