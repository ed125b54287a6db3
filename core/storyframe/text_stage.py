"""The text stage: the story analysed and its scenes written into the manifest.

:func:`write_scenes` runs the text chain once per project; a project that has its scenes already
is resumed, provided it was made from the same story with the same output settings.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from storyframe.chains import TextChain
from storyframe.errors import BadResponse, ProjectError
from storyframe.models import RunSettings, SceneRecord, Storyboard, StoryInfo
from storyframe.project import Project
from storyframe.prompts import scene_seed
from storyframe.providers import TextJob
from storyframe.story import StoryText

if TYPE_CHECKING:
    from storyframe.pipeline import Pipeline
    from storyframe.progress import Reporter

CACHE = "cache"
"""The project sub-folder where text providers keep reusable work (one folder each)."""

# Settings that change what a project contains; a resume must match them.
_OUTPUT_SETTINGS = ("scenes", "style", "seed", "width", "height")


def settings_diff(old: RunSettings, new: RunSettings) -> list[str]:
    """The output-shaping settings that differ, as ``name old -> new``."""
    return [
        f"{name} {getattr(old, name)} -> {getattr(new, name)}"
        for name in _OUTPUT_SETTINGS
        if getattr(old, name) != getattr(new, name)
    ]


async def write_scenes(
    pipeline: Pipeline,
    story: StoryText,
    project: Project,
    settings: RunSettings,
    *,
    force: bool = False,
) -> Storyboard:
    """Analyse the story and write its scenes, or resume the project that already has them."""
    style = pipeline.registry.style(settings.style)
    project.check_usable()
    if project.exists():
        old = _load_for_resume(pipeline.reporter, project, story, settings, force=force)
        if old is not None:
            return old
    text = pipeline.registry.text_slots(settings.text_providers)
    chain = TextChain(text, notify=pipeline.reporter.note)
    scene_range = (pipeline.config.run.auto_min, pipeline.config.run.auto_max)
    wanted = settings.scenes if isinstance(settings.scenes, int) else None
    for provider in chain.providers:
        provider.job = TextJob(wanted, scene_range, project.folder / CACHE / provider.name)
    started = time.perf_counter()
    try:
        pipeline.reporter.stage("scenes", 2)
        analysis, analyst = await chain.analyze(story.text)
        pipeline.reporter.advance("scenes", f"analysis by {analyst}")
        count = wanted or min(max(analysis.recommended_scenes, scene_range[0]), scene_range[1])
        scenes, writer = await chain.generate_scenes(story.text, count, style, analysis)
        pipeline.reporter.advance("scenes", f"{len(scenes)} scenes by {writer}")
        if not scenes:
            raise BadResponse(f"{writer} wrote no scenes for this story", provider=writer)
        scenes = [s.model_copy(update={"number": i}) for i, s in enumerate(scenes, 1)]
        if len(scenes) < count:
            chain.note(
                f"the story is long enough for {len(scenes)} scenes only; wrote "
                f"{len(scenes)} instead of {count}"
            )
        if pipeline.config.text.enhance_prompts:
            scenes = [
                s.model_copy(
                    update={"image_prompt": await chain.enhance_prompt(s, analysis, style)}
                )
                for s in scenes
            ]
        usage = chain.usage()
        calls = [c for p in chain.providers for c in getattr(p, "calls", [])]
    finally:
        await chain.aclose()
    title = analysis.title or story.title
    board = Storyboard(
        story=StoryInfo(
            path=str(story.path), sha256=story.sha256, title=title, characters=len(story.text)
        ),
        settings=settings,
        analysis=analysis,
        text_provider=writer,
        text_fallback=chain.fallback(),
        text_usage=usage,
        text_calls=calls,
        notes=list(chain.notes),
        scenes=[SceneRecord(scene=s, seed=scene_seed(settings.seed, s.number)) for s in scenes],
    )
    from storyframe.cost import stage_costs

    stage_costs(board, seconds={"text": time.perf_counter() - started})
    if force:
        _clear_images(project)
    project.prepare()
    project.save(board)
    pipeline.render(project, board)
    return board


def _load_for_resume(
    reporter: Reporter, project: Project, story: StoryText, settings: RunSettings, *, force: bool
) -> Storyboard | None:
    old = project.load()
    if force:
        return None
    if old.story.sha256 != story.sha256:
        raise ProjectError(
            f"{project.folder} holds the project of another story ({old.story.path}), or "
            "the story changed since.",
            hint="Use --force to start it over, or choose another --out.",
        )
    changed = settings_diff(old.settings, settings)
    if changed:
        raise ProjectError(
            f"{project.folder} was made with other settings ({'; '.join(changed)}).",
            hint="Use the same options to resume, --force to start over, or another --out.",
        )
    if not old.scenes:
        return None
    reporter.note(
        f"resuming {project.folder}: scenes already written "
        f"({sum(r.status == 'done' for r in old.scenes)} of {len(old.scenes)} drawn)"
    )
    return old


def _clear_images(project: Project) -> None:
    if project.images_dir.is_dir():
        for path in project.images_dir.glob("scene-*.*"):
            with contextlib.suppress(OSError):
                path.unlink()


__all__ = ["CACHE", "settings_diff", "write_scenes"]
