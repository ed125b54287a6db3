"""The pipeline: story -> analysis -> scenes -> image requests -> images -> manifest -> HTML.

Two steps a user can run apart (with a review in between) or together:

- :meth:`Pipeline.write_scenes` analyses the story and writes the scenes into the manifest;
- :meth:`Pipeline.draw` draws the approved scenes that are not done yet, saving the manifest after
  each one, so a crash or a kill loses no finished scene and a re-run spends nothing on them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storyframe import shutdown
from storyframe.chains import TextChain
from storyframe.config import Config
from storyframe.drawing import SceneDrawer, fallback_line
from storyframe.errors import BadResponse, ProjectError
from storyframe.image_chain import ImageChain
from storyframe.images import inspect_image
from storyframe.models import (
    Fallback,
    RunSettings,
    SceneRecord,
    Storyboard,
    StoryInfo,
)
from storyframe.progress import QuietReporter, Reporter
from storyframe.project import Project
from storyframe.prompts import compose_prompt, scene_seed
from storyframe.providers import TextJob
from storyframe.registry import Registry
from storyframe.story import StoryText
from storyframe.takes import (
    Take,
    draw_in_rounds,
    ensure_variants,
    plan_extras,
    take_seed,
    was_drawn,
)

if TYPE_CHECKING:
    from storyframe.cost import Budget
    from storyframe.sheets import SheetResult

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
    recovered: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    unapproved: list[int] = field(default_factory=list)
    text_provider: str | None = None
    text_fallback: Fallback | None = None
    image_providers: dict[int, str] = field(default_factory=dict)
    image_fallbacks: dict[int, Fallback] = field(default_factory=dict)
    cost: float = 0.0
    text_cost: float = 0.0
    """The part of ``cost`` spent on text (analysis and scenes)."""
    notes: list[str] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    """Scenes left to draw because ``--max-cost`` would not cover them."""
    spent: float | None = None
    """What this command spent (``None``: part of it unknown)."""
    costs: dict[str, Any] = field(default_factory=dict)
    """The project's cost and time per stage (:func:`storyframe.cost.cost_dict`)."""
    cost_text: str = ""
    """The same in words, for the final line."""
    sheets: SheetResult | None = None
    """What the sheet stage did, when references were on."""

    @property
    def ok(self) -> bool:
        """Whether every scene asked for was drawn."""
        return not self.failed

    @property
    def degraded(self) -> bool:
        """Whether a fallback did work that a preferred provider failed to do."""
        sheets = self.sheets is not None and bool(self.sheets.fallbacks)
        return bool(self.image_fallbacks) or self.text_fallback is not None or sheets

    def fallbacks(self) -> list[dict[str, Any]]:
        """Each piece of work a fallback did, for ``--json``."""
        rows: list[dict[str, Any]] = []
        if self.text_fallback is not None:
            rows.append({"stage": "text", "scene": None, **self.text_fallback.model_dump()})
        for number, fallback in sorted(self.image_fallbacks.items()):
            rows.append({"stage": "image", "scene": number, **fallback.model_dump()})
        for name, fallback in (self.sheets.fallbacks if self.sheets else {}).items():
            rows.append(
                {"stage": "sheet", "scene": None, "character": name, **fallback.model_dump()}
            )
        return rows

    def degradation(self) -> str:
        """The fallbacks in words ("" when there were none)."""
        parts = []
        if self.text_fallback is not None:
            fb = self.text_fallback
            parts.append(f"scenes written by {fb.provider} after {fb.after} failed: {fb.reason}")
        if self.image_fallbacks:
            parts.append(fallback_line(self.image_fallbacks))
        for name, fb in (self.sheets.fallbacks if self.sheets else {}).items():
            parts.append(f"sheet of {name} by {fb.provider} after {fb.after} failed: {fb.reason}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "ok": self.ok,
            "degraded": self.degraded,
            "project": str(self.project),
            "manifest": str(self.project / "storyboard.json"),
            "html": str(self.project / "index.html"),
            "scenes": self.total,
            "done": sorted(self.done + self.kept),
            "drawn": sorted(self.done),
            "kept": sorted(self.kept),
            "recovered": sorted(self.recovered),
            "failed": {str(k): v for k, v in sorted(self.failed.items())},
            "unapproved": self.unapproved,
            "fallbacks": self.fallbacks(),
            "text_provider": self.text_provider,
            "image_providers": {str(k): v for k, v in sorted(self.image_providers.items())},
            "cost": self.cost,
            "text_cost": self.text_cost,
            "costs": self.costs,
            "spent": self.spent,
            "held": sorted(self.held),
            "sheets": None
            if self.sheets is None
            else {
                "drawn": self.sheets.done,
                "kept": self.sheets.kept,
                "recovered": self.sheets.recovered,
                "failed": self.sheets.failed,
                "held": self.sheets.held,
            },
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
        started = time.perf_counter()
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
            text_fallback=chain.fallback(),
            text_usage=usage,
            text_calls=calls,
            notes=list(chain.notes),
            scenes=[SceneRecord(scene=s, seed=scene_seed(settings.seed, s.number)) for s in scenes],
        )
        from storyframe.cost import stage_costs

        stage_costs(board, seconds={"text": time.perf_counter() - started})
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
        image drawn is kept as a variant of its scene (see :mod:`storyframe.takes`).
        """
        from storyframe.cost import cost_dict, cost_line, stage_costs

        started = time.perf_counter()
        style = self.registry.style(board.settings.style)
        asked_takes = dict(takes or {})
        wanted = set(only) if only is not None else None
        if asked_takes:
            wanted = (wanted or set()) | set(asked_takes)
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
        summary.text_fallback = board.text_fallback
        todo: list[SceneRecord] = []
        stop_at: dict[int, str] = {}
        seeds: dict[int, int] = {}
        prompts: dict[int, str] = {}
        for record in board.scenes:
            number = record.scene.number
            if wanted is not None and number not in wanted:
                if record.status == "done":
                    summary.kept.append(number)
                continue
            if not record.approved:
                summary.unapproved.append(number)
                continue
            prompt = prompts[number] = compose_prompt(record.scene, style, board.analysis)
            ensure_variants(record)  # a record made before variants: its image is variant 1
            if number in asked_takes:
                record.fallback = None
                seeds[number] = take_seed(board.settings.seed, record, prompt, asked_takes[number])
                todo.append(record)
                continue
            # A scene being drawn resumes with the seed it was (or is being) drawn with; a redraw
            # of the chosen image keeps its seed; an edited prompt starts from the usual seed.
            job_seed = record.job.seed if record.job is not None else None
            seed = job_seed if job_seed is not None else record.seed
            if seed is not None and (record.status != "done" or was_drawn(record, prompt)):
                seeds[number] = seed
            unchanged = (
                record.status == "done"
                and not redraw
                and wanted is None
                and was_drawn(record, prompt)
                and project.image_intact(record.image)
            )
            if unchanged and record.fallback is not None and record.provider and not keep_fallbacks:
                stop_at[number] = record.provider
                todo.append(record)
                continue
            if unchanged:
                summary.kept.append(number)
                continue
            if record.status == "done" and not was_drawn(record, prompt) and wanted is None:
                self.reporter.note(f"scene {number}: prompt edited since drawn; drawing it again")
            if record.fallback is not None and not unchanged:
                record.fallback = None
            todo.append(record)

        extras = plan_extras(board, todo, prompts, variants, asked_takes)
        project.prepare()
        names = image_providers or board.settings.image_providers
        if references is None:
            references = self.config.image.references
        sheets = None
        if (todo or extras) and references:
            from storyframe.sheets import draw_sheets

            sheets = await draw_sheets(
                self,
                project,
                board,
                image_providers=names,
                concurrency=concurrency,
                budget=budget,
                for_scenes=True,
            )
        self.reporter.stage("images", len(todo) + sum(extras.values()))
        if todo or extras:
            drawer = SceneDrawer(project, board, style, self.reporter)
            drawer.budget = budget
            drawer.prompts = prompts
            if references:
                from storyframe.characters import References

                drawer.references = References(project, board, note=drawer.note)
            chain = ImageChain(
                self.registry.image_slots(names),
                notify=self.reporter.note,
                on_submit=drawer.on_submit,
                on_paid=drawer.on_paid,
            )
            try:
                with shutdown.saving(lambda: project.save(board)):
                    rounds = await draw_in_rounds(
                        drawer,
                        chain,
                        todo,
                        seeds=seeds,
                        extras=extras,
                        prompts=prompts,
                        concurrency=concurrency or self.config.run.concurrency,
                        stop_at=stop_at,
                    )
            finally:
                await chain.aclose()
                board.notes.extend(n for n in chain.notes if n not in board.notes)
                board.notes.extend(n for n in drawer.notes if n not in board.notes)
                project.sync()
                stage_costs(board, seconds={"images": time.perf_counter() - started})
                project.save(board)
                self.render(project, board)
            result = rounds.result
            summary.done = result.done
            summary.kept = [n for n in summary.kept if n not in result.done]
            summary.recovered = result.recovered
            summary.failed = result.failed
            summary.image_providers = result.providers
            summary.kept.extend(result.kept_fallbacks)
            summary.held = rounds.held
            spent = rounds.spent
        else:
            stage_costs(board)
            if project.journal_path.exists():  # a killed run's last changes: fold them in
                project.save(board)
            self.render(project, board)
            spent = []
        asked = set(summary.done) | set(summary.kept)
        summary.image_fallbacks = {
            r.scene.number: r.fallback
            for r in board.scenes
            if r.fallback is not None and r.scene.number in asked and r.status == "done"
        }
        summary.sheets = sheets
        sheet_cost = sum(s.cost or 0.0 for s in board.sheets if s.image is not None)
        summary.cost = round(board.image_cost + board.text_usage.cost + sheet_cost, 8)
        summary.notes = list(board.notes)
        summary.costs = cost_dict(board)
        summary.cost_text = cost_line(board)
        # Each image bought in this command (not those recovered, paid for in an earlier run);
        # the budget was settled with them round by round, and with the sheets as they were drawn.
        images_spent = None if None in spent else sum(c for c in spent if c is not None)
        if sheets is not None and images_spent is not None:
            images_spent = None if sheets.spent is None else images_spent + sheets.spent
        summary.spent = images_spent
        return summary

    # HTML --------------------------------------------------------------------------------

    def render(self, project: Project, board: Storyboard) -> Path:
        """Rebuild ``index.html`` from the manifest."""
        from storyframe.render import write_html

        try:
            return write_html(board, project.folder)
        except OSError as error:
            raise ProjectError(f"cannot write {project.html_path}: {error}.") from None


__all__ = ["Pipeline", "Summary", "inspect_image", "settings_diff"]
