"""What the OpenRouter text provider will spend on a story, before any paid call.

The calls are predicted the way :mod:`.long` plans them: one call for a story that fits
(analysis and scenes together), else one beats call per chunk and one writing call per batch
of scenes. Tokens come from :func:`.budget.estimate_tokens`; prices from ``price_per_1k_tokens``
when configured, else the model's ``pricing`` in ``GET /models`` (free, cached). The answer's
length is uncertain, so the cost is a range: the low end assumes answers about half as long
as the planner's budgets (terse models), the high end answers as long as ``max_tokens`` allows
and prompts 15% longer than estimated.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from storyframe.cost import CostEstimate
from storyframe_openrouter import budget
from storyframe_openrouter.limits import model_prices

if TYPE_CHECKING:
    from storyframe_openrouter.text import OpenRouterTextProvider

SHORT = 0.45
"""The low end's answer length, as a share of the planner's answer budget."""
TOKENS_PER_SECOND = (40.0, 120.0)
"""Answer tokens per second, slow and fast, plus one second of latency per call."""


async def estimate(
    provider: OpenRouterTextProvider, story: str, scenes: int
) -> CostEstimate | None:
    """The cost and time of analysing ``story`` and writing ``scenes`` scenes."""
    settings = provider.settings
    if settings.price_per_1k_tokens is not None:
        per_prompt = per_answer = settings.price_per_1k_tokens / 1000
        basis = "configured price"
    else:
        prices = await model_prices(provider.chat, settings)
        if prices is None:
            return None
        per_prompt, per_answer = prices
        basis = "GET /models pricing"
    story_tokens = budget.estimate_tokens(story)
    limits = await provider.limits()
    room = int(limits.context_length * settings.context_share)
    answer = budget.ANALYSIS_TOKENS + scenes * budget.SCENE_TOKENS
    want = int(answer * 1.5) + 300
    if want <= limits.output_cap() and story_tokens + budget.CALL_OVERHEAD + want <= room:
        calls, prompt = 1, story_tokens + budget.CALL_OVERHEAD
        answer_low, answer_high = int(answer * SHORT), want
        detail = f"one call, about {story_tokens:,} story tokens"
    else:
        chunks = max(1, math.ceil(story_tokens / settings.chunk_tokens))
        beats = max(3 * chunks, story_tokens // settings.beat_tokens)
        batches = math.ceil(scenes / settings.scene_batch)
        calls = chunks + batches
        passages = scenes * settings.passage_chars // 4
        prompt = story_tokens + passages + calls * budget.CALL_OVERHEAD
        answer = chunks * budget.ANALYSIS_TOKENS + beats * budget.BEAT_TOKENS
        answer += scenes * budget.SCENE_TOKENS
        answer_low, answer_high = int(answer * SHORT), int(answer * 1.5) + 300 * calls
        detail = f"{chunks} beats call(s) and {batches} writing call(s), {story_tokens:,} tokens"
    low = prompt * per_prompt + answer_low * per_answer
    high = prompt * 1.15 * per_prompt + answer_high * per_answer
    return CostEstimate(
        low=round(low, 8),
        high=round(high, 8),
        requests=calls,
        seconds_low=round(calls + answer_low / TOKENS_PER_SECOND[1], 1),
        seconds_high=round(calls * 2 + answer / TOKENS_PER_SECOND[0], 1),
        basis=basis,
        detail=detail,
    )
