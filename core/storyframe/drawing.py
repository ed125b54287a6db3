"""The drawing stage: scenes to images, with paid work journaled and recovered.

For each scene to draw:

1. Paid work a killed or interrupted run left in flight (``SceneRecord.job``) is recovered first
   (:mod:`storyframe.recovery`): a result whose URL was journaled is downloaded again, never
   bought again; a submitted request is looked up by its handle (:meth:`ImageProvider.recover`)
   and submitted again only when the service does not know it.
2. Everything else goes through the image chain. Before a request reaches a paid provider, its
   handle is journaled with the scene (state ``submitted``); when the service answers, the
   result (``finished``, with its URL) is journaled before the download.
3. Each state change is one append to the project's journal: O(1) whatever the scene count.
4. A drawn image is stored in the project by :mod:`storyframe.image_store`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storyframe import takes
from storyframe.characters import References, sent_names
from storyframe.errors import ProjectError, ProviderError
from storyframe.image_chain import ImageChain, ImageOutcome
from storyframe.image_store import ImageStore
from storyframe.images import inspect_image
from storyframe.models import (
    Fallback,
    GeneratedImage,
    ImageFile,
    ImageRequest,
    PaidJob,
    ReferenceImage,
    SceneRecord,
    Storyboard,
    Style,
    utcnow,
)
from storyframe.prompts import build_request
from storyframe.recovery import Recovery

if TYPE_CHECKING:
    from storyframe.cost import Budget
    from storyframe.pipeline import Pipeline
    from storyframe.progress import Reporter
    from storyframe.project import Project
    from storyframe.providers import ImageProvider


@dataclass
class DrawResult:
    """What the drawing stage did, scene by scene."""

    done: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    providers: dict[int, str] = field(default_factory=dict)
    kept_fallbacks: list[int] = field(default_factory=list)
    variants: dict[int, int] = field(default_factory=dict)
    """The variant number each drawn scene's new image was stored as."""


class SceneDrawer(Recovery, ImageStore):
    """Draws a list of scene records of one project through one image chain."""

    budget: Budget | None = None
    """``--max-cost``: set by the pipeline; see :meth:`_admit` and :meth:`on_submit`."""
    held: list[int]
    """Scenes left to draw because the budget would not cover them."""
    references: References | None = None
    """Character sheets to send with each scene (``[image] references``); set by the pipeline."""

    def __init__(
        self,
        project: Project,
        board: Storyboard,
        style: Style,
        reporter: Reporter,
    ) -> None:
        self.project = project
        self.board = board
        self.style = style
        self.reporter = reporter
        self.result = DrawResult()
        self._started: dict[int, float] = {}
        self.chain: ImageChain | None = None
        self.notes: list[str] = []
        self.held = []
        self.seeds: dict[int, int] = {}
        """Seeds to draw scenes with instead of their usual one (takes, candidates, resumes)."""
        self.candidates: set[int] = set()
        """Scenes drawn as extra candidates: the new image is kept, the chosen one stays."""
        self.prompts: dict[int, str] = {}
        """Scene prompts the caller composed already (each is composed once per command)."""
        self._slots = {}
        self._resent: References | None = None
        """Sheets for recovering work sent with references in a run that has them off."""

    def note(self, message: str) -> None:
        """Record a one-line note for the manifest and show it."""
        self.notes.append(message)
        self.reporter.note(message)

    # -- journal -----------------------------------------------------------------------------

    def _target(self, number: int) -> Any:
        """What request ``number`` draws (a scene record; a sheet for the sheet stage)."""
        return self.board.record(number)

    def _label(self, number: int) -> str:
        """How notes name what request ``number`` draws."""
        return f"scene {number}"

    def _image_key(self, number: int) -> int | str:
        """The name of request ``number``'s image file in the project (see Project.image_path)."""
        return number

    def _journal(self, *records: Any, durable: bool = False) -> None:
        self.project.record(self.board, *records, durable=durable)

    async def on_submit(self, provider: ImageProvider, requests: Sequence[ImageRequest]) -> None:
        """Journal each request's handle, on disk, before a paid provider sees it."""
        if not provider.needs_key:
            return  # a provider that needs no key is not paid work
        if self.budget is not None:  # cost hook: only admitted scenes reach a paid provider
            self.budget.check(provider.name, (r.scene_number for r in requests))
        records = []
        for request in requests:
            record = self._target(request.scene_number)
            if request.handle is None:
                continue
            record.job = PaidJob(
                provider=provider.name,
                handle=request.handle,
                seed=request.seed,
                references=sent_names(provider, request),
            )
            records.append(record)
        if records:
            self._journal(*records)
            await self.project.flush_journal()

    def on_paid(
        self, provider: ImageProvider, request: ImageRequest, image: GeneratedImage
    ) -> None:
        """Journal a finished paid result (its URL) before it is downloaded."""
        record = self._target(request.scene_number)
        if record.job is None or record.job.handle != request.handle:
            return
        record.job = record.job.model_copy(
            update={
                "state": "finished",
                "url": image.url,
                "model": image.model or None,
                "seed": image.seed,
                "cost": image.cost,
                "media_type": image.media_type,
            }
        )
        self._journal(record)

    # -- the stage ---------------------------------------------------------------------------

    async def run(
        self,
        chain: ImageChain,
        records: list[SceneRecord],
        *,
        concurrency: int,
        stop_at: dict[int, str],
    ) -> DrawResult:
        """Draw ``records``; ``stop_at`` keeps fallback images unless a better provider draws."""
        self.chain = chain
        for provider in chain.providers:
            provider.download_dir = self.project.images_dir
        requests: list[ImageRequest] = []
        fresh: list[SceneRecord] = []
        for record in records:
            request = build_request(
                record.scene,
                self.style,
                self.board.analysis,
                base_seed=self.board.settings.seed,
                width=self.board.settings.width,
                height=self.board.settings.height,
                prompt=self.prompts.get(record.scene.number),
            )
            number = record.scene.number
            takes.ensure_variants(record)  # before the fields of the chosen image change
            if number in self.seeds:
                request = request.model_copy(update={"seed": self.seeds[number]})
            candidate = number in self.candidates
            self._started[number] = time.perf_counter()
            if (
                record.job is not None
                and record.job.state == "submitted"
                and (record.prompt != request.prompt)
                and not candidate
            ):
                self.note(
                    f"scene {record.scene.number}: prompt edited since it was submitted to "
                    f"{record.job.provider}; that request is given up"
                )
                record.job = None
            request.references = self._references_for(record)
            if record.fallback is None and not candidate:
                record.prompt, record.negative_prompt = request.prompt, request.negative_prompt
                record.seed, record.status, record.error = request.seed, "pending", None
                record.attempts = []
            record.started_at, record.finished_at, record.seconds = utcnow(), None, None
            requests.append(request)
            fresh.append(record)
        self._journal(*fresh)

        sheets = self.references or self._resent
        if sheets is not None:  # upload ids are journaled before any request uses one
            requests = await sheets.upload(chain, requests)
        to_chain = []
        for request in requests:
            if await self._recover(chain, request):
                continue
            to_chain.append(request)
        to_chain = await self._admit(chain, to_chain)  # cost hook (--max-cost)
        if to_chain:
            await chain.generate(
                to_chain, self._on_outcome, concurrency=concurrency, stop_at=stop_at
            )
        return self.result

    def _references_for(self, record: SceneRecord) -> list[ReferenceImage]:
        """The sheets a scene's request carries: those its paid work in flight was sent with (a
        recovery sends the same task), else those of the characters present (references on)."""
        job = record.job
        if job is not None and job.references:
            sheets = self.references or self._resent
            if sheets is None:
                sheets = self._resent = References(self.project, self.board, note=self.note)
            return sheets.named(job.references)
        return self.references.for_scene(record.scene) if self.references is not None else []

    # -- budget (storyframe.cost) -------------------------------------------------------------

    async def _admit(self, chain: ImageChain, requests: list[ImageRequest]) -> list[ImageRequest]:
        """The requests the budget covers at the first provider's estimate; the others stay
        pending with the reason "budget reached", for a later run."""
        self.held = []
        if self.budget is None or not requests:
            return requests
        from storyframe.cost import BUDGET_REASON, admit_requests

        active = chain.active()
        allowed, refused = await admit_requests(
            self.budget, active[0] if active else None, requests
        )
        for request in refused:
            record = self.board.record(request.scene_number)
            unpriced = request.scene_number in self.budget.unpriced
            drawn = record.image is not None and self.project.image_intact(record.image)
            record.status = "done" if drawn else "pending"  # a redraw keeps its image
            if drawn:
                takes.restore_chosen(record)
            record.error = (
                None if drawn else BUDGET_REASON + (" (price unknown)" if unpriced else "")
            )
            record.started_at = None
            self.held.append(request.scene_number)
        if refused:
            self._journal(*(self.board.record(r.scene_number) for r in refused))
        return allowed

    # -- outcomes ----------------------------------------------------------------------------

    async def _on_outcome(self, outcome: ImageOutcome, *, recovered: bool = False) -> None:
        number = outcome.request.scene_number
        record = self.board.record(number)
        record.attempts = [*record.attempts, *outcome.attempts]
        image = outcome.image
        provider = (
            self.chain.provider(outcome.provider) if self.chain and outcome.provider else None
        )
        if image is not None:
            try:
                stored = await self._store(provider, number, image)
            except (ProviderError, ProjectError) as error:
                reason = error.one_line()
                record.attempts.append(f"{outcome.provider}: storing failed: {reason}")
                self._finish_failed(record, outcome, f"storing the image failed: {reason}")
            else:
                self._finish_done(record, outcome, image, stored, recovered=recovered)
        else:
            reason = outcome.error.one_line() if outcome.error else "no image"
            self._finish_failed(record, outcome, reason)
        if image is not None:
            image.data = None  # stored or refused: the bytes are not held for the stage's end
        record.finished_at = utcnow()
        record.seconds = round(time.perf_counter() - self._started.get(number, 0.0), 3)
        self._journal(record)
        self.reporter.advance(
            "images",
            f"scene {number} " + (f"by {record.provider}" if record.status == "done" else "failed"),
        )

    def _finish_done(
        self,
        record: SceneRecord,
        outcome: ImageOutcome,
        image: GeneratedImage,
        stored: ImageFile,
        *,
        recovered: bool,
    ) -> None:
        number = record.scene.number
        self._keep_variant(record, outcome, image, stored)
        self.result.done.append(number)
        if recovered:
            self.result.recovered.append(number)
        self.result.providers[number] = outcome.provider or "?"
        if number in self.candidates:
            record.job = None  # a candidate: the chosen image stays
            return
        record.image = stored
        record.status, record.error = "done", None
        record.provider, record.model = outcome.provider, image.model or None
        record.cost = image.cost
        record.task_id = image.task_id or (record.job.handle if record.job else None)
        record.job = None
        record.fallback = outcome.fallback
        record.references = list(image.references)
        if image.seed is not None:
            record.seed = image.seed

    def _keep_variant(
        self, record: SceneRecord, outcome: ImageOutcome, image: GeneratedImage, stored: ImageFile
    ) -> None:
        number = record.scene.number
        self.result.variants[number] = slot = self._slots.pop(number, len(record.variants) + 1)
        takes.keep_variant(
            record,
            slot,
            stored,
            seed=image.seed if image.seed is not None else outcome.request.seed,
            prompt=outcome.request.prompt,
            provider=outcome.provider,
            model=image.model or None,
            cost=image.cost,
        )

    def _finish_failed(self, record: SceneRecord, outcome: ImageOutcome, reason: str) -> None:
        number = record.scene.number
        job = record.job
        if job is not None and job.state == "submitted" and job.provider in outcome.settled:
            record.job = None  # the service said it failed: nothing is in flight
        if number in self.candidates:
            self.result.failed[number] = f"another candidate image: {reason}"
            return  # the scene keeps its chosen image and stays done
        if record.fallback is not None and record.image is not None:
            # A better provider failed again: the fallback image stays until one replaces it.
            record.status = "done"
            self.result.kept_fallbacks.append(number)
            self.note(
                f"scene {number}: {record.fallback.after} failed again ({reason}); "
                f"keeping the image by {record.fallback.provider}"
            )
            return
        self._fail(record, reason)

    def _fail(self, record: SceneRecord, reason: str) -> None:
        record.status, record.error = "failed", reason
        self.result.failed[record.scene.number] = reason


async def end_stage(
    pipeline: Pipeline,
    project: Project,
    board: Storyboard,
    chain: ImageChain,
    drawer: SceneDrawer,
    *,
    stage: str,
    started: float,
) -> None:
    """What a drawing stage does last, whatever happened: close the chain, keep its and the
    drawer's notes, flush the stage's writes (one sync), record its cost and time, save the
    manifest and rebuild the page."""
    from storyframe.cost import stage_costs

    await chain.aclose()
    board.notes.extend(n for n in chain.notes if n not in board.notes)
    board.notes.extend(n for n in drawer.notes if n not in board.notes)
    project.sync()
    stage_costs(board, seconds={stage: time.perf_counter() - started})
    project.save(board)
    pipeline.render(project, board)


def fallback_line(scenes: dict[int, Fallback]) -> str:
    """``2 by placeholder after runware failed: timeoutProvider`` for the summary."""
    groups: dict[tuple[str, str], list[int]] = {}
    reasons: dict[tuple[str, str], str] = {}
    for number, fallback in sorted(scenes.items()):
        key = (fallback.provider, fallback.after)
        groups.setdefault(key, []).append(number)
        reasons.setdefault(key, fallback.reason)
    return "; ".join(
        f"{len(numbers)} by {provider} after {after} failed: {reasons[(provider, after)]}"
        for (provider, after), numbers in groups.items()
    )


__all__ = ["DrawResult", "SceneDrawer", "fallback_line", "inspect_image"]
