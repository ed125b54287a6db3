"""The commands that make and draw a project: ``run``, ``scenes``, ``images``, ``render``."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import click

from storyframe.cli.base import (
    EXIT_DEGRADED,
    EXIT_PARTIAL,
    State,
    cli,
    common,
    run_sync,
    state_of,
)
from storyframe.cli.characters import references_option
from storyframe.cli.costs import dry_run_option, max_cost_option
from storyframe.cli.takes import asked_takes, set_prompt, take_options, variants_option

F = TypeVar("F", bound=Callable[..., Any])


def _parse_size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        width_text, height_text = value.lower().split("x")
        width, height = int(width_text), int(height_text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not WIDTHxHEIGHT, e.g. 1024x576.") from None
    if not (64 <= width <= 4096 and 64 <= height <= 4096):
        raise click.BadParameter(f"{value!r}: each side must be 64 to 4096 pixels.")
    return width, height


class SceneCount(click.ParamType):  # type: ignore[type-arg]
    """``-n``: a number of scenes from 1 to 200, or ``auto``."""

    name = "N|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int) or value == "auto":
            return value
        try:
            number = int(value)
        except ValueError:
            number = 0
        if not 1 <= number <= 200:
            self.fail(f"{value!r} is not a number of scenes from 1 to 200, nor 'auto'.", param, ctx)
        return number


ASPECTS = ("16:9", "3:2", "4:3", "1:1", "2:3", "9:16")


def aspect_size(aspect: str, long_side: int) -> tuple[int, int]:
    """WIDTHxHEIGHT for ``aspect`` (``"16:9"``) whose long side is ``long_side``.

    The short side is rounded to a multiple of 8 (what image models accept), at least 64.
    """
    across, down = (int(part) for part in aspect.split(":"))
    short = max(64, round(long_side * min(across, down) / max(across, down) / 8) * 8)
    return (long_side, short) if across >= down else (short, long_side)


def _chain_option(value: str | None, option: str) -> list[str] | None:
    """The provider names of a comma-separated ``option``; ``None`` when it is not given."""
    if value is None:
        return None
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        from storyframe.errors import InputError

        raise InputError(
            f"{option}: give at least one provider name.",
            hint="See `storyframe providers` for the installed ones.",
        )
    return names


def story_options(func: F) -> F:
    """Options shared by ``run`` and ``scenes``."""
    decorators = [
        click.argument("story", type=click.Path(path_type=Path)),
        click.option(
            "-n", "--scenes", type=SceneCount(), help="Number of scenes, or 'auto' (1-200)."
        ),
        click.option("--style", help="Visual style (see `storyframe styles`)."),
        click.option(
            "-o", "--out", type=click.Path(path_type=Path), help="Project folder to write."
        ),
        click.option(
            "--text-provider", "text_provider", help="Text providers to use, comma-separated."
        ),
        click.option("--seed", type=click.IntRange(0, 2**31 - 1), help="Story seed."),
        click.option("--size", help="Image size as WIDTHxHEIGHT (default: the style's)."),
        click.option(
            "--aspect",
            type=click.Choice(ASPECTS),
            help="Image shape; the long side is the style's. Not with --size.",
        ),
        click.option("--encoding", help="The story file's text encoding (default utf-8)."),
        click.option("--force", is_flag=True, help="Start the project over."),
        click.option("-q", "--quiet", is_flag=True, help="No progress output."),
        click.option("--json", "as_json", is_flag=True, help="Print a JSON summary."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


class Prepared(NamedTuple):
    """What ``run`` and ``scenes`` need before any work starts."""

    config: Any
    registry: Any
    story: Any
    settings: Any
    project: Any


def _prepare(state: State, options: dict[str, Any]) -> Prepared:
    """Load config, story and settings for ``run`` and ``scenes``; every check before any work."""
    from storyframe.errors import InputError
    from storyframe.models import RunSettings
    from storyframe.project import Project
    from storyframe.prompts import story_seed
    from storyframe.registry import Registry
    from storyframe.story import read_story

    config = state.config()
    if options.get("size") and options.get("aspect"):
        raise InputError(
            "--size and --aspect both set the image size.", hint="Give only one of them."
        )
    size = _parse_size(options.get("size"))
    story = read_story(
        options["story"],
        encoding=options.get("encoding") or config.run.encoding,
        max_bytes=config.run.max_story_bytes,
    )
    registry = Registry(config)
    style = registry.style(options.get("style") or config.run.style)
    width, height = size or (
        config.run.width or style.width,
        config.run.height or style.height,
    )
    if options.get("aspect"):
        width, height = aspect_size(options["aspect"], max(width, height))

    text_chain = _chain_option(options.get("text_provider"), "--text-provider")
    image_chain = _chain_option(options.get("image_provider"), "--image-provider")
    text_slots = registry.text_slots(text_chain, origin="--text-provider")
    image_slots = registry.image_slots(image_chain, origin="--image-provider")
    settings = RunSettings(
        scenes=options.get("scenes") or config.run.scenes,
        style=style.name,
        seed=story_seed(
            story.sha256, options["seed"] if options.get("seed") is not None else config.run.seed
        ),
        width=width,
        height=height,
        text_providers=[slot.name for slot in text_slots],
        image_providers=[slot.name for slot in image_slots],
    )
    folder = options.get("out") or Path(config.run.out_dir) / story.slug
    return Prepared(config, registry, story, settings, Project(folder))


def _finish(
    summary: Any,
    *,
    as_json: bool,
    quiet: bool,
    asked: tuple[int, ...] = (),
) -> None:
    """Print the summary; exit 6 when the budget stopped it, 4 when scenes failed, 5 when
    fallbacks did work (degraded)."""
    unapproved = sorted(summary.unapproved)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
    elif not quiet:
        drawn = len(summary.done) + len(summary.kept)
        line = f"{drawn} of {summary.total} scenes drawn"
        if summary.degraded:
            line += f"; {summary.degradation()}"
        if summary.kept:
            line += f" ({len(summary.kept)} kept from before)"
        if unapproved:
            line += f", {len(unapproved)} not approved"

        if summary.recovered:
            line += f" ({len(summary.recovered)} recovered, paid for in an earlier run)"
        if summary.held:
            line += f", {len(summary.held)} left by the budget"
        if summary.cost_text:
            line += f"; {summary.cost_text}"
        click.echo(f"{line}. Storyboard: {summary.project / 'index.html'}")
    refused = [n for n in unapproved if n in asked]
    if refused:
        numbers = " ".join(map(str, refused))
        plural = "s" if len(refused) > 1 else ""
        click.echo(
            f"scene{plural} {', '.join(map(str, refused))} {'are' if plural else 'is'} not "
            f"approved; run `storyframe approve {shlex.quote(str(summary.project))} {numbers}` "
            "first.",
            err=True,
        )
    if summary.held:
        from storyframe.cli.costs import budget_stop

        for number, error in sorted(summary.failed.items()):
            click.echo(f"Error: scene {number} failed: {error}", err=True)
        budget_stop(summary)
    if summary.failed:
        for number, error in sorted(summary.failed.items()):
            click.echo(f"Error: scene {number} failed: {error}", err=True)
        click.echo("Error: some scenes failed; run the same command again to retry them.", err=True)
        sys.exit(EXIT_PARTIAL)
    if summary.degraded:
        if quiet and not as_json:
            click.echo(f"Warning: degraded run: {summary.degradation()}.", err=True)
        click.echo(
            "Warning: fallbacks did part of the work. Run the same command again to retry "
            "those scenes with the preferred providers, or add --keep-fallbacks to keep them.",
            err=True,
        )
        sys.exit(EXIT_DEGRADED)


_keep_fallbacks_option = click.option(
    "--keep-fallbacks",
    is_flag=True,
    help="Keep images a fallback drew after a better provider failed (default: try again).",
)


@cli.command()
@story_options
@click.option("--image-provider", "image_provider", help="Image providers to use, comma-separated.")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Images drawn at once.")
@_keep_fallbacks_option
@variants_option
@references_option
@max_cost_option
@dry_run_option
@common
@click.pass_context
def run(ctx: click.Context, /, **options: Any) -> None:
    """Write the scenes of STORY and draw them: the whole job.

    Re-running the same command resumes: finished scenes are kept and cost nothing.
    """
    from storyframe.cli import costs
    from storyframe.pipeline import Pipeline
    from storyframe.progress import make_reporter

    state = state_of(ctx)
    config, registry, story, settings, project = _prepare(state, options)
    max_cost = options.get("max_cost")
    variants = options.get("variants") or config.run.variants
    if options["dry_run"]:
        plan = run_sync(
            costs.plan_story(
                config, registry, story, settings, project,
                draw=True, force=options["force"], max_cost=max_cost, variants=variants,
                references=options["references"],
            )
        )  # fmt: skip
        costs.print_plan(plan, as_json=options["as_json"])
        return
    reporter = make_reporter(quiet=options["quiet"] or options["as_json"])
    pipeline = Pipeline(config, registry=registry, reporter=reporter)

    async def go() -> Any:
        budget = None
        if max_cost is not None:
            budget = await _text_budget(registry, settings, story, project, max_cost, options)
        text_before = project.load().text_usage.cost if project.exists() else 0.0
        board = await pipeline.write_scenes(story, project, settings, force=options["force"])
        if budget is not None:
            budget.charge(max(0.0, board.text_usage.cost - text_before))
        summary = await pipeline.draw(
            project,
            board,
            concurrency=options.get("concurrency"),
            redraw=options["force"],
            keep_fallbacks=options["keep_fallbacks"],
            budget=budget,
            variants=variants,
            references=options["references"],
        )
        summary.text_cost = board.text_usage.cost
        if summary.spent is not None and budget is not None:
            summary.spent = round(budget.spent, 8)
        return summary

    try:
        with project.lock():
            summary = run_sync(go(), grace=config.run.interrupt_grace)
    finally:
        reporter.close()
    _finish(summary, as_json=options["as_json"], quiet=options["quiet"])


async def _text_budget(
    registry: Any, settings: Any, story: Any, project: Any, max_cost: float, options: Any
) -> Any:
    """The run's :class:`~storyframe.cost.Budget`, after checking that writing the scenes fits
    it (a resumed project has them already and spends nothing on text)."""
    from storyframe.cli import costs
    from storyframe.cost import Budget, BudgetExceeded

    budget = Budget(max_cost)
    if not options["force"] and costs._existing(project, story) is not None:
        return budget
    count = settings.scenes if isinstance(settings.scenes, int) else 12
    stage = await costs.text_estimate(registry, settings, story, count)
    slot = next((s for s in registry.text_slots(settings.text_providers) if s.configured), None)
    why = costs.text_within_budget(stage.estimate, budget, paid=bool(slot and slot.cls.needs_key))
    if why is not None:
        raise BudgetExceeded(
            f"--max-cost {max_cost:g}: {why}; nothing was sent.",
            provider=stage.provider,
            code="budget",
            hint="Run with --dry-run to see the plan, then give a larger --max-cost.",
        )
    return budget


@cli.command()
@story_options
@click.option(
    "--image-provider", "image_provider", help="Image providers the project will use later."
)
@dry_run_option
@common
@click.pass_context
def scenes(ctx: click.Context, /, **options: Any) -> None:
    """Write the scenes of STORY into a project for review, without drawing.

    Review with `storyframe show`, `edit`, `approve` and `reject` (or edit storyboard.json), then
    run `storyframe images FOLDER`.
    """
    from storyframe.pipeline import Pipeline
    from storyframe.progress import make_reporter

    state = state_of(ctx)
    config, registry, story, settings, project = _prepare(state, options)
    if options["dry_run"]:
        from storyframe.cli import costs

        plan = run_sync(
            costs.plan_story(
                config, registry, story, settings, project,
                draw=False, force=options["force"], max_cost=None,
            )
        )  # fmt: skip
        costs.print_plan(plan, as_json=options["as_json"])
        return
    reporter = make_reporter(quiet=options["quiet"] or options["as_json"])
    pipeline = Pipeline(config, registry=registry, reporter=reporter)
    try:
        with project.lock():
            board = run_sync(
                pipeline.write_scenes(story, project, settings, force=options["force"]),
                grace=config.run.interrupt_grace,
            )
    finally:
        reporter.close()
    fallback = board.text_fallback
    if options["as_json"]:
        click.echo(
            json.dumps(
                {
                    "project": str(project.folder),
                    "manifest": str(project.manifest_path),
                    "scenes": len(board.scenes),
                    "text_provider": board.text_provider,
                    "degraded": fallback is not None,
                    "fallbacks": [{"stage": "text", "scene": None, **fallback.model_dump()}]
                    if fallback
                    else [],
                    "notes": board.notes,
                },
                indent=2,
            )
        )
    elif not options["quiet"]:
        written = f"{len(board.scenes)} scenes written"
        if fallback is not None:
            written += f" by {fallback.provider} after {fallback.after} failed: {fallback.reason};"
        click.echo(
            f"{written} to {project.manifest_path}. Review them, then "
            f"run: storyframe images {project.folder}"
        )
    if fallback is not None:
        click.echo(
            f"Warning: degraded: the scenes were written by {fallback.provider} because "
            f"{fallback.after} failed. Use --force to write them again.",
            err=True,
        )
        sys.exit(EXIT_DEGRADED)


@cli.command()
@click.argument("project_dir", metavar="PROJECT", type=click.Path(path_type=Path))
@click.option(
    "--scene",
    "scene_numbers",
    type=int,
    multiple=True,
    help="Draw only scene N (repeatable: --scene 1 --scene 3).",
)
@click.option("--force", is_flag=True, help="Redraw approved scenes that are already done.")
@take_options
@variants_option
@click.option("--image-provider", "image_provider", help="Image providers to use, comma-separated.")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Images drawn at once.")
@_keep_fallbacks_option
@references_option
@max_cost_option
@dry_run_option
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@common
@click.pass_context
def images(
    ctx: click.Context,
    project_dir: Path,
    scene_numbers: tuple[int, ...],
    force: bool,
    reseed: bool,
    take_seed: int | None,
    take_prompt: str | None,
    variants: int | None,
    image_provider: str | None,
    concurrency: int | None,
    keep_fallbacks: bool,
    references: bool | None,
    max_cost: float | None,
    dry_run: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Draw the approved scenes of PROJECT that are not drawn yet (or --scene N to redraw one).

    Every image drawn is kept: `storyframe show PROJECT N` lists a scene's variants and
    `storyframe pick` chooses one.
    """
    from storyframe.pipeline import Pipeline
    from storyframe.progress import make_reporter
    from storyframe.project import Project
    from storyframe.registry import Registry

    state = state_of(ctx)
    takes = asked_takes(
        scene_numbers, reseed=reseed, seed=take_seed, prompt=take_prompt, variants=variants
    )
    config = state.config()
    registry = Registry(config)
    chain = _chain_option(image_provider, "--image-provider")
    if chain:
        registry.image_slots(chain, origin="--image-provider")
    project = Project(project_dir)
    board = project.load()
    variants = variants or config.run.variants
    if takes:
        from storyframe.cli.review import pick

        pick(board, project, scene_numbers)  # unknown scene numbers are refused first
        if take_prompt is not None:
            set_prompt(board, scene_numbers[0], take_prompt)
    if dry_run:
        from storyframe.cli import costs

        plan = run_sync(
            costs.plan_images(
                config, registry, project, board, chain,
                only=scene_numbers, redraw=force, concurrency=concurrency, max_cost=max_cost,
                variants=1 if takes else variants,
                references=references,
            )
        )  # fmt: skip
        costs.print_plan(plan, as_json=as_json)
        return
    from storyframe.cost import Budget

    reporter = make_reporter(quiet=quiet or as_json)
    pipeline = Pipeline(config, registry=registry, reporter=reporter)
    try:
        with project.lock():
            if take_prompt is not None:
                board = project.load()  # under the lock: the prompt is saved before drawing
                set_prompt(board, scene_numbers[0], take_prompt)
                project.save(board)
            summary = run_sync(
                pipeline.draw(
                    project,
                    board,
                    only=scene_numbers or None,
                    redraw=force,
                    image_providers=chain,
                    concurrency=concurrency,
                    keep_fallbacks=keep_fallbacks,
                    budget=Budget(max_cost) if max_cost is not None else None,
                    variants=1 if takes else variants,
                    takes=takes,
                    references=references,
                ),
                grace=config.run.interrupt_grace,
            )
    finally:
        reporter.close()
    if takes and not (quiet or as_json):
        from storyframe.cli.takes import echo_takes

        echo_takes(board, sorted(takes), project.folder)
    _finish(summary, as_json=as_json, quiet=quiet, asked=scene_numbers)


@cli.command()
@click.argument("project_dir", metavar="PROJECT", type=click.Path(path_type=Path))
@common
@click.pass_context
def render(ctx: click.Context, project_dir: Path) -> None:
    """Rebuild PROJECT/index.html from its storyboard.json."""
    from storyframe.pipeline import Pipeline
    from storyframe.project import Project

    state = state_of(ctx)
    project = Project(project_dir)
    board = project.load()
    path = Pipeline(state.config()).render(project, board)
    click.echo(str(path))
