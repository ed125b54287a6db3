"""Recovery of paid work in flight, for :class:`~storyframe.drawing.SceneDrawer`.

A killed or interrupted run can leave a scene's paid request in flight (``SceneRecord.job``): a
result whose URL was journaled is downloaded again, never bought again; a submitted request is
looked up by its handle (:meth:`ImageProvider.recover`) and submitted again only when the service
does not know it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storyframe.chains import guarded
from storyframe.errors import ProviderError
from storyframe.image_chain import ImageChain, ImageOutcome
from storyframe.models import GeneratedImage, ImageRequest


class Recovery:
    """Mixin of the drawers: settles a request's paid work in flight before the chain sees it.

    It works through the drawer's hooks (``_target``, ``_label``, ``_fail``, ``_on_outcome``),
    so a drawer of sheets recovers sheets."""

    if TYPE_CHECKING:

        def note(self, message: str) -> None: ...
        def _target(self, number: int) -> Any: ...
        def _label(self, number: int) -> str: ...
        def _fail(self, record: Any, reason: str) -> None: ...
        async def _on_outcome(self, outcome: ImageOutcome, *, recovered: bool = False) -> None: ...

    async def _recover(self, chain: ImageChain, request: ImageRequest) -> bool:
        """Recover the scene's paid work in flight; ``True`` when the scene is settled by it."""
        number = request.scene_number
        record = self._target(number)
        label = self._label(number)
        job = record.job
        if job is None:
            return False
        provider = chain.provider(job.provider)
        if provider is None:
            self.note(
                f"{label}: paid work at {job.provider} is in flight but {job.provider} "
                "is not in this run's chain; it stays journaled for a run that has it"
            )
            return False
        wanted = request.model_copy(update={"handle": job.handle})
        try:
            if job.state == "finished" and job.url:
                image: GeneratedImage | None = GeneratedImage(
                    scene_number=number,
                    provider=provider.name,
                    model=job.model or "",
                    url=job.url,
                    media_type=job.media_type or "image/png",
                    seed=job.seed,
                    cost=job.cost,
                    task_id=job.handle,
                    references=list(job.references),
                )
            elif provider.capabilities.recover:
                image = await guarded(
                    provider, f"recovering {label}", lambda: provider.recover(wanted)
                )
            else:
                self.note(
                    f"{label}: {provider.name} cannot recover work in flight; submitting it again"
                )
                record.job = None
                return False
        except ProviderError as error:
            self._fail(
                record,
                f"{provider.name}: could not learn the state of paid task "
                f"{job.handle} ({error.one_line()}); run again to ask once more",
            )
            return True
        if image is None:
            self.note(
                f"{label}: {provider.name} does not know task {job.handle} or it failed; "
                "submitting it again"
            )
            record.job = None
            return False
        self.note(f"{label}: recovered the image paid for in an earlier run")
        outcome = ImageOutcome(wanted, image=image, provider=provider.name)
        await self._on_outcome(outcome, recovered=True)
        return True


__all__ = ["Recovery"]
