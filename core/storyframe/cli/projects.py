"""The commands that make and draw a project: ``run``, ``scenes``, ``images``, ``render``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import click

from storyframe.cli.base import EXIT_PARTIAL, State, cli, common, run_sync, state_of

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


def _chain_option(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


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
    from storyframe.models import RunSettings
    from storyframe.project import Project
    from storyframe.prompts import story_seed
    from storyframe.registry import Registry
    from storyframe.story import read_story

    config = state.config()
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
    image_chain = _chain_option(options.get("image_provider")) or config.image.providers
    settings = RunSettings(
        scenes=options.get("scenes") or config.run.scenes,
        style=style.name,
        seed=story_seed(
            story.sha256, options["seed"] if options.get("seed") is not None else config.run.seed
        ),
        width=width,
        height=height,
        text_providers=_chain_option(options.get("text_provider")) or config.text.providers,
        image_providers=image_chain,
    )
    registry.text_slots(settings.text_providers)
    registry.image_slots(settings.image_providers)
    folder = options.get("out") or Path(config.run.out_dir) / story.slug
    return Prepared(config, registry, story, settings, Project(folder))


def _finish(summary: Any, *, as_json: bool, quiet: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
    elif not quiet:
        drawn = len(summary.done) + len(summary.kept)
        line = f"{drawn} of {summary.total} scenes drawn"
        if summary.kept:
            line += f" ({len(summary.kept)} kept from before)"
        if summary.cost:
            line += f", cost ${summary.cost:.4f}"
            if summary.text_cost:
                line += f" (text ${summary.text_cost:.4f})"
        click.echo(f"{line}. Storyboard: {summary.project / 'index.html'}")
    if summary.failed:
        for number, error in sorted(summary.failed.items()):
            click.echo(f"Error: scene {number} failed: {error}", err=True)
        click.echo("Error: some scenes failed; run the same command again to retry them.", err=True)
        sys.exit(EXIT_PARTIAL)


@cli.command()
@story_options
@click.option("--image-provider", "image_provider", help="Image providers to use, comma-separated.")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Images drawn at once.")
@common
@click.pass_context
def run(ctx: click.Context, /, **options: Any) -> None:
    """Write the scenes of STORY and draw them: the whole job.

    Re-running the same command resumes: finished scenes are kept and cost nothing.
    """
    from storyframe.pipeline import Pipeline
    from storyframe.progress import make_reporter

    state = state_of(ctx)
    config, registry, story, settings, project = _prepare(state, options)
    reporter = make_reporter(quiet=options["quiet"] or options["as_json"])
    pipeline = Pipeline(config, registry=registry, reporter=reporter)

    async def go() -> Any:
        board = await pipeline.write_scenes(story, project, settings, force=options["force"])
        summary = await pipeline.draw(
            project, board, concurrency=options.get("concurrency"), redraw=options["force"]
        )
        summary.text_cost = board.text_usage.cost
        return summary

    try:
        with project.lock():
            summary = run_sync(go())
    finally:
        reporter.close()
    _finish(summary, as_json=options["as_json"], quiet=options["quiet"])


@cli.command()
@story_options
@click.option(
    "--image-provider", "image_provider", help="Image providers the project will use later."
)
@common
@click.pass_context
def scenes(ctx: click.Context, /, **options: Any) -> None:
    """Write the scenes of STORY into a project for review, without drawing.

    Edit titles and prompts in storyboard.json (or set "approved": false), then run
    `storyframe images FOLDER`.
    """
    from storyframe.pipeline import Pipeline
    from storyframe.progress import make_reporter

    state = state_of(ctx)
    config, registry, story, settings, project = _prepare(state, options)
    reporter = make_reporter(quiet=options["quiet"] or options["as_json"])
    pipeline = Pipeline(config, registry=registry, reporter=reporter)
    try:
        with project.lock():
            board = run_sync(
                pipeline.write_scenes(story, project, settings, force=options["force"])
            )
    finally:
        reporter.close()
    if options["as_json"]:
        click.echo(
            json.dumps(
                {
                    "project": str(project.folder),
                    "manifest": str(project.manifest_path),
                    "scenes": len(board.scenes),
                    "text_provider": board.text_provider,
                    "notes": board.notes,
                },
                indent=2,
            )
        )
    elif not options["quiet"]:
        click.echo(
            f"{len(board.scenes)} scenes written to {project.manifest_path}. Review them, then "
            f"run: storyframe images {project.folder}"
        )


@cli.command()
@click.argument("project_dir", metavar="PROJECT", type=click.Path(path_type=Path))
@click.option("--scene", "scene_numbers", type=int, multiple=True, help="Draw only scene N.")
@click.option("--force", is_flag=True, help="Redraw approved scenes that are already done.")
@click.option("--image-provider", "image_provider", help="Image providers to use, comma-separated.")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Images drawn at once.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@common
@click.pass_context
def images(
    ctx: click.Context,
    project_dir: Path,
    scene_numbers: tuple[int, ...],
    force: bool,
    image_provider: str | None,
    concurrency: int | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Draw the approved scenes of PROJECT that are not drawn yet (or --scene N to redraw one)."""
    from storyframe.pipeline import Pipeline
    from storyframe.progress import make_reporter
    from storyframe.project import Project

    state = state_of(ctx)
    config = state.config()
    project = Project(project_dir)
    board = project.load()
    reporter = make_reporter(quiet=quiet or as_json)
    pipeline = Pipeline(config, reporter=reporter)
    try:
        with project.lock():
            summary = run_sync(
                pipeline.draw(
                    project,
                    board,
                    only=scene_numbers or None,
                    redraw=force,
                    image_providers=_chain_option(image_provider),
                    concurrency=concurrency,
                )
            )
    finally:
        reporter.close()
    _finish(summary, as_json=as_json, quiet=quiet)


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
