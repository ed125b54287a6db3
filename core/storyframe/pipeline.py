"""The pipeline: story -> analysis -> scenes -> image requests -> images -> manifest -> HTML.

Two steps a user can run apart (with a review in between) or together:

- :meth:`Pipeline.write_scenes` analyses the story and writes the scenes into the manifest;
- :meth:`Pipeline.draw` draws the approved scenes that are not done yet, saving the manifest after
  each one, so a crash or a kill loses no finished scene and a re-run spends nothing on them.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyframe.config import Config
from storyframe.errors import BadResponse, ProjectError, ProviderError
from storyframe.models import (
    GeneratedImage,
    ImageFile,
    RunSettings,
    SceneRecord,
    Storyboard,
    StoryInfo,
    Style,
    utcnow,
)
from storyframe.progress import QuietReporter, Reporter
from storyframe.project import Project
from storyframe.prompts import build_request, compose_prompt, scene_seed
from storyframe.providers import TextJob
from storyframe.registry import ImageChain, ImageOutcome, Registry, TextChain
from storyframe.story import StoryText

CACHE = "cache"
"""The project sub-folder where text providers keep reusable work (one folder each)."""

# Settings that change what a project contains; a resume must match them.
_OUTPUT_SETTINGS = ("scenes", "style", "seed", "width", "height")


@dataclass
class Summary:
    """What a command did, for the final message and ``--json``."""

    project: Path
    total: int = 0
    done: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    unapproved: list[int] = field(default_factory=list)
    text_provider: str | None = None
    image_providers: dict[int, str] = field(default_factory=dict)
    cost: float = 0.0
    text_cost: float = 0.0
    """The part of ``cost`` spent on text (analysis and scenes)."""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every scene asked for was drawn."""
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "ok": self.ok,
            "project": str(self.project),
            "manifest": str(self.project / "storyboard.json"),
            "html": str(self.project / "index.html"),
            "scenes": self.total,
            "done": sorted(self.done + self.kept),
            "drawn": sorted(self.done),
            "kept": sorted(self.kept),
            "failed": {str(k): v for k, v in sorted(self.failed.items())},
            "unapproved": self.unapproved,
            "text_provider": self.text_provider,
            "image_providers": {str(k): v for k, v in sorted(self.image_providers.items())},
            "cost": self.cost,
            "text_cost": self.text_cost,
            "notes": self.notes,
        }


def settings_diff(old: RunSettings, new: RunSettings) -> list[str]:
    """The output-shaping settings that differ, as ``name old -> new``."""
    return [
        f"{name} {getattr(old, name)} -> {getattr(new, name)}"
        for name in _OUTPUT_SETTINGS
        if getattr(old, name) != getattr(new, name)
    ]


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
        """Analyse the story and write its scenes, or resume the project that already has them."""
        style = self.registry.style(settings.style)
        project.check_usable()
        if project.exists():
            old = self._load_for_resume(project, story, settings, force=force)
            if old is not None:
                return old
        text = self.registry.text_slots(settings.text_providers)
        chain = TextChain(text, notify=self.reporter.note)
        scene_range = (self.config.run.auto_min, self.config.run.auto_max)
        wanted = settings.scenes if isinstance(settings.scenes, int) else None
        for provider in chain.providers:
            provider.job = TextJob(wanted, scene_range, project.folder / CACHE / provider.name)
        try:
            self.reporter.stage("scenes", 2)
            analysis, analyst = await chain.analyze(story.text)
            self.reporter.advance("scenes", f"analysis by {analyst}")
            count = wanted or min(max(analysis.recommended_scenes, scene_range[0]), scene_range[1])
            scenes, writer = await chain.generate_scenes(story.text, count, style, analysis)
            self.reporter.advance("scenes", f"{len(scenes)} scenes by {writer}")
            if not scenes:
                raise BadResponse(f"{writer} wrote no scenes for this story", provider=writer)
            scenes = [s.model_copy(update={"number": i}) for i, s in enumerate(scenes, 1)]
            if len(scenes) < count:
                chain.note(
                    f"the story is long enough for {len(scenes)} scenes only; wrote "
                    f"{len(scenes)} instead of {count}"
                )
            if self.config.text.enhance_prompts:
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
            text_usage=usage,
            text_calls=calls,
            notes=list(chain.notes),
            scenes=[SceneRecord(scene=s, seed=scene_seed(settings.seed, s.number)) for s in scenes],
        )
        if force:
            self._clear_images(project)
        project.prepare()
        project.save(board)
        self.render(project, board)
        return board

    def _load_for_resume(
        self, project: Project, story: StoryText, settings: RunSettings, *, force: bool
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
        self.reporter.note(
            f"resuming {project.folder}: scenes already written "
            f"({sum(r.status == 'done' for r in old.scenes)} of {len(old.scenes)} drawn)"
        )
        return old

    def _clear_images(self, project: Project) -> None:
        if project.images_dir.is_dir():
            for path in project.images_dir.glob("scene-*.*"):
                with contextlib.suppress(OSError):
                    path.unlink()

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
    ) -> Summary:
        """Draw the approved scenes that need it; save the manifest after each one.

        ``only`` limits the work to those scene numbers and redraws them even if done;
        ``redraw`` redraws every approved scene.
        """
        style = self.registry.style(board.settings.style)
        wanted = set(only) if only is not None else None
        if wanted is not None:
            known = {r.scene.number for r in board.scenes}
            missing = sorted(wanted - known)
            if missing:
                raise ProjectError(
                    f"{project.folder} has no scene {', '.join(map(str, missing))} "
                    f"(it has 1 to {len(board.scenes)}).",
                    hint="Pick a scene number from storyboard.json.",
                )
        summary = Summary(project=project.folder, total=len(board.scenes))
        summary.text_provider = board.text_provider
        todo: list[SceneRecord] = []
        for record in board.scenes:
            number = record.scene.number
            if wanted is not None and number not in wanted:
                if record.status == "done":
                    summary.kept.append(number)
                continue
            if not record.approved:
                summary.unapproved.append(number)
                continue
            prompt = compose_prompt(record.scene, style, board.analysis)
            if (
                record.status == "done"
                and not redraw
                and wanted is None
                and record.prompt == prompt
                and project.image_intact(record.image)
            ):
                summary.kept.append(number)
                continue
            if record.status == "done" and record.prompt != prompt and wanted is None:
                self.reporter.note(f"scene {number}: prompt edited since drawn; drawing it again")
            todo.append(record)

        project.prepare()
        names = image_providers or board.settings.image_providers
        self.reporter.stage("images", len(todo))
        if todo:
            chain = ImageChain(self.registry.image_slots(names), notify=self.reporter.note)
            try:
                await self._draw_records(project, board, chain, style, todo, summary, concurrency)
            finally:
                await chain.aclose()
                board.notes.extend(n for n in chain.notes if n not in board.notes)
                project.save(board)
                self.render(project, board)
        else:
            self.render(project, board)
        summary.cost = round(board.image_cost + board.text_usage.cost, 8)
        summary.notes = list(board.notes)
        return summary

    async def _draw_records(
        self,
        project: Project,
        board: Storyboard,
        chain: ImageChain,
        style: Style,
        todo: list[SceneRecord],
        summary: Summary,
        concurrency: int | None,
    ) -> None:
        base_seed = board.settings.seed
        requests = []
        started: dict[int, float] = {}
        for record in todo:
            request = build_request(
                record.scene,
                style,
                board.analysis,
                base_seed=base_seed,
                width=board.settings.width,
                height=board.settings.height,
            )
            record.prompt, record.negative_prompt = request.prompt, request.negative_prompt
            record.seed, record.status, record.error = request.seed, "pending", None
            record.started_at, record.finished_at, record.seconds = utcnow(), None, None
            record.attempts = []
            started[record.scene.number] = time.perf_counter()
            requests.append(request)
        project.save(board)

        async def on_outcome(outcome: ImageOutcome) -> None:
            number = outcome.request.scene_number
            record = board.record(number)
            record.attempts = list(outcome.attempts)
            image = outcome.image
            if image is not None:
                try:
                    stored = await self._store(project, number, image)
                except ProviderError as error:
                    outcome.error = error
                    image = None
                    record.attempts.append(f"{outcome.provider}: storing failed: {error}")
                else:
                    record.image = stored
                    record.status, record.error = "done", None
                    record.provider, record.model = outcome.provider, image.model or None
                    record.cost = image.cost
                    if image.seed is not None:
                        record.seed = image.seed
                    summary.done.append(number)
                    summary.image_providers[number] = outcome.provider or "?"
            if image is None:
                record.status = "failed"
                record.error = str(outcome.error) if outcome.error else "no image"
                summary.failed[number] = record.error
            record.finished_at = utcnow()
            record.seconds = round(time.perf_counter() - started[number], 3)
            project.save(board)
            self.reporter.advance(
                "images",
                f"scene {number} "
                + (f"by {outcome.provider}" if record.status == "done" else "failed"),
            )

        await chain.generate(
            requests, on_outcome, concurrency=concurrency or self.config.run.concurrency
        )

    async def _store(self, project: Project, number: int, image: GeneratedImage) -> ImageFile:
        data = image.data
        if data is None:
            if not image.url:
                raise BadResponse("the provider returned neither image data nor a URL")
            data = await _fetch(image.url)
        media_type, width, height = inspect_image(data)
        return project.store_image(number, data, media_type, width, height)

    # HTML --------------------------------------------------------------------------------

    def render(self, project: Project, board: Storyboard) -> Path:
        """Rebuild ``index.html`` from the manifest."""
        from storyframe.render import write_html

        try:
            return write_html(board, project.folder)
        except OSError as error:
            raise ProjectError(f"cannot write {project.html_path}: {error}.") from None


def inspect_image(data: bytes) -> tuple[str, int, int]:
    """The media type and size of image bytes; ``BadResponse`` if they are not a whole image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            kind = (image.format or "").upper()
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise BadResponse(f"image data is not a complete image ({error})") from None
    media = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}.get(kind)
    if media is None:
        raise BadResponse(f"image format {kind or 'unknown'} is not PNG, JPEG or WEBP")
    return media, width, height


async def _fetch(url: str) -> bytes:
    """Download an image a provider gave only as a URL, with the core download checks."""
    from storyframe.download import download_image
    from storyframe.http import HttpClient
    from storyframe.providers import ProviderConfig

    client = HttpClient("download", ProviderConfig())
    try:
        result = await download_image(client, url, allowed_hosts=None, max_bytes=50_000_000)
    finally:
        await client.aclose()
    data = getattr(result, "data", None)
    if data is None:
        raise BadResponse(f"download of {url} returned no data")
    return bytes(data)
