"""What a Runware image will cost, before it is drawn.

Runware reports each image's cost itself (``includeCost``), and storyframe records that figure.
Before a run, ``--dry-run`` and ``--max-cost`` need an estimate: ``price_per_image`` from the
config when set, else this small table of list prices for a 1024x1024 image (USD, read from
runware.ai's pricing page; prices change, so the estimate is a range), else unknown.

Runware prices most models by the image, with larger sizes costing more; the range runs from
the table's price for images up to 1 megapixel to that price scaled by the area above it.
"""

from __future__ import annotations

from storyframe.cost import CostEstimate

LIST_PRICES: dict[str, float] = {
    "runware:101@1": 0.0038,  # FLUX.1 [dev]
    "runware:100@1": 0.0013,  # FLUX.1 [schnell]
}
"""USD per image at up to 1024x1024, by AIR id."""

MEGAPIXEL = 1024 * 1024
SECONDS = (2.0, 12.0)
"""Seconds one image usually takes, queue included."""


def estimate(model: str, width: int, height: int, configured: float | None) -> CostEstimate | None:
    """The cost of one image of ``model`` at ``width`` x ``height``; ``None`` when unknown."""
    if configured is not None:
        price, basis = configured, "configured price"
    elif model in LIST_PRICES:
        price, basis = LIST_PRICES[model], "Runware list price"
    else:
        return None
    scale = max(1.0, width * height / MEGAPIXEL)
    low = price * (0.9 if basis != "configured price" else 1.0)
    return CostEstimate(
        low=round(low, 8),
        high=round(price * scale * (1.1 if basis != "configured price" else 1.0), 8),
        requests=1,
        seconds_low=SECONDS[0],
        seconds_high=SECONDS[1],
        basis=basis,
    )
