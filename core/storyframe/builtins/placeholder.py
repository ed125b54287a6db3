"""The built-in ``placeholder`` image provider: a storyboard card per scene, drawn offline.

No image model is involved. Each card shows the scene number, title, image prompt, style and
seed on the style's palette (a character sheet shows "CHARACTER SHEET" and the character's name
instead of the number and title), says plainly that it is a placeholder, and carries a little
decoration derived from the seed so that cards are told apart at a glance. The same request
always yields the same PNG bytes.

Pillow is imported inside the functions, so importing this module (and starting the CLI) stays
cheap.
"""

from __future__ import annotations

import asyncio
import functools
import io
import random
import unicodedata
from typing import TYPE_CHECKING, Any, ClassVar

from storyframe.models import GeneratedImage, ImageRequest
from storyframe.providers import Capabilities, ImageProvider

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

    Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

MODEL = "placeholder-card"
LABEL = "PLACEHOLDER \u00b7 no image model was used"

RGB = tuple[int, int, int]

# Characters Pillow's embedded font (an ASCII subset of Aileron) lacks, with stand-ins it has.
_FOLD = str.maketrans(
    {
        "\u2014": "-",  # em dash
        "\u2013": "-",  # en dash
        "\u2012": "-",
        "\u2212": "-",
        "\u2022": "\u00b7",  # bullet -> middle dot
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u00ab": '"',
        "\u00bb": '"',
        "\u201e": '"',
        "\u00df": "ss",
        "\u00e6": "ae",
        "\u00c6": "AE",
        "\u0153": "oe",
        "\u0152": "OE",
        "\u00f8": "o",
        "\u00d8": "O",
        "\u0142": "l",
        "\u0141": "L",
        "\n": " ",
        "\t": " ",
        "\r": " ",
    }
)


class PlaceholderImageProvider(ImageProvider):
    """Draws an honest placeholder card for each scene; needs no key and no network."""

    name: ClassVar[str] = "placeholder"
    description: ClassVar[str] = (
        "Offline storyboard cards (scene number, title, prompt) instead of model images."
    )
    needs_key: ClassVar[bool] = False
    capabilities: ClassVar[Capabilities] = Capabilities(
        seed=True, negative_prompt=False, min_size=64, max_size=4096, size_multiple=1
    )

    @property
    def model_name(self) -> str:
        """Always ``placeholder-card``."""
        return MODEL

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        """Draw the card for ``request`` (in a worker thread) and return it as PNG bytes."""
        data = await asyncio.to_thread(render_card, request)
        return GeneratedImage(
            scene_number=request.scene_number,
            provider=self.name,
            model=MODEL,
            data=data,
            media_type="image/png",
            seed=request.seed,
            cost=0.0,
            width=request.width,
            height=request.height,
        )


# --- drawing -------------------------------------------------------------------------------------


def render_card(request: ImageRequest) -> bytes:
    """The placeholder card for ``request`` as PNG bytes (deterministic, no metadata)."""
    from PIL import Image, ImageDraw

    width, height = request.width, request.height
    palette = [_rgb(colour) for colour in request.style.palette]
    background, ink = palette[0], palette[1]
    accents = palette[2:] or [_mix(background, ink, 0.5)]
    rng = random.Random(request.seed * 1_000_003 + request.scene_number)

    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    short = min(width, height)
    unit = max(1.0, short / 100)  # 1% of the short side
    margin = max(3, round(unit * 5))

    swatches_left = _decorate(draw, rng, width, height, background, accents)

    # The frame: an outer rule in an accent, a hairline inside it.
    frame = max(1, round(unit * 0.6))
    inset = max(1, margin // 2)
    # A plain mat of background colour around the frame (the decoration stays inside it).
    draw.rectangle((0, 0, width - 1, height - 1), outline=background, width=inset)
    draw.rectangle(
        (inset, inset, width - 1 - inset, height - 1 - inset), outline=accents[0], width=frame
    )
    muted = _mix(background, ink, 0.55)
    if short >= 160:
        inner = inset + frame + max(2, round(unit * 0.8))
        draw.rectangle((inner, inner, width - 1 - inner, height - 1 - inner), outline=muted)

    left, right = margin + frame, width - margin - frame
    top, bottom = margin + frame, height - margin - frame
    if right - left < 8 or bottom - top < 8:
        return _png(image)

    # Footer: the honest label on the left, style and seed on the right.
    footer_size = max(6.0, unit * 3.2)
    footer_font = _font(footer_size)
    footer_h = _line_height(footer_font)
    meta = f"{request.style.name} \u00b7 seed {request.seed}"
    footer_top = bottom - footer_h
    label_font = footer_font
    label = _fit_line(LABEL, label_font, right - left)
    label_w = _text_width(label_font, label)
    meta_w = _text_width(footer_font, meta)
    if label_w + meta_w + unit * 4 <= right - left:
        draw.text((left, footer_top), label, font=label_font, fill=accents[0])
        draw.text((right - meta_w, footer_top), meta, font=footer_font, fill=muted)
        content_bottom = footer_top - round(unit * 2)
    else:
        # Narrow card: two footer lines.
        draw.text(
            (left, footer_top),
            _fit_line(meta, footer_font, right - left),
            font=footer_font,
            fill=muted,
        )
        footer_top -= footer_h
        draw.text((left, footer_top), label, font=label_font, fill=accents[0])
        content_bottom = footer_top - round(unit * 2)
    rule_y = content_bottom + round(unit)
    if rule_y > top:
        draw.line((left, rule_y, right, rule_y), fill=muted, width=max(1, round(unit * 0.25)))

    # Head: "SCENE" over a big number, the title beside it; a character sheet (a request with
    # a ``character`` param) says "CHARACTER SHEET" over the character's name instead.
    character = _clean(str(request.params.get("character") or ""))
    kicker = "CHARACTER SHEET" if character else "SCENE"
    kicker_font = _font(max(6.0, unit * 3.4))
    number_font = _font(max(8.0, short * 0.22))
    number = f"{request.scene_number:02d}"
    if character:
        number = character
        number_font = _fit_font(character, right - left, max(8.0, short * 0.16))
    kicker_h = _line_height(kicker_font)
    draw.text((left, top), kicker, font=kicker_font, fill=accents[0])
    number_top = top + kicker_h
    nb = [round(v) for v in draw.textbbox((left, number_top), number, font=number_font)]
    draw.text((left, number_top - (nb[1] - number_top)), number, font=number_font, fill=ink)
    number_w = round(max(nb[2] - left, _text_width(kicker_font, kicker)))
    head_bottom = number_top + (nb[3] - nb[1]) + round(unit * 3)

    title = "" if character else _clean(request.title) or f"Scene {request.scene_number}"
    title_left = left + number_w + round(unit * 5)
    title_font = _font(max(7.0, unit * 7))
    title_right = min(right, swatches_left - round(unit * 3))
    title_top, title_lines = head_bottom, list[str]()
    if title and title_right - title_left < max(40, (right - left) // 3):
        # No room beside the number: the title goes below it.
        title_left = left
        title_top = head_bottom
        room = max(0, (content_bottom - title_top) // _line_height(title_font))
        title_lines = _wrap(title, title_font, right - left, min(2, room))
        head_bottom = title_top + len(title_lines) * _line_height(title_font) + round(unit * 2)
    elif title:
        title_lines = _wrap(title, title_font, title_right - title_left, 3)
        title_block = len(title_lines) * _line_height(title_font)
        title_top = top + max(0, (head_bottom - top - title_block) // 2)
        head_bottom = max(head_bottom, title_top + title_block + round(unit * 3))
    y = title_top
    for line in title_lines:
        if y + _line_height(title_font) > content_bottom:
            break
        draw.text((title_left, y), line, font=title_font, fill=ink)
        y += _line_height(title_font)

    # The prompt, as large as fits in what is left.
    prompt = _clean(request.prompt)
    box_h = content_bottom - head_bottom
    if prompt and box_h > 6:
        bar = max(1, round(unit * 0.8))
        text_left = left + bar + round(unit * 2.5)
        text_w = right - text_left
        font, lines = _fit_block(prompt, text_w, box_h, unit)
        if lines:
            line_h = _line_height(font)
            draw.rectangle(
                (left, head_bottom, left + bar - 1, head_bottom + line_h * len(lines)),
                fill=accents[1 % len(accents)],
            )
            for index, line in enumerate(lines):
                draw.text((text_left, head_bottom + index * line_h), line, font=font, fill=ink)

    return _png(image)


def _decorate(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    width: int,
    height: int,
    background: RGB,
    accents: list[RGB],
) -> int:
    """Faint bands, rings and a swatch strip, all chosen by ``rng``.

    Returns the left edge of the swatch strip (``width`` when there is none).
    """
    short = min(width, height)
    # Diagonal bands sweeping across the card.
    for _ in range(rng.randint(2, 4)):
        colour = _mix(background, rng.choice(accents), rng.uniform(0.08, 0.16))
        x = rng.uniform(-0.3, 1.1) * width
        band = rng.uniform(0.04, 0.16) * width
        slant = rng.uniform(-0.6, 0.6) * height
        draw.polygon(
            [(x, 0), (x + band, 0), (x + band + slant, height), (x + slant, height)], fill=colour
        )
    # Concentric rings, a "sun" somewhere in the right half.
    cx = rng.uniform(0.6, 0.92) * width
    cy = rng.uniform(0.2, 0.8) * height
    colour = rng.choice(accents)
    radius = rng.uniform(0.18, 0.32) * short
    for step in range(rng.randint(2, 4)):
        r = radius * (1 - step * 0.22)
        if r <= 1:
            break
        draw.ellipse(
            (cx - r, cy - r, cx + r, cy + r),
            fill=_mix(background, colour, 0.07 + 0.05 * step),
        )
    # A strip of palette swatches in the top-right corner.
    if short < 120:
        return width
    size = max(4, round(short * 0.025))
    gap = max(2, size // 3)
    x1 = width - round(short * 0.05) - size - max(2, round(short * 0.012))
    y0 = round(short * 0.05) + max(2, round(short * 0.012))
    for colour in reversed(accents):
        draw.rectangle((x1 - size, y0, x1, y0 + size), fill=colour)
        x1 -= size + gap
    return x1 + gap - size


def _fit_block(text: str, width: int, height: int, unit: float) -> tuple[Font, list[str]]:
    """The largest font (down to a floor) at which ``text`` wraps into the box; else ellipsize."""
    size = max(6.0, unit * 4.6)
    floor = max(6.0, min(size, unit * 2.6))
    while True:
        font = _font(size)
        max_lines = max(0, height // _line_height(font))
        lines = _wrap(text, font, width, max_lines)
        if not _truncated(lines, text) or size <= floor:
            return font, lines
        size = max(floor, size * 0.88)


def _truncated(lines: list[str], text: str) -> bool:
    return not lines or (lines[-1].endswith("\u2026") and not text.endswith("\u2026"))


def _wrap(text: str, font: Font, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap into at most ``max_lines`` lines; the last line is ellipsized if cut."""
    if max_lines <= 0 or width <= 0:
        return []
    lines: list[str] = []
    current = ""
    current_w = 0.0
    words = text.split()
    for index, word in enumerate(words):
        candidate = f"{current} {word}" if current else word
        # Widths add up (nearly: kerning); measure the whole line only close to the edge.
        estimate = current_w + _text_width(font, f" {word}" if current else word)
        if estimate <= width * 0.97 or (
            estimate <= width * 1.03 and _text_width(font, candidate) <= width
        ):
            current, current_w = candidate, estimate
            continue
        if current:
            lines.append(current)
            current = ""
        # A word longer than the line is broken by characters.
        most = _max_chars(font, width)
        while len(word) > 1 and (len(word) > most or _text_width(font, word) > width):
            cut = _longest_prefix(word, font, width)
            lines.append(word[:cut])
            word = word[cut:]
            if len(lines) >= max_lines:
                break
        current, current_w = word, _text_width(font, word)
        if len(lines) >= max_lines:
            lines = lines[:max_lines]
            rest = " ".join([current, *words[index + 1 : index + 40]])
            tail = f"{lines[-1]} {rest}"[: 2 * len(lines[-1]) + 8]
            lines[-1] = _fit_line(tail, font, width, force=True)
            return lines
    if current:
        lines.append(current)
    return lines


@functools.cache
def _max_chars(font: Font, width: int) -> int:
    """More characters than can fit in ``width`` (bounds the searches on very long words)."""
    narrowest = min(_text_width(font, ch) for ch in "il.,:;'|!") or 1.0
    return int(width / narrowest) + 1


def _longest_prefix(word: str, font: Font, width: int) -> int:
    low, high = 1, min(len(word), _max_chars(font, width))
    while low < high:
        mid = (low + high + 1) // 2
        if _text_width(font, word[:mid]) <= width:
            low = mid
        else:
            high = mid - 1
    return low


def _fit_line(text: str, font: Font, width: int, *, force: bool = False) -> str:
    """``text`` cut to ``width`` with an ellipsis (``force``: always end with one)."""
    if not force and _text_width(font, text) <= width:
        return text
    ellipsis = "\u2026"
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if _text_width(font, text[:mid].rstrip() + ellipsis) <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + ellipsis


def _clean(text: str) -> str:
    """``text`` folded to what the embedded font can draw, whitespace collapsed."""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    kept = "".join(ch if _drawable(ch) else "?" for ch in folded if not unicodedata.combining(ch))
    return " ".join(kept.split())


@functools.cache
def _drawable(ch: str) -> bool:
    """Whether the default font has a glyph for ``ch`` (it lacks most non-ASCII)."""
    if ch.isspace() or 32 <= ord(ch) < 127:
        return True
    try:
        mask = _font(20.0).getmask(ch)
        return (mask.size, bytes(mask)) != _notdef()
    except Exception:  # any failure (a bitmap font cannot encode it, ...) means "cannot draw it"
        return False


@functools.cache
def _notdef() -> tuple[tuple[int, int], bytes]:
    """The size and pixels of the font's "missing glyph" box."""
    mask = _font(20.0).getmask("\uffff")
    return mask.size, bytes(mask)


@functools.cache
def _font(size: float) -> Font:
    """Pillow's embedded font at ``size`` pixels (rounded); the bitmap default on old Pillow."""
    from PIL import ImageFont

    size = float(max(6, round(size)))
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # Pillow < 10.1, or no FreeType
        return ImageFont.load_default()


@functools.cache
def _line_height(font: Font) -> int:
    box = font.getbbox("Hg|")
    return max(1, round((box[3] - min(0, box[1])) * 1.22))


def _fit_font(text: str, width: int, size: float) -> Font:
    """The font at ``size`` or smaller (down to 8 px) in which ``text`` fits ``width``."""
    font = _font(size)
    while size > 8 and _text_width(font, text) > width:
        size = max(8.0, size * 0.9)
        font = _font(size)
    return font


def _text_width(font: Font, text: str) -> float:
    return float(font.getlength(text))


def _rgb(colour: str) -> RGB:
    value = int(colour[1:], 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


def _mix(base: RGB, other: RGB, amount: float) -> RGB:
    """``amount`` of ``other`` blended into ``base``."""
    r, g, b = (round(a + (c - a) * amount) for a, c in zip(base, other, strict=True))
    return r, g, b


def _png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


__all__ = ["LABEL", "MODEL", "PlaceholderImageProvider", "render_card"]
