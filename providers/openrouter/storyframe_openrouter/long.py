"""The scene planner: one call for a story that fits, map-reduce over beats for one that does not.

``analyze`` reads the story once for the whole run and keeps what it learned in
``provider.plan``; ``generate_scenes`` reuses it. The paths:

- *one call*: story, analysis and the ``n`` scenes fit ``context_share`` of the window and the
  model's output limit, and the pipeline said how many scenes (``provider.job``);
- *beats*: the story is cut into chunks that fit; each chunk's beats are asked for concurrently
  (or read from the project's cache); ``n`` beats are chosen across the arc; the scenes are
  written in batches from their passages; bad scenes are repaired one by one.

Without ``job`` (the provider used directly), a story that fits is analysed and split in two
calls, as before.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from storyframe.models import Scene, StoryAnalysis, Style
from storyframe_openrouter import budget
from storyframe_openrouter.beats import (
    Beat,
    cache_key,
    choose,
    load_cached,
    merge_analysis,
    neighbours,
    place_beats,
    store,
)
from storyframe_openrouter.errors import ContextLengthExceeded
from storyframe_openrouter.plan_prompts import (
    PROMPT_VERSION,
    Item,
    batch_messages,
    beats_messages,
    story_messages,
)
from storyframe_openrouter.planner import Spec, even_pick, gaps, gather, write_all
from storyframe_openrouter.schema import (
    BATCH_SCHEMA_NAME,
    BEATS_SCHEMA_NAME,
    STORY_SCHEMA_NAME,
    AnswerError,
    BatchAnswer,
    BeatsAnswer,
    SceneAnswer,
    StoryAnswer,
    parse_answer,
    response_format,
    strict_schema,
)
from storyframe_openrouter.validate import locate

if TYPE_CHECKING:
    from storyframe_openrouter.text import OpenRouterTextProvider

log = logging.getLogger("storyframe.openrouter")
_schema = functools.cache(strict_schema)
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)]*(?=\s|$)")


def quick_counts(story: str) -> tuple[int, int, int]:
    """Words, sentences and paragraphs by simple patterns, for novels (the heuristic's exact
    counting takes seconds on a megabyte)."""
    blocks = [b for b in re.split(r"\n\s*\n", story) if b.strip()]
    if len(blocks) < 3:
        blocks = [line for line in story.splitlines() if line.strip()]
    return len(story.split()), len(_SENTENCE_END.findall(story)), len(blocks)


@dataclass
class Plan:
    """What the planner learned from one story."""

    sha256: str
    analysis: StoryAnalysis
    scenes: list[SceneAnswer] | None = None
    beats: list[Beat] | None = None


def _sha(story: str) -> str:
    return hashlib.sha256(story.encode()).hexdigest()


def _plan(provider: OpenRouterTextProvider, story: str) -> Plan | None:
    plan = provider.plan
    return plan if isinstance(plan, Plan) and plan.sha256 == _sha(story) else None


async def _room(provider: OpenRouterTextProvider) -> tuple[int, int]:
    """Tokens one call may use in all, and the largest answer worth asking for."""
    limits = await provider.limits()
    return int(limits.context_length * provider.settings.context_share), limits.output_cap()


async def fits_one_call(provider: OpenRouterTextProvider, story: str, answer: int) -> bool:
    """Whether the story plus an answer of ``answer`` tokens fits one call comfortably."""
    room, cap = await _room(provider)
    want = int(answer * 1.5) + 300
    return want <= cap and budget.estimate_tokens(story) + budget.CALL_OVERHEAD + want <= room


async def analyze(provider: OpenRouterTextProvider, story: str) -> StoryAnalysis:
    """The analysis, from the one call that also writes the scenes, or from the beats."""
    from storyframe_openrouter.text import count_mentions, to_analysis

    known = _plan(provider, story)
    if known is not None:
        return known.analysis
    job = provider.job
    if job is None and await fits_one_call(provider, story, budget.ANALYSIS_TOKENS):
        return await provider.analyze_alone(story)
    count = job.scenes if job is not None else None
    high = count if count is not None else (job.scene_range[1] if job is not None else 12)
    answer = budget.ANALYSIS_TOKENS + high * budget.SCENE_TOKENS
    if job is not None and await fits_one_call(provider, story, answer):
        messages = story_messages(story, None, count, job.scene_range)
        body = provider._body(
            messages,
            response_format(STORY_SCHEMA_NAME, _schema(StoryAnswer)),
            max_tokens=await provider.max_tokens(messages, answer),
        )
        try:
            whole = await provider._structured(
                body, lambda text: parse_answer(text, StoryAnswer), purpose="analysis and scenes"
            )
        except ContextLengthExceeded as error:  # our estimate was low: plan by beats instead
            log.info("%s: %s; planning by beats", provider.name, error.message)
        else:
            analysis = to_analysis(whole, story)
            provider.plan = Plan(_sha(story), analysis, scenes=list(whole.scenes))
            return analysis
    beats, answers = await _beats(provider, story)
    analysis = merge_analysis(answers, quick_counts(story))
    count_mentions(story, analysis.characters)
    provider.plan = Plan(_sha(story), analysis, beats=beats)
    return analysis


async def _beats(
    provider: OpenRouterTextProvider, story: str
) -> tuple[list[Beat], list[BeatsAnswer]]:
    """Every chunk's beats, asked for concurrently; cached answers cost nothing."""
    cfg = provider.settings
    room, cap = await _room(provider)
    per_token = 1.5 * budget.BEAT_TOKENS / cfg.beat_tokens
    fixed = budget.CALL_OVERHEAD + int(1.5 * budget.ANALYSIS_TOKENS) + 300
    by_room = int((room - fixed) / (1 + per_token))
    by_cap = int((cap - 300 - 1.5 * budget.ANALYSIS_TOKENS) / per_token)
    size = max(500, min(cfg.chunk_tokens, by_room, by_cap))
    chunks = budget.split_story(story, size)
    folder = provider.job.cache_dir if provider.job is not None else None

    async def one(chunk: budget.Chunk) -> BeatsAnswer:
        count = budget.beats_for(chunk, cfg.beat_tokens)
        key = cache_key(cfg.model, PROMPT_VERSION, count, chunk.text)
        cached = load_cached(folder, key)
        if cached is not None:
            return cached
        messages = beats_messages(chunk.text, chunk.index + 1, len(chunks), count)
        expected = budget.ANALYSIS_TOKENS + count * budget.BEAT_TOKENS
        body = provider._body(
            messages,
            response_format(BEATS_SCHEMA_NAME, _schema(BeatsAnswer)),
            max_tokens=await provider.max_tokens(messages, expected),
        )
        answer = await provider._structured(
            body,
            lambda text: parse_answer(text, BeatsAnswer),
            purpose=f"beats {chunk.index + 1}/{len(chunks)}",
        )
        store(folder, key, answer)
        return answer

    answers = await gather(*(one(c) for c in chunks))
    beats = [b for c, a in zip(chunks, answers, strict=True) for b in place_beats(story, c, a)]
    return beats, answers


async def generate_scenes(
    provider: OpenRouterTextProvider,
    story: str,
    n: int,
    style: Style,
    analysis: StoryAnalysis | None,
) -> list[Scene]:
    """``n`` checked scenes in story order, each with its source span."""
    from storyframe_openrouter.text import story_counts

    plan = _plan(provider, story)
    # Only a short story can have fewer sentences than scenes (200 at most).
    fewer_ok = len(story) < 40_000 and story_counts(story)[1] < n
    if plan is None and await fits_one_call(provider, story, n * budget.SCENE_TOKENS):
        answers = await provider.scenes_alone(story, n, style, analysis)
        specs = _specs_from_answers(story, answers, n, fewer_ok=fewer_ok)
    else:
        if plan is None:
            await analyze(provider, story)
            plan = _plan(provider, story)
            assert plan is not None
        analysis = analysis or plan.analysis
        if plan.scenes is not None:
            specs = _specs_from_answers(story, plan.scenes, n, fewer_ok=fewer_ok)
        else:
            specs = _specs_from_beats(plan.beats or [], n)
    return await write_all(
        story,
        specs,
        write=lambda items, context, purpose: _write(
            provider, items, context, purpose, style, analysis
        ),
        batch_size=await _batch_size(provider),
        passage_chars=provider.settings.passage_chars,
        analysis=analysis,
        style=style,
        provider=provider.name,
    )


def _specs_from_beats(beats: list[Beat], n: int) -> list[Spec]:
    chosen = choose(beats, n)
    return [
        Spec(beats[i].start, beats[i].end, beats[i].line(), neighbours(beats, [i])) for i in chosen
    ]


def _specs_from_answers(
    story: str, answers: list[SceneAnswer], n: int, *, fewer_ok: bool
) -> list[Spec]:
    """Specs for scenes written in one call: spans from anchors, the count set to ``n``."""
    starts: list[int | None] = []
    cursor = 0
    for answer in answers:
        found = locate(story, answer.anchor, cursor)
        if found is None:
            found = locate(story, answer.anchor)  # out of order: sorted below
        starts.append(found)
        if found is not None and found >= cursor:
            cursor = found + 1
    step = len(story) // max(1, len(answers))
    placed = [s if s is not None else i * step for i, s in enumerate(starts)]
    order = sorted(range(len(answers)), key=lambda i: placed[i])
    if len(order) > n:
        order = [order[k] for k in even_pick(len(order), n)]
    specs = [Spec(placed[i], 0, answer=answers[i]) for i in order]
    if len(specs) < n and not fewer_ok:
        spans = [(s.start, s.end) for s in specs]
        specs += [Spec(a, b) for a, b in gaps(spans, n - len(specs), len(story))]
        specs.sort(key=lambda s: s.start)
    for spec, following in zip(specs, [*specs[1:], None], strict=True):
        spec.end = following.start if following is not None else len(story)
        spec.end = max(spec.end, spec.start + 1)
    return specs


async def _batch_size(provider: OpenRouterTextProvider) -> int:
    """The most scenes one writing call can take, by output limit and by context room."""
    cfg = provider.settings
    room, cap = await _room(provider)
    per_scene_out = int(1.5 * budget.SCENE_TOKENS)
    per_scene_in = cfg.passage_chars // 4 + 80
    fixed = budget.CALL_OVERHEAD + 1500 + 800 + 300  # instructions, cast, nearby beats
    by_cap = (cap - 300) // per_scene_out
    by_room = (room - fixed) // (per_scene_out + per_scene_in)
    return max(1, min(cfg.scene_batch, by_cap, by_room))


async def _write(
    provider: OpenRouterTextProvider,
    items: Sequence[Item],
    context: list[str],
    purpose: str,
    style: Style,
    analysis: StoryAnalysis | None,
) -> list[SceneAnswer | None]:
    """One batch call; an unusable answer leaves its items to the repair round."""
    names = _cast_for(analysis, items)
    messages = batch_messages(items, analysis, names, context, style)
    body = provider._body(
        messages,
        response_format(BATCH_SCHEMA_NAME, _schema(BatchAnswer)),
        max_tokens=await provider.max_tokens(messages, len(items) * budget.SCENE_TOKENS),
    )
    completion = await provider.complete(body, purpose)
    try:
        answer = parse_answer(completion.content, BatchAnswer)
    except AnswerError:
        return [None] * len(items)
    by_ref = {scene.ref: scene for scene in answer.scenes}
    if all(item.ref in by_ref for item in items):
        return [by_ref[item.ref] for item in items]
    if len(answer.scenes) == len(items):  # refs garbled but one answer per item, in order
        return list(answer.scenes)
    return [by_ref.get(item.ref) for item in items]


def _cast_for(analysis: StoryAnalysis | None, items: Sequence[Item]) -> list[str]:
    """The characters named in the items' beats or passages (all, for a small cast)."""
    if analysis is None:
        return []
    if len(analysis.characters) <= 12:
        return [c.name for c in analysis.characters]
    text = " ".join(f"{item.beat} {item.passage}" for item in items).casefold()
    return [
        c.name
        for c in analysis.characters
        if any(name.casefold() in text for name in (c.name, *c.aliases) if name)
    ][:16]
