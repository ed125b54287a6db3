"""``--dry-run`` and ``--max-cost`` for ``run``, ``scenes`` and ``images`` (see storyframe.cost).

A dry run builds the providers the command would use, asks each for an estimate (no paid call:
at most OpenRouter's free ``GET /models``, usually cached), prints the plan and writes nothing.
"""

from __future__ import annotations

import json
import math
import shlex
import sys
from typing import TYPE_CHECKING, Any

import click

from storyframe.cli.base import EXIT_BUDGET

if TYPE_CHECKING:
    from storyframe.config import Config
    from storyframe.cost import Budget, CostEstimate, RunPlan, StagePlan
    from storyframe.models import ImageRequest, RunSettings, Storyboard
    from storyframe.project import Project
    from storyframe.providers import ImageProvider, TextProvider
    from storyframe.registry import Registry
    from storyframe.story import StoryText

max_cost_option = click.option(
    "--max-cost",
    "max_cost",
    type=click.FloatRange(min=0),
    metavar="USD",
    help="Spend at most USD in this command: no paid request starts that could pass it; "
    f"what is left stays to draw (exit {EXIT_BUDGET}).",
)
dry_run_option = click.option(
    "--dry-run",
    "dry_run",
    is_flag=True,
    help="Print the plan (scenes, requests, estimated cost and time); send and write nothing.",
)


def _first(slots: list[Any]) -> Any:
    """The first slot of a chain that can work now (has its key, or needs none)."""
    return next((slot for slot in slots if slot.configured), None)


def _existing(project: Project, story: StoryText | None) -> Storyboard | None:
    """The project's manifest when it holds the scenes of this story (a resume), else None."""
    if not project.manifest_path.exists():
        return None
    try:
        board = project.load()
    except Exception:
        return None
    if story is not None and board.story.sha256 != story.sha256:
        return None
    return board if board.scenes else None


def _scene_count(config: Config, settings: RunSettings, story: StoryText) -> tuple[int, str]:
    """The scene count, with how it was found ("auto" asks the offline analysis)."""
    if isinstance(settings.scenes, int):
        return settings.scenes, ""
    low, high = config.run.auto_min, config.run.auto_max
    try:
        from storyframe.builtins.analysis import analyze_document
        from storyframe.builtins.textsplit import prepare

        recommended = analyze_document(prepare(story.text)).recommended_scenes
    except Exception:
        recommended = (low + high) // 2
    return min(max(recommended, low), high), f"auto: about this many, within {low}-{high}"


async def text_estimate(
    registry: Registry, settings: RunSettings, story: StoryText, scenes: int
) -> StagePlan:
    """The text stage of the plan: the first usable text provider's estimate."""
    from storyframe.cost import StagePlan
    from storyframe.providers import TextJob

    slot = _first(registry.text_slots(settings.text_providers))
    if slot is None:
        return StagePlan("text", "-", "", scenes, None, "no text provider can run")
    provider: TextProvider = slot.build()
    provider.job = TextJob(scenes, (1, 200), None)
    async with provider:
        estimate = await provider.estimate(story.text, scenes)
    return StagePlan("text", slot.name, provider.model_name, scenes, estimate)


async def image_estimate(
    registry: Registry, names: list[str], requests: list[ImageRequest], concurrency: int
) -> StagePlan:
    """The images stage of the plan: the first usable image provider's estimate per request."""
    from storyframe.cost import StagePlan, image_plan

    slot = _first(registry.image_slots(names))
    if slot is None:
        return StagePlan("images", "-", "", len(requests), None, "no image provider can run")
    provider: ImageProvider = slot.build()
    async with provider:
        estimates = [await provider.estimate(r) for r in requests]
    plan = image_plan(slot.name, provider.model_name, estimates, len(requests))
    if plan.estimate is not None and requests:
        batch = max(1, int(getattr(provider.config, "batch_size", 1)))
        parallel = batch * max(1, min(concurrency, provider.config.concurrency))
        waves = math.ceil(len(requests) / parallel)
        per = plan.estimate.model_copy(
            update={
                "requests": math.ceil(len(requests) / batch),
                "seconds_low": estimates[0].seconds_low * waves if estimates[0] else 0.0,
                "seconds_high": estimates[0].seconds_high * waves if estimates[0] else 0.0,
                "detail": f"{len(requests)} image(s) at {requests[0].width}x{requests[0].height}",
            }
        )
        plan.estimate = per
    return plan


def _placeholder_requests(settings: RunSettings, style: Any, count: int) -> list[ImageRequest]:
    from storyframe.models import ImageRequest

    return [
        ImageRequest(
            scene_number=n,
            prompt="scene",
            width=settings.width,
            height=settings.height,
            seed=0,
            style=style,
        )
        for n in range(1, count + 1)
    ]


def todo_requests(
    board: Storyboard, style: Any, *, only: tuple[int, ...], redraw: bool, variants: int = 1
) -> list[ImageRequest]:
    """The requests ``images`` would send: approved scenes not drawn (or asked for again),
    and the candidates that would top each scene up to ``variants`` images of its prompt."""
    from storyframe.prompts import build_request
    from storyframe.takes import count_drawn

    out = []
    for record in board.scenes:
        number = record.scene.number
        if only and number not in only:
            continue
        if not record.approved:
            continue
        first = int(record.status != "done" or redraw or bool(only))
        request = build_request(
            record.scene,
            style,
            board.analysis,
            base_seed=board.settings.seed,
            width=board.settings.width,
            height=board.settings.height,
        )
        out.extend([request] * max(first, variants - count_drawn(record, request.prompt)))
    return out


async def plan_story(
    config: Config,
    registry: Registry,
    story: StoryText,
    settings: RunSettings,
    project: Project,
    *,
    draw: bool,
    force: bool,
    max_cost: float | None,
    variants: int = 1,
    references: bool | None = None,
) -> RunPlan:
    """The plan of ``run`` (``draw``) or ``scenes`` for ``story``."""
    from storyframe.cost import RunPlan, StagePlan, free

    style = registry.style(settings.style)
    board = None if force else _existing(project, story)
    if board is not None:
        count, how = len(board.scenes), "already written; resuming"
        stages = [StagePlan("text", board.text_provider or "-", "", 0, free(0), "nothing to do")]
    else:
        count, how = _scene_count(config, settings, story)
        stages = [await text_estimate(registry, settings, story, count)]
    concurrency = config.run.concurrency
    if draw:
        if board is not None:
            requests = todo_requests(board, style, only=(), redraw=False, variants=variants)
        else:
            requests = _placeholder_requests(settings, style, count) * variants
        if requests and (config.image.references if references is None else references):
            stages.append(
                await sheet_estimate(config, registry, settings, board, project, style, concurrency)
            )
        stages.append(
            await image_estimate(
                registry, settings.image_providers, requests, config.run.concurrency
            )
        )
    return RunPlan(str(project.folder), count, how, stages, max_cost)


async def plan_images(
    config: Config,
    registry: Registry,
    project: Project,
    board: Storyboard,
    names: list[str] | None,
    *,
    only: tuple[int, ...],
    redraw: bool,
    concurrency: int | None,
    max_cost: float | None,
    variants: int = 1,
    references: bool | None = None,
) -> RunPlan:
    """The plan of ``images`` for an existing project."""
    from storyframe.cost import RunPlan

    style = registry.style(board.settings.style)
    requests = todo_requests(board, style, only=only, redraw=redraw, variants=variants)
    stages = []
    if requests and (config.image.references if references is None else references):
        settings = board.settings.model_copy(
            update={"image_providers": names or board.settings.image_providers}
        )
        stages.append(
            await sheet_estimate(
                config, registry, settings, board, project, style,
                concurrency or config.run.concurrency,
            )
        )  # fmt: skip
    stages.append(
        await image_estimate(
            registry,
            names or board.settings.image_providers,
            requests,
            concurrency or config.run.concurrency,
        )
    )
    return RunPlan(
        str(project.folder), len(board.scenes), f"{len(requests)} to draw", stages, max_cost
    )


async def sheet_estimate(
    config: Config,
    registry: Registry,
    settings: RunSettings,
    board: Storyboard | None,
    project: Project,
    style: Any,
    concurrency: int,
) -> StagePlan:
    """The sheets stage of a plan: the main characters' sheets not drawn yet.

    Before the scenes are written the characters are unknown: ``[image] sheets`` is the most.
    """
    from storyframe.characters import main_characters, sheet_size, useless_sheets
    from storyframe.cost import StagePlan, free
    from storyframe.models import ImageRequest
    from storyframe.sheets import needs_drawing

    if board is not None:
        have = {s.name: s for s in board.sheets}
        cast = main_characters(board, config.image.sheets)
        count = sum(c.name not in have or needs_drawing(project, have[c.name]) for c in cast)
        note = f"{count} of {len(cast)} main characters' sheets to draw"
        width, height = sheet_size(board)
    else:
        count = config.image.sheets
        note = f"up to {count} main characters"
        width, height = min(settings.width, settings.height), max(settings.width, settings.height)
    requests = [
        ImageRequest(scene_number=1000 + n, prompt="sheet", width=width, height=height, seed=0,
                     style=style)
        for n in range(1, count + 1)
    ]  # fmt: skip
    slot = _first(registry.image_slots(settings.image_providers))
    if slot is not None and count:
        async with slot.build() as provider:
            useless = useless_sheets(provider)
        if useless is not None:  # the scenes' provider takes no references: none is drawn
            nothing = free(0).model_copy(update={"basis": "not drawn"})
            return StagePlan("sheets", slot.name, provider.model_name, 0, nothing, useless)
    stage = await image_estimate(registry, settings.image_providers, requests, concurrency)
    stage.stage, stage.note = "sheets", note
    return stage


def print_plan(plan: RunPlan, *, as_json: bool) -> None:
    """Print the plan (text or JSON)."""
    if as_json:
        click.echo(json.dumps(plan.as_dict(), indent=2))
    else:
        for line in plan.lines():
            click.echo(line)


def text_within_budget(estimate: CostEstimate | None, budget: Budget, paid: bool) -> str | None:
    """Why the text stage may not start under ``budget`` (``None``: it may)."""
    from storyframe.cost import usd

    if estimate is None:
        return "the text provider's price is unknown (set price_per_1k_tokens)" if paid else None
    if budget.committed + estimate.high > budget.limit + 1e-12:
        return f"writing the scenes may cost up to {usd(estimate.high)}"
    return None


def budget_stop(summary: Any) -> None:
    """Say what the budget left undone and how to go on; exit :data:`EXIT_BUDGET`."""
    from storyframe.cost import usd

    held = sorted(summary.held)
    plural = "s" if len(held) != 1 else ""
    click.echo(
        f"Budget reached: spent {usd(summary.spent)} in this run; scene{plural} "
        f"{', '.join(map(str, held))} left to draw (saved; nothing drawn is paid for twice). "
        "Run the same command again with a larger --max-cost, or without it, to finish "
        f"(or `{resume_command(summary.project)} --max-cost USD`).",
        err=True,
    )
    sys.exit(EXIT_BUDGET)


def resume_command(folder: Any) -> str:
    """The command that finishes a project's drawing."""
    return f"storyframe images {shlex.quote(str(folder))}"
