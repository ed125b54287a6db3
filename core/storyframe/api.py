"""The Python API: make a storyboard, or go through the review flow, from code.

Everything here is re-exported by the top-level package (``storyframe.make_storyboard``). It is
the CLI's machinery (:class:`~storyframe.pipeline.Pipeline`, :class:`~storyframe.project.Project`,
:class:`~storyframe.registry.Registry`) without the printing: nothing is printed unless a
``reporter`` is given, nothing exits, and errors are :class:`~storyframe.errors.StoryframeError`
subclasses with a ``hint``. Every ``a``-prefixed function is the coroutine of the one without;
the plain functions may not be called from inside a running event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from storyframe.config import Config, parse_config
from storyframe.config import load_config as _load_config_file
from storyframe.errors import InputError, StoryframeError
from storyframe.models import RunSettings, Storyboard
from storyframe.progress import Reporter
from storyframe.story import StoryText, read_story

StorySource = str | os.PathLike[str] | StoryText
"""A story: a path (a ``Path``, or a ``str`` naming a file), its text, or a StoryText."""
ConfigSource = Config | str | os.PathLike[str] | Mapping[str, Any] | None
"""A configuration: a Config, a path to a TOML file, a dict shaped like the TOML, or None."""

T = TypeVar("T")


def load_config(config: ConfigSource = None) -> Config:
    """The configuration from ``config``; ``None`` looks it up as the CLI does."""
    if isinstance(config, Config):
        return config
    if isinstance(config, Mapping):
        return parse_config(dict(config))
    if config is None:
        return _load_config_file()
    return _load_config_file(Path(config))


def load_story(story: StorySource, *, config: Config | None = None) -> StoryText:
    """Read ``story``: a ``Path`` is always a file; a ``str`` is a file if one exists by that
    name (and it has no line break), otherwise it is the story's text."""
    run = (config or Config()).run
    if isinstance(story, StoryText):
        return story
    if isinstance(story, str) and ("\n" in story or len(story) > 1024 or not Path(story).is_file()):
        return _story_from_text(story, max_bytes=run.max_story_bytes)
    return read_story(Path(story), encoding=run.encoding, max_bytes=run.max_story_bytes)


def _story_from_text(text: str, *, max_bytes: int) -> StoryText:
    raw = text.encode("utf-8")
    if not text.strip():
        raise InputError("the story is empty.", hint="Pass the story's text or a file path.")
    if len(raw) > max_bytes:
        raise InputError(
            f"the story is {len(raw)} bytes, over the {max_bytes} limit.",
            hint="Pass a shorter story, or raise [run] max_story_bytes.",
        )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    digest = hashlib.sha256(raw).hexdigest()
    return StoryText(path=Path("story.txt"), text=text, sha256=digest, size=len(raw))


async def aplan_scenes(
    story: StorySource,
    out_dir: str | os.PathLike[str],
    *,
    scenes: int | None = None,
    style: str | None = None,
    seed: int | None = None,
    size: tuple[int, int] | None = None,
    text_providers: Sequence[str] | None = None,
    image_providers: Sequence[str] | None = None,
    force: bool = False,
    config: ConfigSource = None,
    reporter: Reporter | None = None,
) -> Storyboard:
    """Write the scenes of ``story`` into the project ``out_dir``, without drawing.

    Unset options come from the configuration's ``[run]``, ``[text]`` and ``[image]``. A project
    already made from the same story and settings is resumed; another one is refused unless
    ``force``. Review or edit the returned scenes (or ``storyboard.json``), then :func:`adraw`.
    """
    from storyframe.pipeline import Pipeline
    from storyframe.project import Project
    from storyframe.prompts import story_seed
    from storyframe.registry import Registry

    cfg = load_config(config)
    text = load_story(story, config=cfg)
    registry = Registry(cfg)
    chosen = registry.style(style or cfg.run.style)
    width, height = size or (cfg.run.width or chosen.width, cfg.run.height or chosen.height)
    try:
        settings = RunSettings(
            scenes=scenes if scenes is not None else cfg.run.scenes,
            style=chosen.name,
            seed=story_seed(text.sha256, seed if seed is not None else cfg.run.seed),
            width=width,
            height=height,
            text_providers=list(text_providers or cfg.text.providers),
            image_providers=list(image_providers or cfg.image.providers),
        )
    except ValidationError as error:
        first = error.errors()[0]
        name = {"width": "size", "height": "size"}.get(str(first["loc"][0]), str(first["loc"][0]))
        raise InputError(
            f"{name}: {first['msg']} (got {first['input']!r}).", hint=f"Pass another {name}."
        ) from None
    registry.text_slots(settings.text_providers)
    registry.image_slots(settings.image_providers)
    project = Project(Path(out_dir))
    pipeline = Pipeline(cfg, registry=registry, reporter=reporter)
    with project.lock():
        return await pipeline.write_scenes(text, project, settings, force=force)


async def adraw(
    project_dir: str | os.PathLike[str],
    *,
    only: Iterable[int] | None = None,
    redraw: bool = False,
    image_providers: Sequence[str] | None = None,
    concurrency: int | None = None,
    variants: int | None = None,
    references: bool | None = None,
    config: ConfigSource = None,
    reporter: Reporter | None = None,
) -> Storyboard:
    """Draw the approved scenes of a project that are not drawn yet; returns its manifest.

    ``only`` draws just those scene numbers (even if drawn); ``redraw`` redraws every approved
    scene; ``variants`` draws that many candidate images per scene (``[run] variants``; the
    first drawn is chosen, every image is kept in ``SceneRecord.variants``); ``references``
    (``[image] references``) draws the main characters' sheets first and sends them with each
    scene. A scene that failed has ``status == "failed"`` and its ``error``; run again to retry.
    """
    from storyframe.pipeline import Pipeline
    from storyframe.project import Project

    cfg = load_config(config)
    project = Project(Path(project_dir))
    board = project.load()
    pipeline = Pipeline(cfg, reporter=reporter)
    with project.lock():
        await pipeline.draw(
            project,
            board,
            only=list(only) if only is not None else None,
            redraw=redraw,
            image_providers=list(image_providers) if image_providers else None,
            concurrency=concurrency,
            variants=variants or cfg.run.variants,
            references=references,
        )
    return board


def render_project(project_dir: str | os.PathLike[str], *, config: ConfigSource = None) -> Path:
    """Rebuild the project's ``index.html`` from its ``storyboard.json``; returns its path."""
    from storyframe.pipeline import Pipeline
    from storyframe.project import Project

    project = Project(Path(project_dir))
    return Pipeline(load_config(config)).render(project, project.load())


async def amake_storyboard(
    story: StorySource,
    out_dir: str | os.PathLike[str],
    *,
    scenes: int | None = None,
    style: str | None = None,
    seed: int | None = None,
    size: tuple[int, int] | None = None,
    text_providers: Sequence[str] | None = None,
    image_providers: Sequence[str] | None = None,
    concurrency: int | None = None,
    variants: int | None = None,
    references: bool | None = None,
    force: bool = False,
    config: ConfigSource = None,
    reporter: Reporter | None = None,
) -> Storyboard:
    """The whole job: write the scenes of ``story`` and draw them into ``out_dir``.

    Like ``storyframe run``: calling it again resumes, keeping finished scenes.
    """
    cfg = load_config(config)
    await aplan_scenes(
        story,
        out_dir,
        scenes=scenes,
        style=style,
        seed=seed,
        size=size,
        text_providers=text_providers,
        image_providers=image_providers,
        force=force,
        config=cfg,
        reporter=reporter,
    )
    return await adraw(
        out_dir,
        redraw=force,
        image_providers=image_providers,
        concurrency=concurrency,
        variants=variants,
        references=references,
        config=cfg,
        reporter=reporter,
    )


def _run(coro: Coroutine[Any, Any, T], name: str) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    coro.close()
    raise StoryframeError(
        f"storyframe.{name}() cannot run inside a running event loop.",
        hint=f"Use `await storyframe.a{name}(...)` instead.",
    )


def make_storyboard(
    story: StorySource,
    out_dir: str | os.PathLike[str],
    *,
    scenes: int | None = None,
    style: str | None = None,
    seed: int | None = None,
    size: tuple[int, int] | None = None,
    text_providers: Sequence[str] | None = None,
    image_providers: Sequence[str] | None = None,
    concurrency: int | None = None,
    variants: int | None = None,
    references: bool | None = None,
    force: bool = False,
    config: ConfigSource = None,
    reporter: Reporter | None = None,
) -> Storyboard:
    """:func:`amake_storyboard`, run to the end."""
    return _run(
        amake_storyboard(
            story,
            out_dir,
            scenes=scenes,
            style=style,
            seed=seed,
            size=size,
            text_providers=text_providers,
            image_providers=image_providers,
            concurrency=concurrency,
            variants=variants,
            references=references,
            force=force,
            config=config,
            reporter=reporter,
        ),
        "make_storyboard",
    )


def plan_scenes(
    story: StorySource,
    out_dir: str | os.PathLike[str],
    *,
    scenes: int | None = None,
    style: str | None = None,
    seed: int | None = None,
    size: tuple[int, int] | None = None,
    text_providers: Sequence[str] | None = None,
    image_providers: Sequence[str] | None = None,
    force: bool = False,
    config: ConfigSource = None,
    reporter: Reporter | None = None,
) -> Storyboard:
    """:func:`aplan_scenes`, run to the end."""
    return _run(
        aplan_scenes(
            story,
            out_dir,
            scenes=scenes,
            style=style,
            seed=seed,
            size=size,
            text_providers=text_providers,
            image_providers=image_providers,
            force=force,
            config=config,
            reporter=reporter,
        ),
        "plan_scenes",
    )


def draw(
    project_dir: str | os.PathLike[str],
    *,
    only: Iterable[int] | None = None,
    redraw: bool = False,
    image_providers: Sequence[str] | None = None,
    concurrency: int | None = None,
    variants: int | None = None,
    references: bool | None = None,
    config: ConfigSource = None,
    reporter: Reporter | None = None,
) -> Storyboard:
    """:func:`adraw`, run to the end."""
    return _run(
        adraw(
            project_dir,
            only=only,
            redraw=redraw,
            image_providers=image_providers,
            concurrency=concurrency,
            variants=variants,
            references=references,
            config=config,
            reporter=reporter,
        ),
        "draw",
    )


__all__ = [
    "ConfigSource",
    "StorySource",
    "adraw",
    "amake_storyboard",
    "aplan_scenes",
    "draw",
    "load_config",
    "load_story",
    "make_storyboard",
    "plan_scenes",
    "render_project",
]
