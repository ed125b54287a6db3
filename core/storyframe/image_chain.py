"""The image chain: each scene's request falls back on its own, and paid work is journaled."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from storyframe.chains import Chain, Notify
from storyframe.errors import (
    ProviderCrashed,
    ProviderError,
    Transient,
)
from storyframe.models import (
    Fallback,
    GeneratedImage,
    ImageRequest,
)
from storyframe.providers import ImageProvider, ProviderConfig

if TYPE_CHECKING:
    from storyframe.registry import Slot


@dataclass
class ImageOutcome:
    """How one image request ended: the image (and who drew it) or the last error.

    ``fallback`` is set when a later provider drew the image because an earlier one failed.
    """

    request: ImageRequest
    image: GeneratedImage | None = None
    provider: str | None = None
    error: ProviderError | None = None
    attempts: list[str] = field(default_factory=list)
    fallback: Fallback | None = None
    first_failure: tuple[str, str] | None = None
    settled: set[str] = field(default_factory=set)
    """Providers whose service confirmed that this request failed (nothing left in flight)."""


OnOutcome = Callable[[ImageOutcome], Awaitable[None]]
OnSubmit = Callable[[ImageProvider, Sequence[ImageRequest]], Awaitable[None] | None]
OnPaid = Callable[[ImageProvider, ImageRequest, GeneratedImage], None]


class ImageGate:
    """At most ``capacity`` images in flight; a batch holds one unit per image it carries.

    Batches are let in first come, first served. A batch larger than the whole capacity is let
    through alone (batches are never split).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self.used = 0
        self.peak = 0
        self._queue: deque[tuple[int, asyncio.Future[None]]] = deque()

    @contextlib.asynccontextmanager
    async def hold(self, images: int) -> AsyncIterator[None]:
        """Wait until ``images`` more fit, and hold them while the block runs."""
        units = min(max(1, images), self.capacity)
        if not self._queue and self.used + units <= self.capacity:
            self._take(units)
        else:
            waiter = (units, asyncio.get_running_loop().create_future())
            self._queue.append(waiter)
            try:
                await waiter[1]
            except asyncio.CancelledError:
                if waiter[1].done() and not waiter[1].cancelled():
                    self._release(units)  # let in just as it was cancelled: give it back
                else:
                    if waiter in self._queue:
                        self._queue.remove(waiter)
                    self._grant()
                raise
        try:
            yield
        finally:
            self._release(units)

    def _take(self, units: int) -> None:
        self.used += units
        self.peak = max(self.peak, self.used)

    def _release(self, units: int) -> None:
        self.used -= units
        self._grant()

    def _grant(self) -> None:
        while self._queue and self.used + self._queue[0][0] <= self.capacity:
            units, future = self._queue.popleft()
            if future.cancelled():
                continue  # its waiter is gone
            self._take(units)
            future.set_result(None)


def provider_limit(provider: ImageProvider) -> int | None:
    """The images ``provider`` may draw at once by its own config, or ``None`` when it sets no
    limit of its own (``concurrency`` left out: the run's ``--concurrency`` decides)."""
    config = provider.config
    if "concurrency" not in config.model_fields_set:
        return None
    return int(config.concurrency)


def new_handle() -> str:
    """A fresh idempotency handle for one submission of paid work (a uuid4)."""
    return str(uuid.uuid4())


def _resubmit(error: ProviderError) -> bool:
    """Whether a failed request is worth sending again to the same provider now."""
    return (
        isinstance(error, Transient)
        and error.resubmit_safe
        and not error.exhausted
        and not error.cooldown
    )


def _backoff(config: ProviderConfig, attempt: int, error: ProviderError) -> float:
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int | float):
        return float(min(max(retry_after, 0.0), config.retry_after_cap))
    delay = config.backoff_base * (2**attempt)
    return float(min(delay + random.uniform(0, config.backoff_base), config.backoff_max))


class ImageChain(Chain[ImageProvider]):
    """The image chain: each request falls back on its own, so one failure spares the rest.

    Before a request goes to a provider it gets a fresh ``handle`` and ``on_submit`` is called
    (the pipeline journals it); a provider reporting finished paid work reaches ``on_paid``. A
    request that fails in a way the service confirms and that may pass (a Runware
    ``timeoutProvider``) is sent again to the same provider within its retry policy's bounds
    before it moves on.
    """

    def __init__(
        self,
        slots: Sequence[Slot[ImageProvider]],
        notify: Notify | None = None,
        *,
        on_submit: OnSubmit | None = None,
        on_paid: OnPaid | None = None,
    ) -> None:
        super().__init__(slots, notify)
        self._on_submit = on_submit
        self._on_paid = on_paid
        self._slots: dict[str, ImageGate] = {}
        self._limits_noted: set[str] = set()
        for provider in self.providers:
            provider.paid_listener = self._listener(provider)

    def _listener(
        self, provider: ImageProvider
    ) -> Callable[[ImageRequest, GeneratedImage], Awaitable[None]]:
        async def listen(request: ImageRequest, image: GeneratedImage) -> None:
            if self._on_paid is not None:
                self._on_paid(provider, request, image)

        return listen

    def _slot(
        self, provider: ImageProvider, images: int
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold ``images`` of the provider's own limit, if it sets one (queued here)."""
        limit = provider_limit(provider)
        if limit is None:
            return contextlib.nullcontext()
        gate = self._slots.get(provider.name)
        if gate is None:
            gate = self._slots[provider.name] = ImageGate(limit)
        return gate.hold(images)

    def _note_limits(self, concurrency: int) -> None:
        """Say once per provider when its own configured limit is below the run's."""
        for provider in self.active():
            limit = provider_limit(provider)
            if limit is None or limit >= concurrency or provider.name in self._limits_noted:
                continue
            self._limits_noted.add(provider.name)
            self.note(
                f"{provider.name}: at most {limit} image(s) at once "
                f"([providers.{provider.name}] concurrency = {limit}), "
                f"fewer than the run's concurrency of {concurrency}"
            )

    def provider(self, name: str) -> ImageProvider | None:
        """The built provider called ``name``, if it is in the chain."""
        return next((p for p in self.providers if p.name == name), None)

    def batch_size(self) -> int:
        """How many requests the first provider likes to get at once."""
        active = self.active()
        size = getattr(active[0].config, "batch_size", 1) if active else 1
        return max(1, int(size))

    async def generate(
        self,
        requests: Sequence[ImageRequest],
        on_outcome: OnOutcome | None = None,
        *,
        concurrency: int = 4,
        stop_at: Mapping[int, str] | None = None,
    ) -> list[ImageOutcome]:
        """Draw ``requests`` with at most ``concurrency`` images in flight.

        Requests go in batches of the first provider's ``batch_size``, and a batch counts as
        as many images as it holds. A provider whose config sets a lower ``concurrency`` is
        held to it (and a note says so).

        ``on_outcome`` is awaited as each request ends, so the caller can save work as it comes.
        ``stop_at`` maps a scene number to a provider that must not be asked for it, nor any
        after it (the provider that already drew that scene as a fallback).
        """
        size = self.batch_size()
        batches = [list(requests[i : i + size]) for i in range(0, len(requests), size)]
        gate = ImageGate(concurrency)
        self._note_limits(concurrency)
        order = {p.name: i for i, p in enumerate(self.providers)}
        cutoffs = {n: order.get(name, len(order)) for n, name in (stop_at or {}).items()}

        async def run(batch: list[ImageRequest]) -> list[ImageOutcome]:
            async with gate.hold(len(batch)):
                return await self._batch(batch, on_outcome, cutoffs)

        results = await asyncio.gather(*(run(b) for b in batches))
        return [outcome for batch in results for outcome in batch]

    async def _batch(
        self,
        requests: list[ImageRequest],
        on_outcome: OnOutcome | None,
        cutoffs: Mapping[int, int],
    ) -> list[ImageOutcome]:
        outcomes = {r.scene_number: ImageOutcome(r) for r in requests}
        pending = list(requests)
        for index, provider in enumerate(self.providers):
            if not pending:
                break
            if provider.name in self.disabled:
                for request in pending:
                    outcome = outcomes[request.scene_number]
                    outcome.first_failure = outcome.first_failure or (
                        provider.name,
                        self.disabled[provider.name],
                    )
                continue
            eligible = [r for r in pending if cutoffs.get(r.scene_number, index + 1) > index]
            parked = [r for r in pending if r not in eligible]
            async with self._slot(provider, len(eligible)):
                # Work queued behind a provider that has since been rested goes on at once.
                if provider.name in self.disabled:
                    for request in eligible:
                        outcome = outcomes[request.scene_number]
                        reason = self.disabled[provider.name]
                        outcome.first_failure = outcome.first_failure or (provider.name, reason)
                        outcome.attempts.append(f"{provider.name}: not asked ({reason})")
                    pending = eligible + parked
                    continue
                failed = await self._with_provider(provider, eligible, outcomes, on_outcome)
            if failed:
                numbers = ", ".join(str(r.scene_number) for r in failed)
                self.note(f"{provider.name}: scene(s) {numbers} failed; trying the next provider")
            pending = failed + parked
        for request in pending:
            outcome = outcomes[request.scene_number]
            if outcome.error is None:  # no provider was left to try
                outcome.error = ProviderError("every image provider is disabled for this run.")
            if on_outcome:
                await on_outcome(outcome)
        return [outcomes[r.scene_number] for r in requests]

    async def _with_provider(
        self,
        provider: ImageProvider,
        requests: list[ImageRequest],
        outcomes: dict[int, ImageOutcome],
        on_outcome: OnOutcome | None,
    ) -> list[ImageRequest]:
        """Ask one provider, resending what it may still draw; return the requests it failed."""
        config = provider.config
        started = time.monotonic()
        todo = requests
        failed: list[ImageRequest] = []
        attempt = 0
        while todo:
            todo = [r.model_copy(update={"handle": new_handle()}) for r in todo]
            if self._on_submit is not None:
                submitted = self._on_submit(provider, todo)
                if submitted is not None:
                    await submitted  # the handles are on disk before the provider sees them
            try:
                results = await self.call(
                    provider, "drawing", functools.partial(provider.generate_many, todo)
                )
                if len(results) != len(todo):
                    raise ProviderCrashed(
                        f"{provider.name} returned {len(results)} results for {len(todo)} requests",
                        provider=provider.name,
                    )
            except ProviderError as error:
                results = [error] * len(todo)
            again: list[ImageRequest] = []
            delay = 0.0
            for request, result in zip(todo, results, strict=True):
                outcome = outcomes[request.scene_number]
                outcome.request = request
                if isinstance(result, GeneratedImage):
                    self.succeeded(provider)
                    outcome.image, outcome.provider, outcome.error = result, provider.name, None
                    if outcome.first_failure is not None:
                        after, reason = outcome.first_failure
                        outcome.fallback = Fallback(
                            provider=provider.name, after=after, reason=reason
                        )
                    if on_outcome:
                        await on_outcome(outcome)
                    continue
                if not isinstance(result, ProviderError):
                    result = ProviderCrashed(
                        f"{provider.name} returned {type(result).__name__} instead of an image "
                        "or an error",
                        provider=provider.name,
                    )
                result.provider = result.provider or provider.name
                outcome.error = result
                outcome.attempts.append(f"{provider.name}: {type(result).__name__}: {result}")
                if result.resubmit_safe:
                    outcome.settled.add(provider.name)
                elapsed = time.monotonic() - started
                if (
                    _resubmit(result)
                    and attempt + 1 < config.max_attempts
                    and elapsed < config.max_retry_seconds
                    and provider.name not in self.disabled
                ):
                    again.append(request)
                    delay = max(delay, _backoff(config, attempt, result))
                    continue
                outcome.first_failure = outcome.first_failure or (
                    provider.name,
                    result.one_line(),
                )
                self.failed(provider, result, f"scene {request.scene_number}", say=False)
                failed.append(request)
            if again:
                numbers = ", ".join(str(r.scene_number) for r in again)
                self.note(
                    f"{provider.name}: scene(s) {numbers} failed in a way that may pass; "
                    f"sending again in {delay:.1f} s"
                )
                await asyncio.sleep(delay)
                attempt += 1
            todo = again
        return failed


__all__ = ["ImageChain", "ImageGate", "ImageOutcome", "new_handle", "provider_limit"]
