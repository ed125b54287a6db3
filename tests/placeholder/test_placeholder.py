"""The built-in placeholder image provider: exact, deterministic, honest PNG cards."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from PIL import Image

from storyframe.builtins.placeholder import LABEL, MODEL, PlaceholderImageProvider, render_card
from storyframe.models import GeneratedImage, ImageRequest, Style
from storyframe.providers import ImageProvider, provider_info
from storyframe.styles import BUILTIN_STYLES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STYLE = Style(name="test", palette=["#123456", "#f0e0d0", "#c05621", "#3d5a80"])


def request(**changes: Any) -> ImageRequest:
    values: dict[str, Any] = {
        "scene_number": 2,
        "title": "The lighthouse at dusk",
        "prompt": "A keeper in a grey coat climbs the spiral stairs as a storm gathers.",
        "width": 320,
        "height": 180,
        "seed": 1234,
        "style": STYLE,
    }
    values.update(changes)
    return ImageRequest(**values)


def decode(image: GeneratedImage) -> Image.Image:
    assert image.data is not None
    return Image.open(io.BytesIO(image.data))


@pytest.fixture
def provider() -> PlaceholderImageProvider:
    return PlaceholderImageProvider()


def test_identity() -> None:
    info = provider_info(PlaceholderImageProvider)
    assert issubclass(PlaceholderImageProvider, ImageProvider)
    assert info["name"] == "placeholder"
    assert info["kind"] == "image"
    assert info["needs_key"] is False
    assert info["description"]
    caps = PlaceholderImageProvider.capabilities
    assert caps.seed and not caps.negative_prompt
    assert (caps.min_size, caps.max_size, caps.size_multiple) == (64, 4096, 1)
    assert PlaceholderImageProvider().model_name == MODEL
    assert "PLACEHOLDER" in LABEL


async def test_png_of_exact_size(provider: PlaceholderImageProvider) -> None:
    image = await provider.generate(request(width=333, height=201, scene_number=7, seed=99))
    assert image.data is not None and image.data.startswith(PNG_MAGIC)
    assert (image.scene_number, image.seed, image.cost) == (7, 99, 0.0)
    assert (image.provider, image.model, image.media_type) == ("placeholder", MODEL, "image/png")
    assert (image.width, image.height) == (333, 201)
    with decode(image) as png:
        assert png.format == "PNG"
        assert png.size == (333, 201)
        assert not png.info.keys() - {"dpi"}  # no timestamps or other text chunks


async def test_deterministic(provider: PlaceholderImageProvider) -> None:
    first = await provider.generate(request())
    second = await provider.generate(request())
    assert first.data == second.data
    assert render_card(request()) == first.data


@pytest.mark.parametrize(
    "changes",
    [
        {"seed": 1235},
        {"prompt": "A completely different prompt about a red fox in the snow."},
        {"title": "Another title"},
        {"scene_number": 3},
    ],
)
def test_different_requests_differ(changes: dict[str, Any]) -> None:
    assert render_card(request(**changes)) != render_card(request())


@pytest.mark.parametrize(("width", "height"), [(64, 64), (64, 4096), (4096, 64), (97, 65)])
def test_extreme_sizes(width: int, height: int) -> None:
    data = render_card(request(width=width, height=height, prompt="word " * 500))
    with Image.open(io.BytesIO(data)) as png:
        assert png.size == (width, height)


def test_very_long_and_odd_text() -> None:
    prompt = (
        "Supercalifragilisticexpialidocious" * 40
        + " café — naïve “quotes” • 日本語 🙂 \n\t tabs and newlines "
        + "very long prompt " * 400
    )
    data = render_card(request(prompt=prompt, title="Ünïcödé " * 30, width=640, height=360))
    assert data.startswith(PNG_MAGIC)


def test_two_colour_palette() -> None:
    style = Style(name="duo", palette=["#000000", "#ffffff"])
    assert render_card(request(style=style)).startswith(PNG_MAGIC)


@pytest.mark.parametrize("style", BUILTIN_STYLES, ids=lambda s: s.name)
def test_palette_background(style: Style) -> None:
    data = render_card(request(style=style, width=300, height=200))
    expected = tuple(int(style.palette[0][i : i + 2], 16) for i in (1, 3, 5))
    with Image.open(io.BytesIO(data)) as png:
        rgb = png.convert("RGB")
        for xy in [(0, 0), (299, 0), (0, 199), (299, 199), (150, 0)]:
            assert rgb.getpixel(xy) == expected
        # The text colour is on the card too (the title and the prompt are drawn in it).
        ink = tuple(int(style.palette[1][i : i + 2], 16) for i in (1, 3, 5))
        assert any(colour == ink for _, colour in rgb.getcolors(maxcolors=1 << 20) or [])


async def test_generate_many_in_order(provider: PlaceholderImageProvider) -> None:
    requests = [request(scene_number=n, seed=n * 10, title=f"Scene {n}") for n in range(1, 7)]
    results = await provider.generate_many(requests)
    assert [r.scene_number for r in results if isinstance(r, GeneratedImage)] == list(range(1, 7))
    assert [r.seed for r in results if isinstance(r, GeneratedImage)] == [10, 20, 30, 40, 50, 60]
    assert all(isinstance(r, GeneratedImage) and r.elapsed > 0 for r in results)


def test_fast_enough() -> None:
    big = request(width=1344, height=768, prompt="a long prompt about a lighthouse " * 12)
    render_card(big)  # warm the font cache
    started = time.perf_counter()
    for seed in range(3):
        render_card(big.model_copy(update={"seed": seed}))
    assert (time.perf_counter() - started) / 3 < 0.5  # generous: ~40 ms on a laptop


def test_module_does_not_import_pillow() -> None:
    import subprocess
    import sys

    code = (
        "import sys, storyframe.builtins.placeholder as p; "
        "assert p.PlaceholderImageProvider.name == 'placeholder'; "
        "assert 'PIL' not in sys.modules, 'Pillow imported at module import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bitmap_font_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """On Pillow < 10.1 ``load_default`` takes no size: the bitmap font still draws a card."""
    from PIL import ImageFont

    from storyframe.builtins import placeholder

    real = ImageFont.load_default

    def old_load_default(size: float | None = None) -> Any:
        if size is not None:
            raise TypeError("load_default() got an unexpected keyword argument 'size'")
        return real()

    caches = [placeholder._font, placeholder._line_height, placeholder._drawable]
    caches += [placeholder._notdef, placeholder._max_chars]
    for cache in caches:
        cache.cache_clear()
    monkeypatch.setattr(ImageFont, "load_default", old_load_default)
    try:
        data = render_card(request(prompt="café — naïve “日本” " * 30, width=400, height=300))
    finally:
        monkeypatch.undo()
        for cache in caches:
            cache.cache_clear()
    with Image.open(io.BytesIO(data)) as png:
        assert png.size == (400, 300)


def test_a_character_sheet_card_shows_the_name_not_the_request_number_or_title() -> None:
    from storyframe.characters import SHEET_NUMBERS

    sheet = request(scene_number=SHEET_NUMBERS + 2, width=180, height=320)
    sheet = sheet.model_copy(update={"params": {"character": "Tobin"}})
    card = render_card(sheet)
    # The name is drawn: another name gives another card, all else equal.
    assert card != render_card(sheet.model_copy(update={"params": {"character": "Mara"}}))
    # The title (and with it "Scene 1002") is not: changing it changes nothing.
    assert card == render_card(sheet.model_copy(update={"title": "Anything at all"}))
    # Without the character the same request is a scene card, whose title shows.
    scene = sheet.model_copy(update={"params": {}})
    assert render_card(scene) != card
    assert render_card(scene) != render_card(scene.model_copy(update={"title": "Another"}))


async def test_the_sheet_stage_asks_for_a_character_card() -> None:
    from storyframe.characters import SHEET_NUMBERS
    from storyframe.models import CharacterSheet, RunSettings, Storyboard, StoryInfo
    from storyframe.sheets import sheet_request

    board = Storyboard(
        story=StoryInfo(path="s.txt", sha256="ab" * 32),
        settings=RunSettings(
            scenes=1, style="test", seed=1, width=320, height=180,
            text_providers=["heuristic"], image_providers=["placeholder"],
        ),
    )  # fmt: skip
    sheet = CharacterSheet(name="Old Wen", prompt="Character reference sheet of Old Wen", seed=5)
    wanted = sheet_request(board, sheet, STYLE, SHEET_NUMBERS + 1)
    assert wanted.params["character"] == "Old Wen" and (wanted.width, wanted.height) == (180, 320)
    image = await PlaceholderImageProvider().generate(wanted)
    assert (
        image.data == render_card(wanted) != render_card(wanted.model_copy(update={"params": {}}))
    )
