"""The sheet stage: one reference sheet per main character, drawn like a scene.

Sheets go through the project's image chain with the same paid-work safety as scenes (the
:class:`~storyframe.drawing.SceneDrawer` journal and recovery, over sheets instead of scene
records): a request's handle is journaled before it is sent, a finished URL before the download,
and a killed run's work in flight is recovered, never bought twice. A sheet already drawn is kept;
a redraw (``--reseed``) replaces the old file only once the new one is stored.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storyframe import shutdown
from storyframe.characters import (
    SHEET_NUMBERS,
    ensure_sheets,
    main_characters,
    sheet_file,
    sheet_prompt,
    sheet_seed,
    sheet_size,
    useless_sheets,
)
from storyframe.drawing import SceneDrawer, end_stage
from storyframe.errors import ProjectError, ProviderError
from storyframe.image_chain import ImageChain, ImageOutcome
from storyframe.models import (
    Character,
    CharacterSheet,
    Fallback,
    ImageRequest,
    Storyboard,
    Style,
    utcnow,
)
from storyframe.prompts import MAX_SEED

if TYPE_CHECKING:
    from storyframe.cost import Budget
    from storyframe.pipeline import Pipeline
    from storyframe.project import Project


@dataclass
class SheetResult:
    """What the sheet stage did, by character name."""

    done: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    fallbacks: dict[str, Fallback] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)
    spent: float | None = 0.0
    """What this stage spent on new sheets (``None``: part of it unknown)."""
    skipped: str | None = None
    """Why no sheet was drawn for the scenes (their provider takes no reference images)."""


def sheet_request(
    board: Storyboard, sheet: CharacterSheet, style: Style, number: int
) -> ImageRequest:
    """The image request of ``sheet`` (its recorded prompt and seed)."""
    width, height = sheet_size(board)
    return ImageRequest(
        scene_number=number,
        title=f"{sheet.name} (character sheet)",
        prompt=sheet.prompt,
        negative_prompt=style.negative_prompt,
        width=width,
        height=height,
        seed=sheet.seed if sheet.seed is not None else 0,
        style=style,
        params={"scene_prompt": sheet.prompt.split(". ")[0], "character": sheet.name},
    )


class SheetDrawer(SceneDrawer):
    """A :class:`SceneDrawer` whose targets are character sheets (request numbers past 1000)."""

    def __init__(
        self,
        project: Project,
        board: Storyboard,
        style: Style,
        reporter: Any,
        numbers: dict[int, CharacterSheet],
    ) -> None:
        super().__init__(project, board, style, reporter)
        self.numbers = numbers
        self.sheet_result = SheetResult()
        self.before: dict[str, tuple[int | None, str]] = {}
        """The seed and prompt of a drawn sheet being redrawn, to restore if the redraw fails."""

    def _target(self, number: int) -> CharacterSheet:
        return self.numbers[number]

    def _label(self, number: int) -> str:
        return f"sheet of {self.numbers[number].name}"

    def _image_key(self, number: int) -> str:
        return sheet_file(self.numbers[number].name)

    def _journal(self, *sheets: Any, durable: bool = False) -> None:
        self.project.record_sheets(self.board, *sheets, durable=durable)

    async def draw(self, chain: ImageChain, requests: list[ImageRequest], concurrency: int) -> None:
        """Recover what is in flight, then draw the rest through ``chain``."""
        self.chain = chain
        for provider in chain.providers:
            provider.download_dir = self.project.images_dir
        to_chain = [r for r in requests if not await self._recover(chain, r)]
        to_chain = await self._admit(chain, to_chain)
        if to_chain:
            await chain.generate(to_chain, self._on_outcome, concurrency=concurrency)

    async def _admit(self, chain: ImageChain, requests: list[ImageRequest]) -> list[ImageRequest]:
        if self.budget is None or not requests:
            return requests
        from storyframe.cost import BUDGET_REASON, admit_requests

        active = chain.active()
        allowed, refused = await admit_requests(
            self.budget, active[0] if active else None, requests
        )
        for request in refused:
            sheet = self._target(request.scene_number)
            self._restore(sheet)
            if sheet.image is None:
                sheet.status, sheet.error = "pending", BUDGET_REASON
            self.sheet_result.held.append(sheet.name)
        self._journal(*(self._target(r.scene_number) for r in refused))
        return allowed

    def _restore(self, sheet: CharacterSheet) -> None:
        """Put back a drawn sheet that was to be redrawn (the redraw did not happen)."""
        if sheet.name in self.before and sheet.image is not None:
            sheet.seed, sheet.prompt = self.before.pop(sheet.name)
            sheet.status, sheet.error = "done", None

    async def _on_outcome(self, outcome: ImageOutcome, *, recovered: bool = False) -> None:
        number = outcome.request.scene_number
        sheet = self._target(number)
        image = outcome.image
        provider = (
            self.chain.provider(outcome.provider) if self.chain and outcome.provider else None
        )
        reason = outcome.error.one_line() if outcome.error else "no image"
        if image is not None:
            try:
                stored = await self._store(provider, number, image)
            except (ProviderError, ProjectError) as error:
                reason = f"storing the image failed: {error.one_line()}"
            else:
                sheet.image, sheet.status, sheet.error = stored, "done", None
                sheet.provider, sheet.model = outcome.provider, image.model or None
                sheet.cost = image.cost
                sheet.task_id = image.task_id or (sheet.job.handle if sheet.job else None)
                sheet.job, sheet.uploads, sheet.finished_at = None, {}, utcnow()
                sheet.fallback = outcome.fallback
                if image.seed is not None:
                    sheet.seed = image.seed
                self.before.pop(sheet.name, None)
                result = self.sheet_result
                result.done.append(sheet.name)
                if recovered:
                    result.recovered.append(sheet.name)
                if outcome.fallback is not None:
                    result.fallbacks[sheet.name] = outcome.fallback
            image.data = None
        if sheet.status != "done":
            self._fail(sheet, reason, settled=outcome.settled)
        self._journal(sheet)
        self.reporter.advance(
            "sheets",
            f"{sheet.name} " + (f"by {sheet.provider}" if sheet.status == "done" else "failed"),
        )

    def _fail(self, record: Any, reason: str, settled: set[str] | None = None) -> None:
        sheet: CharacterSheet = record
        job = sheet.job
        if job is not None and job.state == "submitted" and job.provider in (settled or set()):
            sheet.job = None  # the service said it failed: nothing is in flight
        if sheet.name in self.before and sheet.image is not None:
            self._restore(sheet)
            self.note(f"sheet of {sheet.name}: the redraw failed ({reason}); keeping the old one")
            self.sheet_result.failed[sheet.name] = reason
            return
        sheet.status, sheet.error = "failed", reason
        self.sheet_result.failed[sheet.name] = reason
        self.note(
            f"sheet of {sheet.name} failed ({reason}); scenes are drawn without it until "
            "`storyframe characters` draws it"
        )


def fallbacks_of(sheets: list[CharacterSheet]) -> dict[str, Fallback]:
    """The drawn sheets a fallback provider drew, by name (a run using them is degraded)."""
    return {
        s.name: s.fallback
        for s in sheets
        if s.fallback is not None and s.status == "done" and s.image is not None
    }


def needs_drawing(project: Project, sheet: CharacterSheet) -> bool:
    """Whether a sheet is missing: not drawn, its file gone or changed, or work in flight."""
    return (
        sheet.job is not None
        or sheet.status != "done"
        or sheet.image is None
        or not project.image_intact(sheet.image)
    )


async def draw_sheets(
    pipeline: Pipeline,
    project: Project,
    board: Storyboard,
    *,
    image_providers: list[str] | None = None,
    only: Character | None = None,
    reseed: bool = False,
    concurrency: int | None = None,
    budget: Budget | None = None,
    for_scenes: bool = False,
) -> SheetResult:
    """Draw the missing sheets of the main characters (or only ``only``'s; ``reseed``: redraw
    it with a new seed). Journaled like scenes; the manifest and the page are saved at the end.

    ``for_scenes`` (sheets drawn before the scenes, to send with them): nothing is drawn, and a
    note says why, when the provider that draws the scenes is paid and takes no references.
    """
    from storyframe.cost import stage_costs

    started = time.perf_counter()
    config, reporter = pipeline.config, pipeline.reporter
    style = pipeline.registry.style(board.settings.style)
    cast = [only] if only is not None else main_characters(board, config.image.sheets)
    sheets = ensure_sheets(board, cast)
    characters = {c.name: c for c in cast}
    result = SheetResult()
    todo = [s for s in sheets if (reseed and s.job is None) or needs_drawing(project, s)]
    result.kept = [s.name for s in sheets if s not in todo]
    if not todo:
        stage_costs(board)
        result.fallbacks = fallbacks_of(sheets)
        return result
    names = image_providers or board.settings.image_providers
    chain = ImageChain(
        pipeline.registry.image_slots(names),
        notify=reporter.note,
        on_submit=lambda provider, requests: drawer.on_submit(provider, requests),
        on_paid=lambda provider, request, image: drawer.on_paid(provider, request, image),
    )
    active = chain.active()
    useless = useless_sheets(active[0] if active else None) if for_scenes else None
    if useless is not None:
        await chain.aclose()
        result.skipped = useless
        if useless not in board.notes:
            board.notes.append(useless)
        reporter.note(useless)
        return result
    reporter.stage("sheets", len(todo))
    project.prepare()
    before: dict[str, tuple[int | None, str]] = {}
    numbers: dict[int, CharacterSheet] = {}
    for sheet in todo:
        character = characters[sheet.name]
        if sheet.job is None:  # work in flight keeps the prompt and seed it was sent with
            if sheet.image is not None and sheet.status == "done":
                before[sheet.name] = (sheet.seed, sheet.prompt)
            if reseed:
                sheet.seed = secrets.randbelow(MAX_SEED + 1)
            elif sheet.seed is None or sheet.image is None:
                sheet.seed = sheet_seed(board.settings.seed, sheet.name)
            sheet.prompt = sheet_prompt(character, style)
        sheet.status, sheet.error = "pending", None
        numbers[SHEET_NUMBERS + board.sheets.index(sheet) + 1] = sheet
    requests = [sheet_request(board, s, style, n) for n, s in numbers.items()]
    drawer = SheetDrawer(project, board, style, reporter, numbers)
    drawer.before = before
    drawer.budget = budget
    drawer._journal(*todo)
    try:
        with shutdown.saving(lambda: project.save(board)):
            await drawer.draw(chain, requests, concurrency or config.run.concurrency)
    finally:
        for sheet in todo:  # a redraw that was never answered keeps the old sheet
            if sheet.status == "pending":
                drawer._restore(sheet)
        await end_stage(pipeline, project, board, chain, drawer, stage="sheets", started=started)
    done = drawer.sheet_result
    done.kept = result.kept
    done.done = [s.name for s in todo if s.name in done.done]  # importance order
    done.recovered = [s.name for s in todo if s.name in done.recovered]
    done.fallbacks = fallbacks_of(sheets)  # those drawn now and those kept, as for scenes
    done.failed = {s.name: done.failed[s.name] for s in todo if s.name in done.failed}
    fresh = [s.cost for s in todo if s.name in done.done and s.name not in done.recovered]
    done.spent = None if None in fresh else round(sum(c for c in fresh if c is not None), 8)
    if budget is not None:
        for number, sheet in numbers.items():
            if number in budget.reserved:
                fresh_sheet = sheet.name in done.done and sheet.name not in done.recovered
                budget.settle(number, sheet.cost if fresh_sheet else 0.0)
    return done


__all__ = [
    "SheetDrawer",
    "SheetResult",
    "draw_sheets",
    "fallbacks_of",
    "needs_drawing",
    "sheet_request",
]
