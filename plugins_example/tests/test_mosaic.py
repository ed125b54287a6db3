"""The mosaic provider's own behaviour: deterministic pictures, palette, config, style params."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from pydantic import ValidationError
from storyframe.errors import InvalidRequest
from storyframe.models import GeneratedImage, ImageRequest, Style
from storyframe.providers import ProviderConfig

from storyframe_mosaic.provider import MosaicConfig, MosaicImageProvider, split_palette
from storyframe_mosaic.styles import STAINED_GLASS

PLAIN = Style(name="plain", palette=["#ffffff", "#000000", "#ff0000", "#00ff00"])


def request(**changes: Any) -> ImageRequest:
    values: dict[str, Any] = {
        "scene_number": 1,
        "prompt": "A lighthouse keeper climbs the stairs in a storm",
        "width": 160,
        "height": 96,
        "seed": 7,
        "style": PLAIN,
    }
    values.update(changes)
    return ImageRequest(**values)


async def draw(provider: MosaicImageProvider, **changes: Any) -> GeneratedImage:
    async with provider:
        return await provider.generate(request(**changes))


def pixels(image: GeneratedImage) -> Image.Image:
    assert image.data is not None
    return Image.open(io.BytesIO(image.data)).convert("RGB")


@pytest.mark.asyncio
async def test_same_request_same_bytes() -> None:
    first = await draw(MosaicImageProvider())
    second = await draw(MosaicImageProvider())
    assert first.data == second.data
    assert (first.model, first.seed, first.cost) == ("mosaic-v1", 7, 0.0)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "change", [{"prompt": "A fox in the snow"}, {"seed": 8}, {"style": STAINED_GLASS}]
)
async def test_prompt_seed_and_style_change_the_picture(change: dict[str, Any]) -> None:
    base = await draw(MosaicImageProvider())
    other = await draw(MosaicImageProvider(), **change)
    assert base.data != other.data


@pytest.mark.asyncio
async def test_size_and_palette() -> None:
    config = MosaicConfig(tile_size=16, grout=2, jitter=0.0)
    image = pixels(await draw(MosaicImageProvider(config), width=200, height=120))
    assert image.size == (200, 120)
    palette = {tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in PLAIN.palette}
    colours = {colour for _, colour in image.getcolors(maxcolors=10_000) or []}
    lead = (0, 0, 0)  # the darkest colour of PLAIN is the grout
    assert lead in colours
    assert colours <= palette
    assert len(colours) >= 3


def test_split_palette() -> None:
    assert split_palette(STAINED_GLASS.palette)[0] == "#15171c"
    assert split_palette(PLAIN.palette) == ("#000000", ["#ffffff", "#ff0000", "#00ff00"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tile_size": 4}, "greater than or equal to 8"),
        ({"tile_size": 8, "grout": 4}, "less than half of tile_size"),
        ({"jitter": 2}, "less than or equal to 0.5"),
        ({"tile_sise": 16}, "Extra inputs are not permitted"),
    ],
)
def test_config_is_validated(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MosaicConfig.model_validate(data)


def test_config_from_a_plain_provider_config() -> None:
    provider = MosaicImageProvider(ProviderConfig(concurrency=2))
    assert isinstance(provider.config, MosaicConfig)
    assert provider.config.concurrency == 2
    assert provider.config.tile_size == 32


def test_style_preferences_and_explicit_config() -> None:
    stained = request(style=STAINED_GLASS)
    assert MosaicImageProvider().drawing(stained).tile_size == 48
    assert MosaicImageProvider().drawing(stained).grout == 4
    explicit = MosaicImageProvider(MosaicConfig(tile_size=20))
    assert explicit.drawing(stained).tile_size == 20  # what the user set wins
    assert explicit.drawing(stained).grout == 4
    assert MosaicImageProvider().drawing(request()).tile_size == 32


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("params", "message"),
    [({"tile_size": 2}, "bad mosaic parameters"), ({"colour": "red"}, "unknown mosaic")],
)
async def test_bad_style_params_are_invalid_requests(params: dict[str, Any], message: str) -> None:
    style = PLAIN.model_copy(update={"provider_params": {"mosaic": params}})
    with pytest.raises(InvalidRequest, match=message) as caught:
        await draw(MosaicImageProvider(), style=style)
    assert caught.value.provider == "mosaic"
    assert not caught.value.retryable


@pytest.mark.asyncio
async def test_generate_many_keeps_going_after_a_bad_request() -> None:
    bad = PLAIN.model_copy(update={"provider_params": {"mosaic": {"tile_size": 2}}})
    requests = [
        request(scene_number=1),
        request(scene_number=2, style=bad),
        request(scene_number=3),
    ]
    async with MosaicImageProvider() as provider:
        results = await provider.generate_many(requests)
    assert isinstance(results[0], GeneratedImage) and results[0].scene_number == 1
    assert isinstance(results[1], InvalidRequest)
    assert isinstance(results[2], GeneratedImage) and results[2].scene_number == 3
