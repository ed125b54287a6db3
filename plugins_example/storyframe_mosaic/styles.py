"""The ``stained-glass`` style, as data."""

from __future__ import annotations

from storyframe.models import Style

STAINED_GLASS = Style(
    name="stained-glass",
    description="Backlit stained-glass window: jewel-toned glass held in dark lead lines.",
    prompt_suffix="stained glass window, jewel-toned glass panes, bold dark lead lines, "
    "backlit, gothic cathedral window, luminous colour",
    negative_prompt="photo, photorealistic, 3d render, text, watermark, blurry",
    # The darkest colour is the lead between the panes; the others are glass.
    palette=["#15171c", "#f3e9d2", "#9b1d20", "#1d4e89", "#2f7d32", "#d9a21b", "#5c2a86"],
    width=768,
    height=1024,
    # Preferences for providers that understand them (each ignores the others' entries).
    provider_params={"mosaic": {"tile_size": 48, "grout": 4}, "runware": {"CFGScale": 7}},
)
