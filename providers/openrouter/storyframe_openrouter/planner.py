"""The reduce step: write the chosen scenes in batches, check them, repair the bad ones alone.

Every scene to write is a :class:`Spec`: its place in the storyboard, its source span and the
beat it shows. Specs are written in batches (each with the cast and the beats around it), all
batches at once within the provider's concurrency. Then each scene is checked
(:mod:`storyframe_openrouter.validate`); a missing or failing scene is asked for again on its
own, with the reason and its passage, in one round. No call here sends the whole story.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from storyframe.errors import BadResponse
from storyframe.models import Scene, StoryAnalysis, Style
from storyframe_openrouter.plan_prompts import Item
from storyframe_openrouter.schema import SceneAnswer
from storyframe_openrouter.validate import cap_scene, near_duplicates, scene_problems

T = TypeVar("T")


async def gather(*calls: Awaitable[T]) -> list[T]:
    """Run ``calls`` concurrently; the first failure cancels the rest and is raised as is."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_await(call)) for call in calls]
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]


async def _await(call: Awaitable[T]) -> T:
    return await call


WriteBatch = Callable[[Sequence[Item], list[str], str], Awaitable[list[SceneAnswer | None]]]
"""``(items, context lines, purpose) -> one answer (or None) per item, in item order``."""


@dataclass
class Spec:
    """One scene to write: its span of the story, the beat it shows, the beats around it."""

    start: int
    end: int
    beat: str = ""
    context: list[str] = field(default_factory=list)
    answer: SceneAnswer | None = None
    problem: str = ""


def passage(story: str, spec: Spec, limit: int) -> str:
    """The scene's source passage, at most ``limit`` characters, cut at a word."""
    text = story[spec.start : max(spec.end, spec.start + 1)]
    if len(text) > limit:
        cut = text[:limit]
        text = cut[: cut.rfind(" ")] if " " in cut[limit // 2 :] else cut
    return text.strip()


def check(specs: list[Spec], analysis: StoryAnalysis | None, style: Style) -> list[int]:
    """Set each spec's ``problem``; returns the indices of the specs that need a repair."""
    for spec in specs:
        if spec.answer is None:
            spec.problem = spec.problem or "no scene was written for it"
            continue
        spec.answer = cap_scene(spec.answer)
        spec.problem = "; ".join(scene_problems(spec.answer, analysis=analysis, style=style))
    written = [i for i, s in enumerate(specs) if s.answer is not None and not s.problem]
    prompts = [a.image_prompt for i in written if (a := specs[i].answer) is not None]
    for later, earlier in near_duplicates(prompts).items():
        specs[written[later]].problem = (
            f"its image_prompt nearly repeats scene {written[earlier] + 1}'s; show another "
            "moment of this passage, with a different composition"
        )
    return [i for i, s in enumerate(specs) if s.problem]


async def write_all(
    story: str,
    specs: list[Spec],
    *,
    write: WriteBatch,
    batch_size: int,
    passage_chars: int,
    analysis: StoryAnalysis | None,
    style: Style,
    provider: str,
) -> list[Scene]:
    """Write every spec that has no answer yet, check all, repair once, and build the scenes."""

    def item(index: int) -> Item:
        spec = specs[index]
        return Item(
            ref=index + 1,
            passage=passage(story, spec, passage_chars),
            beat=spec.beat,
            repair=spec.problem,
        )

    async def run(indices: list[int], purpose: str) -> None:
        context = [line for i in indices for line in specs[i].context]
        answers = await write([item(i) for i in indices], list(dict.fromkeys(context)), purpose)
        for index, answer in zip(indices, answers, strict=True):
            if answer is not None:
                specs[index].answer = answer

    todo = [i for i, s in enumerate(specs) if s.answer is None]
    batches = [todo[k : k + batch_size] for k in range(0, len(todo), batch_size)]
    await gather(*(run(b, f"scenes {b[0] + 1}-{b[-1] + 1}") for b in batches if b))
    failing = check(specs, analysis, style)
    if failing:
        for i in failing:  # the repair starts from the reason, not from the rejected answer
            specs[i].answer = None
        await gather(*(run([i], f"repair scene {i + 1}") for i in failing))
        still = check(specs, analysis, style)
        if still:
            first = specs[still[0]]
            raise BadResponse(
                f"invalid answer: scene {still[0] + 1} still unusable after a repair: "
                f"{first.problem}" + (f" (and {len(still) - 1} more)" if len(still) > 1 else ""),
                provider=provider,
                code="invalid_answer",
                hint="Try another [providers.openrouter] model.",
            )
    return [to_scene(number, spec, analysis) for number, spec in enumerate(specs, start=1)]


def to_scene(number: int, spec: Spec, analysis: StoryAnalysis | None) -> Scene:
    """The storyboard scene for a checked spec, with canonical character names."""
    answer = spec.answer
    assert answer is not None
    names: list[str] = []
    for name in answer.characters:
        known = analysis.character(name) if analysis is not None else None
        canonical = known.name if known is not None else name.strip()
        if canonical and canonical not in names:
            names.append(canonical)
    return Scene(
        number=number,
        title=answer.title,
        description=answer.description,
        image_prompt=answer.image_prompt,
        characters=names,
        place=answer.place,
        time_of_day=answer.time_of_day,
        shot=answer.shot,
        camera=answer.camera,
        source_start=spec.start,
        source_end=max(spec.end, spec.start),
    )


def even_pick(count: int, n: int) -> list[int]:
    """``n`` of ``range(count)`` spread evenly, first and last included."""
    if n >= count:
        return list(range(count))
    if n == 1:
        return [0]
    return sorted({round(k * (count - 1) / (n - 1)) for k in range(n)})


def gaps(spans: list[tuple[int, int]], total: int, story_len: int) -> list[tuple[int, int]]:
    """``total`` new spans in the largest stretches of story no span covers yet."""
    edges = sorted({0, story_len, *(s for s, _ in spans)})
    stretches = [(b - a, a, b) for a, b in itertools.pairwise(edges) if b > a]
    out: list[tuple[int, int]] = []
    while len(out) < total and stretches:
        stretches.sort(reverse=True)
        size, a, b = stretches.pop(0)
        middle = a + size // 2
        out.append((middle, b))
        stretches += [(middle - a, a, middle), (b - middle, middle, b)]
    return out
