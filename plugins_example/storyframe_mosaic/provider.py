"""The ``mosaic`` image provider: a deterministic abstract mosaic per scene, drawn offline.

The picture is derived from a hash of the prompt, the seed and the style, and painted in the
style's palette: the darkest colour becomes the lead (grout) between the tiles, the others the
glass. The same request always gives the same PNG bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import time
from typing import ClassVar, Self

from pydantic import Field, SecretStr, ValidationError, model_validator
from storyframe.errors import InvalidRequest
from storyframe.models import GeneratedImage, ImageRequest
from storyframe.providers import Capabilities, ImageProvider, ProviderConfig

MODEL = "mosaic-v1"
DRAWING_KEYS = frozenset({"tile_size", "grout", "jitter"})

RGB = tuple[int, int, int]


class MosaicConfig(ProviderConfig):
    """``[providers.mosaic]``: how the mosaic is drawn.

    A style may prefer other values (``provider_params = {"mosaic": {...}}``); keys set here win.
    """

    tile_size: int = Field(default=32, ge=8, le=512, description="Tile edge, in pixels.")
    grout: int = Field(default=2, ge=0, le=64, description="Width of the lead lines, pixels.")
    jitter: float = Field(
        default=0.12, ge=0.0, le=0.5, description="How much each tile's brightness varies."
    )

    @model_validator(mode="after")
    def _grout_fits(self) -> Self:
        if self.grout * 2 >= self.tile_size:
            raise ValueError("grout must be less than half of tile_size")
        return self


class MosaicImageProvider(ImageProvider):
    """Draws an abstract tile mosaic from the prompt; needs no key and no network."""

    name: ClassVar[str] = "mosaic"
    description: ClassVar[str] = "Offline abstract mosaics in the style's palette (example plugin)."
    needs_key: ClassVar[bool] = False
    config_model: ClassVar[type[ProviderConfig]] = MosaicConfig
    capabilities: ClassVar[Capabilities] = Capabilities(seed=True, min_size=64, max_size=4096)

    config: MosaicConfig

    def __init__(self, config: ProviderConfig | None = None, api_key: SecretStr | None = None):
        if config is not None and not isinstance(config, MosaicConfig):
            config = MosaicConfig.model_validate(config.model_dump(exclude_unset=True))
        super().__init__(config, api_key)

    @property
    def model_name(self) -> str:
        """Always ``mosaic-v1``."""
        return MODEL

    def drawing(self, request: ImageRequest) -> MosaicConfig:
        """The settings for one request: defaults, then the style's preferences, then config."""
        preferred = dict(request.style.provider_params.get(self.name, {}))
        unknown = set(preferred) - DRAWING_KEYS
        if unknown:
            raise InvalidRequest(
                f"style {request.style.name!r}: unknown mosaic parameter(s) "
                f"{', '.join(sorted(unknown))}",
                provider=self.name,
            )
        explicit = self.config.model_dump(include=self.config.model_fields_set & DRAWING_KEYS)
        try:
            return MosaicConfig.model_validate({**preferred, **explicit})
        except ValidationError as error:
            raise InvalidRequest(
                f"style {request.style.name!r}: bad mosaic parameters: {error.errors()[0]['msg']}",
                provider=self.name,
            ) from None

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        """Draw the mosaic for ``request`` (in a worker thread) and return it as PNG bytes."""
        started = time.perf_counter()
        settings = self.drawing(request)
        data = await asyncio.to_thread(render_mosaic, request, settings)
        return GeneratedImage(
            scene_number=request.scene_number,
            provider=self.name,
            model=MODEL,
            data=data,
            media_type="image/png",
            seed=request.seed,
            cost=0.0,
            elapsed=round(time.perf_counter() - started, 3),
            width=request.width,
            height=request.height,
        )


def seed_for(request: ImageRequest) -> int:
    """A stable 64-bit number from the prompt, the seed and the style."""
    text = f"{request.style.name}\0{request.seed}\0{request.prompt}"
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def split_palette(palette: list[str]) -> tuple[str, list[str]]:
    """The lead colour (the darkest) and the glass colours (the rest) of a palette."""
    lead = min(palette, key=lambda colour: _luminance(_rgb(colour)))
    return lead, [colour for colour in palette if colour != lead]


def render_mosaic(request: ImageRequest, settings: MosaicConfig) -> bytes:
    """Paint the mosaic for ``request`` and return PNG bytes."""
    from PIL import Image, ImageDraw  # heavy: imported only when a picture is drawn

    rng = random.Random(seed_for(request))
    lead, glass = split_palette(request.style.palette)
    colours = [_rgb(colour) for colour in glass]
    # Each prompt favours some colours over others, so scenes differ in more than layout.
    weights = [rng.uniform(0.2, 1.0) for _ in colours]
    width, height, size = request.width, request.height, settings.tile_size

    image = Image.new("RGB", (width, height), _rgb(lead))
    draw = ImageDraw.Draw(image)
    for top in range(0, height, size):
        for left in range(0, width, size):
            box = (left, top, left + size, top + size)
            for triangle in _split(box, rng.random() < 0.5):
                colour = rng.choices(colours, weights)[0]
                shade = 1.0 + rng.uniform(-settings.jitter, settings.jitter)
                draw.polygon(
                    triangle,
                    fill=_scaled(colour, shade),
                    outline=_rgb(lead) if settings.grout else None,
                    width=settings.grout or 1,
                )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _split(box: tuple[int, int, int, int], rising: bool) -> list[list[tuple[int, int]]]:
    left, top, right, bottom = box
    if rising:
        return [
            [(left, top), (right, top), (left, bottom)],
            [(right, top), (right, bottom), (left, bottom)],
        ]
    return [
        [(left, top), (right, top), (right, bottom)],
        [(left, top), (right, bottom), (left, bottom)],
    ]


def _rgb(colour: str) -> RGB:
    value = int(colour.lstrip("#"), 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def _luminance(rgb: RGB) -> float:
    red, green, blue = rgb
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _scaled(rgb: RGB, factor: float) -> RGB:
    red, green, blue = (max(0, min(255, round(channel * factor))) for channel in rgb)
    return red, green, blue


__all__ = ["MODEL", "MosaicConfig", "MosaicImageProvider", "render_mosaic"]
