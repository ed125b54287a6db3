"""Options and checks shared by the commands that make and draw a project (``run``,
``scenes``, ``images``, ``characters``): sizes, scene counts, provider chains, and everything
read before any work starts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import click

from storyframe.cli.base import State

F = TypeVar("F", bound=Callable[..., Any])


def parse_size(value: str | None) -> tuple[int, int] | None:
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


def chain_option(value: str | None, option: str) -> list[str] | None:
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


def prepare(state: State, options: dict[str, Any]) -> Prepared:
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
    size = parse_size(options.get("size"))
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

    text_chain = chain_option(options.get("text_provider"), "--text-provider")
    image_chain = chain_option(options.get("image_provider"), "--image-provider")
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


class Opened(NamedTuple):
    """What ``images`` and ``characters`` need before drawing in a written project."""

    config: Any
    registry: Any
    chain: list[str] | None
    project: Any
    board: Any


def open_project(state: State, project_dir: Path, image_provider: str | None) -> Opened:
    """Load config, check ``--image-provider``'s chain and load the project's manifest."""
    from storyframe.project import Project
    from storyframe.registry import Registry

    config = state.config()
    registry = Registry(config)
    chain = chain_option(image_provider, "--image-provider")
    if chain:
        registry.image_slots(chain, origin="--image-provider")
    project = Project(project_dir)
    return Opened(config, registry, chain, project, project.load())


keep_fallbacks_option = click.option(
    "--keep-fallbacks",
    is_flag=True,
    help="Keep images a fallback drew after a better provider failed (default: try again).",
)
