"""Takes and variants: every image drawn for a scene is kept; one of them is chosen.

A scene's ``variants`` list every image drawn for it, in the order drawn, numbered from 1;
``record.image`` is the chosen one. Variant 1 is ``images/scene-03.png``, the later ones
``images/scene-03-v2.png`` and so on: a new image never overwrites another variant's file (only
a chosen image that is missing or damaged is drawn again in its place).

- A *take* (``images --scene N --reseed | --seed S | --prompt TEXT``) draws one new image and
  chooses it. Until it is drawn the scene is ``pending`` with the take's seed and prompt, so a
  run killed mid-take finishes that very take (recovering the paid work) on the next run.
- *Candidates* (``--variants K``) top a scene up to K images of its current prompt. The first
  drawn stays chosen: a candidate is drawn while the scene stays ``done``, and a candidate in
  flight is a ``done`` scene with paid work journaled (``record.job``, with its seed).

Seeds are reproducible: a scene's seeds are its usual seed (:func:`~storyframe.prompts.scene_seed`)
then a sequence derived from the story seed and the scene number; a new take or candidate gets
the first one of the sequence not yet drawn.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from storyframe.errors import InputError
from storyframe.models import ImageFile, SceneRecord, Storyboard, Variant, utcnow
from storyframe.prompts import MAX_SEED, scene_seed

if TYPE_CHECKING:
    from storyframe.drawing import DrawResult, SceneDrawer
    from storyframe.image_chain import ImageChain
    from storyframe.project import Project


@dataclass(frozen=True)
class Take:
    """A new take of one scene: a given ``seed``, or (``None``) a seed not drawn before.

    ``reseed`` asks for a seed no image of the scene was drawn with, whatever its prompt;
    otherwise the first seed not drawn with the scene's current prompt.
    """

    seed: int | None = None
    reseed: bool = False


def seed_sequence(base: int, number: int) -> Iterator[int]:
    """The seeds of scene ``number`` in the order takes use them: its usual seed first."""
    yield scene_seed(base, number)
    index = 1
    while True:
        digest = hashlib.sha256(f"{base}:{number}:take:{index}".encode()).digest()
        yield int.from_bytes(digest[:4], "big") % (MAX_SEED + 1)
        index += 1


def next_seed(base: int, number: int, used: set[int]) -> int:
    """The first seed of the scene's sequence that is not in ``used``."""
    return next(seed for seed in seed_sequence(base, number) if seed not in used)


def ensure_variants(record: SceneRecord) -> None:
    """Give a record made before variants existed its drawn image as variant 1."""
    if record.variants or record.image is None:
        return
    record.variants = [
        Variant(
            image=record.image,
            seed=record.seed,
            prompt=record.prompt,
            provider=record.provider,
            model=record.model,
            cost=record.cost,
            created_at=record.finished_at or utcnow(),
        )
    ]


def drawn_seeds(record: SceneRecord, prompt: str | None = None) -> set[int]:
    """The seeds of the scene's images (drawn with ``prompt``, if given)."""
    return {
        v.seed
        for v in record.variants
        if v.seed is not None and (prompt is None or v.prompt == prompt)
    }


def count_drawn(record: SceneRecord, prompt: str) -> int:
    """How many images of the scene were drawn with ``prompt`` (a record without variants
    counts its image)."""
    if not record.variants:
        return int(record.image is not None and record.prompt == prompt)
    return sum(1 for v in record.variants if v.prompt == prompt)


def was_drawn(record: SceneRecord, prompt: str) -> bool:
    """Whether an image of the scene was drawn with ``prompt`` (the chosen one or another)."""
    return record.prompt == prompt or any(v.prompt == prompt for v in record.variants)


def take_seed(base: int, record: SceneRecord, prompt: str, take: Take) -> int:
    """The seed of a new take of ``record`` whose composed prompt is ``prompt``."""
    if take.seed is not None:
        return take.seed
    used = drawn_seeds(record, None if take.reseed else prompt)
    if take.reseed and record.seed is not None and not record.variants:
        used.add(record.seed)
    return next_seed(base, record.scene.number, used)


def chosen_number(record: SceneRecord) -> int | None:
    """The number (from 1) of the chosen variant, ``None`` when no variant is chosen."""
    if record.image is None:
        return None
    for index, variant in enumerate(record.variants, 1):
        if variant.image.path == record.image.path and variant.image.sha256 == record.image.sha256:
            return index
    return None


def variant_slot(record: SceneRecord, project: Project, *, replace_broken: bool = True) -> int:
    """The variant number a new image of the scene takes: the next one, or the chosen one's
    when its file is missing or damaged (``replace_broken``)."""
    ensure_variants(record)
    if replace_broken and record.image is not None and not project.image_intact(record.image):
        chosen = chosen_number(record)
        if chosen is not None:
            return chosen
    taken = {project.variant_stem(v.image.path) for v in record.variants}
    slot = len(record.variants) + 1
    while project.variant_stem(project.image_path(record.scene.number, "", slot).name) in taken:
        slot += 1
    return slot


def keep_variant(
    record: SceneRecord,
    slot: int,
    image: ImageFile,
    *,
    seed: int | None,
    prompt: str,
    provider: str | None,
    model: str | None,
    cost: float | None,
) -> Variant:
    """Record ``image`` as variant ``slot`` of the scene (replacing it, or appended).

    The very image of variant ``slot`` drawn again (see :func:`earlier_copy`) stays that
    variant, which now also counts what the new request cost.
    """
    variants = list(record.variants)
    if slot <= len(variants) and variants[slot - 1].image == image:
        same = variants[slot - 1]
        total = None if same.cost is None or cost is None else round(same.cost + cost, 8)
        variants[slot - 1] = same.model_copy(update={"cost": total})
        record.variants = variants
        return variants[slot - 1]
    variant = Variant(
        image=image, seed=seed, prompt=prompt, provider=provider, model=model, cost=cost
    )
    if slot <= len(variants):
        variants[slot - 1] = variant
    else:
        variants.append(variant)
    record.variants = variants
    return variant


def earlier_copy(record: SceneRecord, image: ImageFile, project: Project) -> int | None:
    """The number of an earlier variant whose file holds the very bytes of ``image`` (a redraw
    with the same seed and prompt), ``None`` if there is none."""
    for number, variant in enumerate(record.variants, 1):
        if (
            variant.image.sha256 == image.sha256
            and variant.image.path != image.path
            and project.image_intact(variant.image)
        ):
            return number
    return None


def choose(record: SceneRecord, number: int) -> Variant:
    """Make variant ``number`` (from 1) the scene's chosen image; ``InputError`` if it has no
    such variant."""
    ensure_variants(record)
    count = len(record.variants)
    if not 1 <= number <= count:
        scene = record.scene.number
        valid = "it has no images yet" if not count else f"its variants are {_span(count)}"
        raise InputError(
            f"scene {scene} has no variant {number}; {valid}.",
            hint=f"See `storyframe show PROJECT {scene}`.",
        )
    variant = record.variants[number - 1]
    record.image = variant.image
    record.seed, record.prompt = variant.seed, variant.prompt
    record.provider, record.model, record.cost = variant.provider, variant.model, variant.cost
    return variant


def restore_chosen(record: SceneRecord) -> None:
    """Put back the chosen variant's seed and prompt (a take that was not drawn after all)."""
    chosen = chosen_number(record)
    if chosen is not None:
        variant = record.variants[chosen - 1]
        record.seed, record.prompt = variant.seed, variant.prompt


def scene_spend(record: SceneRecord) -> tuple[float, int, int]:
    """What the scene's images cost: the known sum, how many have no known cost, how many."""
    if not record.variants:
        if record.status != "done" or record.image is None:
            return 0.0, 0, 0
        return record.cost or 0.0, int(record.cost is None), 1
    known = sum(v.cost or 0.0 for v in record.variants)
    return known, sum(1 for v in record.variants if v.cost is None), len(record.variants)


def plan_extras(
    board: Storyboard,
    todo: list[SceneRecord],
    prompts: dict[int, str],
    variants: int,
    takes: Mapping[int, Take],
) -> dict[int, int]:
    """How many candidates each scene gets after its main image: up to ``variants`` images
    of its current prompt, and at least one for a candidate left in flight."""
    drawing = {r.scene.number for r in todo}
    extras: dict[int, int] = {}
    for number, prompt in prompts.items():
        record = board.record(number)
        if number in takes or not record.approved:
            continue
        count = variants - count_drawn(record, prompt) - (number in drawing)
        in_flight = (
            number not in drawing
            and record.status == "done"
            and record.job is not None
            and record.fallback is None
        )
        if in_flight:
            count = max(count, 1)
        if count > 0:
            extras[number] = count
    return extras


@dataclass
class Rounds:
    """What :func:`draw_in_rounds` did over all its rounds."""

    result: DrawResult
    held: list[int]
    spent: list[float | None]
    """The cost of each image bought in this command (``None``: unknown)."""


async def draw_in_rounds(
    drawer: SceneDrawer,
    chain: ImageChain,
    first: list[SceneRecord],
    *,
    seeds: dict[int, int],
    extras: dict[int, int],
    prompts: dict[int, str],
    concurrency: int,
    stop_at: dict[int, str],
) -> Rounds:
    """Draw ``first`` (main images and takes, with ``seeds``), then ``extras[n]`` candidates
    of scene ``n``, a round at a time: a scene has one piece of paid work in flight at most.

    A scene that fails or is held by the budget gets no later round. Each round's budget
    reservations are settled with what its images cost before the next round is admitted.
    """
    from storyframe.drawing import DrawResult

    board, budget = drawer.board, drawer.budget
    total = DrawResult()
    held: list[int] = []
    spent: list[float | None] = []
    asked: dict[int, set[int]] = {}
    stopped: set[int] = set()
    for round_number in range(1 + max(extras.values(), default=0)):
        if round_number == 0:
            records, round_seeds, candidates = first, dict(seeds), set()
        else:
            records = [
                board.record(n)
                for n, count in extras.items()
                if count >= round_number and n not in stopped
            ]
            round_seeds = {}
            for record in records:
                number = record.scene.number
                job = record.job
                if job is not None and job.seed is not None:  # a candidate left in flight
                    round_seeds[number] = job.seed
                else:
                    used = drawn_seeds(record, prompts[number]) | asked.get(number, set())
                    round_seeds[number] = next_seed(board.settings.seed, number, used)
            candidates = {r.scene.number for r in records}
        if not records:
            continue
        for number, seed in round_seeds.items():
            asked.setdefault(number, set()).add(seed)
        drawer.result, drawer.seeds, drawer.candidates = DrawResult(), round_seeds, candidates
        result = await drawer.run(
            chain, records, concurrency=concurrency, stop_at=stop_at if round_number == 0 else {}
        )
        held.extend(n for n in drawer.held if n not in held)
        stopped |= set(result.failed) | set(drawer.held)
        for record in records:
            number = record.scene.number
            cost: float | None = 0.0
            if number in result.variants and number not in result.recovered:
                cost = record.variants[result.variants[number] - 1].cost
                spent.append(cost)
            if budget is not None and number in budget.reserved:
                budget.settle(number, cost)
        total.done.extend(n for n in result.done if n not in total.done)
        total.recovered.extend(n for n in result.recovered if n not in total.recovered)
        total.failed.update(result.failed)
        total.providers.update(result.providers)
        total.kept_fallbacks.extend(result.kept_fallbacks)
    return Rounds(total, held, spent)


def _span(count: int) -> str:
    return "only 1" if count == 1 else f"1 to {count}"


__all__ = [
    "Rounds",
    "Take",
    "choose",
    "chosen_number",
    "count_drawn",
    "draw_in_rounds",
    "drawn_seeds",
    "earlier_copy",
    "ensure_variants",
    "keep_variant",
    "next_seed",
    "plan_extras",
    "restore_chosen",
    "scene_spend",
    "seed_sequence",
    "take_seed",
    "variant_slot",
    "was_drawn",
]
