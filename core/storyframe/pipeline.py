"""The pipeline: story -> analysis -> scenes -> image requests -> images -> manifest -> HTML.

Two steps a user can run apart (with a review in between) or together:

- :meth:`Pipeline.write_scenes` analyses the story and writes the scenes into the manifest
  (:mod:`storyframe.text_stage`);
- :meth:`Pipeline.draw` draws the approved scenes that are not done yet, saving the manifest after
  each one, so a crash or a kill loses no finished scene and a re-run spends nothing on them
  (:mod:`storyframe.image_stage`).

Both return what they did; :meth:`Pipeline.draw` returns a :class:`Summary`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from storyframe import image_stage, text_stage
from storyframe.config import Config
from storyframe.errors import ProjectError
from storyframe.images import inspect_image
from storyframe.models import RunSettings, Storyboard
from storyframe.progress import QuietReporter, Reporter
from storyframe.project import Project
from storyframe.registry import Registry
from storyframe.run_summary import Summary
from storyframe.story import StoryText
from storyframe.text_stage import CACHE, settings_diff

if TYPE_CHECKING:
    from storyframe.cost import Budget
    from storyframe.takes import Take


class Pipeline:
    """Runs the stages against a registry of providers, reporting progress as it goes."""

    def __init__(
        self,
        config: Config,
        *,
        registry: Registry | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        self.config = config
        self.registry = registry or Registry(config)
        self.reporter = reporter or QuietReporter()

    # Scenes ------------------------------------------------------------------------------

    async def write_scenes(
        self, story: StoryText, project: Project, settings: RunSettings, *, force: bool = False
    ) -> Storyboard:
        """Analyse the story and write its scenes, or resume the project that already has them
        (see :mod:`storyframe.text_stage`)."""
        return await text_stage.write_scenes(self, story, project, settings, force=force)

    # Images ------------------------------------------------------------------------------

    async def draw(
        self,
        project: Project,
        board: Storyboard,
        *,
        only: Iterable[int] | None = None,
        redraw: bool = False,
        image_providers: list[str] | None = None,
        concurrency: int | None = None,
        keep_fallbacks: bool = False,
        budget: Budget | None = None,
        variants: int = 1,
        takes: Mapping[int, Take] | None = None,
        references: bool | None = None,
    ) -> Summary:
        """Draw the approved scenes that need it, journaling every state change.

        ``only`` limits the work to those scene numbers and redraws them even if done;
        ``redraw`` redraws every approved scene. A scene a fallback drew after a better
        provider failed is tried again with the better providers, unless ``keep_fallbacks``;
        its image stays until one of them replaces it. ``budget`` (``--max-cost``) leaves the
        scenes it does not cover pending, with the reason "budget reached". ``references``
        (default ``[image] references``) draws the missing character sheets first and sends
        them with each scene (see :mod:`storyframe.characters`).

        ``variants`` tops each scene up to that many images of its current prompt (the first
        drawn stays chosen); ``takes`` draws a new take of those scenes, which is chosen. Every
        image drawn is kept as a variant of its scene (see :mod:`storyframe.takes`). The stage
        itself is :func:`storyframe.image_stage.draw`.
        """
        return await image_stage.draw(
            self,
            project,
            board,
            only=only,
            redraw=redraw,
            image_providers=image_providers,
            concurrency=concurrency,
            keep_fallbacks=keep_fallbacks,
            budget=budget,
            variants=variants,
            takes=takes,
            references=references,
        )

    # HTML --------------------------------------------------------------------------------

    def render(self, project: Project, board: Storyboard) -> Path:
        """Rebuild ``index.html`` from the manifest."""
        from storyframe.render import write_html

        try:
            return write_html(board, project.folder)
        except OSError as error:
            raise ProjectError(f"cannot write {project.html_path}: {error}.") from None


__all__ = ["CACHE", "Pipeline", "Summary", "inspect_image", "settings_diff"]
