"""The commands that make a project: ``run``, ``scenes`` and ``render`` (``images`` is in
:mod:`storyframe.cli.images`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from storyframe.cli.base import EXIT_DEGRADED, cli, common, run_sync, state_of
from storyframe.cli.characters import references_option
from storyframe.cli.costs import dry_run_option, max_cost_option
from storyframe.cli.options import (
    ASPECTS,
    Prepared,
    SceneCount,
    aspect_size,
    keep_fallbacks_option,
    prepare,
    story_options,
)
from storyframe.cli.summary import finish
from storyframe.cli.takes import variants_option

__all__ = [
    "ASPECTS",
    "Prepared",
    "SceneCount",
    "aspect_size",
    "render",
    "run",
    "scenes",
    "story_options",
]


@cli.command()
@story_options
@click.option("--image-provider", "image_provider", help="Image providers to use, comma-separated.")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Images drawn at once.")
@keep_fallbacks_option
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
    config, registry, story, settings, project = prepare(state, options)
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
    finish(summary, as_json=options["as_json"], quiet=options["quiet"])


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
    config, registry, story, settings, project = prepare(state, options)
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
