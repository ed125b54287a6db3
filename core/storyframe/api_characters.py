"""The Python API of character reference sheets: ``storyframe characters`` from code.

Re-exported by the top-level package (``storyframe.draw_characters`` and its coroutine
``adraw_characters``); see :mod:`storyframe.api` for the conventions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from storyframe.api import ConfigSource, _run, load_config
from storyframe.errors import InputError
from storyframe.models import Storyboard
from storyframe.progress import Reporter


async def adraw_characters(
    project_dir: str | os.PathLike[str],
    *,
    character: str | None = None,
    reseed: bool = False,
    image_providers: Sequence[str] | None = None,
    concurrency: int | None = None,
    config: ConfigSource = None,
    reporter: Reporter | None = None,
) -> Storyboard:
    """Draw the missing reference sheets of the project's main characters; returns its manifest.

    ``character`` (a name or an alias) draws that character's sheet only, main or not;
    ``reseed`` redraws it with a new seed (the old sheet stays if the redraw fails). Each sheet
    is in ``Storyboard.sheets``: a failed one has ``status == "failed"`` and its ``error``, one a
    fallback provider drew its ``fallback``. A sheet already drawn is kept and costs nothing.
    """
    from storyframe.characters import require_character
    from storyframe.pipeline import Pipeline
    from storyframe.project import Project
    from storyframe.registry import Registry
    from storyframe.sheets import draw_sheets

    if reseed and not character:
        raise InputError("reseed redraws one sheet.", hint="Pass character=NAME.")
    cfg = load_config(config)
    registry = Registry(cfg)
    chain = list(image_providers) if image_providers else None
    if chain:
        registry.image_slots(chain)
    project = Project(Path(project_dir))
    project.load()  # a missing or broken project is refused before the lock makes a folder
    pipeline = Pipeline(cfg, registry=registry, reporter=reporter)
    with project.lock():
        board = project.load()
        only = None if character is None else require_character(board, character, project.folder)
        await draw_sheets(
            pipeline,
            project,
            board,
            image_providers=chain,
            only=only,
            reseed=reseed,
            concurrency=concurrency,
        )
    return board


def draw_characters(
    project_dir: str | os.PathLike[str],
    *,
    character: str | None = None,
    reseed: bool = False,
    image_providers: Sequence[str] | None = None,
    concurrency: int | None = None,
    config: ConfigSource = None,
    reporter: Reporter | None = None,
) -> Storyboard:
    """:func:`adraw_characters`, run to the end."""
    return _run(
        adraw_characters(
            project_dir,
            character=character,
            reseed=reseed,
            image_providers=image_providers,
            concurrency=concurrency,
            config=config,
            reporter=reporter,
        ),
        "draw_characters",
    )


__all__ = ["adraw_characters", "draw_characters"]
