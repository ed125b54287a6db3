"""The ``images`` command: draw the approved scenes of a project, or takes of some of them."""

from __future__ import annotations

from pathlib import Path

import click

from storyframe.cli.base import cli, common, run_sync, state_of
from storyframe.cli.characters import references_option
from storyframe.cli.costs import dry_run_option, max_cost_option
from storyframe.cli.options import keep_fallbacks_option, open_project
from storyframe.cli.summary import finish
from storyframe.cli.takes import asked_takes, set_prompt, take_options, variants_option


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
@keep_fallbacks_option
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

    state = state_of(ctx)
    takes = asked_takes(
        scene_numbers, reseed=reseed, seed=take_seed, prompt=take_prompt, variants=variants
    )
    config, registry, chain, project, board = open_project(state, project_dir, image_provider)
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
    finish(summary, as_json=as_json, quiet=quiet, asked=scene_numbers)
