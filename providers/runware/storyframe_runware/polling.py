"""Waiting for tasks with ``getResponse``: one loop per provider, many tasks per request, the
first poll timed by how long tasks have been taking, then short steps x1.5 up to a cap."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import statistics
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storyframe.errors import BadResponse, ProviderError, Transient
from storyframe_runware.errors import PROVIDER
from storyframe_runware.results import Done, Failed, Outcome, Pending, Unknown, read_envelope
from storyframe_runware.tasks import get_response_task, task_details_task

if TYPE_CHECKING:
    from storyframe.http import HttpClient

log = logging.getLogger("storyframe.runware")

GROWTH = 1.5
"""Each later wait is this much longer than the one before."""
EARLY = 0.8
"""The first poll comes at this share of the median task time (a little early, so the estimate
can come down as well as go up)."""
STEP = 0.1
"""After a poll that found the task running, the next comes after this share of the median."""
MIN_STEP = 0.01
SAMPLES = 8
"""How many recent task times the median is taken over."""
MAX_TASKS = 50
"""The most ``getResponse`` tasks sent in one request."""


async def get_response(client: HttpClient, task_uuid: str, *, timeout: float) -> Outcome:
    """Ask once for the state of ``task_uuid`` (polls are free, so the request is retried)."""
    response = await client.request(
        "POST", "", json=[get_response_task(task_uuid)], timeout=timeout
    )
    body = response.json(provider=PROVIDER)
    return read_envelope(body, [task_uuid], status=response.status)[task_uuid]


async def task_details(client: HttpClient, task_uuid: str, *, timeout: float) -> Outcome:
    """What ``getTaskDetails`` says became of ``task_uuid``: the archived response, read as any
    answer is, or ``Unknown`` when Runware has no record of the task."""
    response = await client.request(
        "POST", "", json=[task_details_task(task_uuid)], timeout=timeout
    )
    body = response.json(provider=PROVIDER)
    outcome = read_envelope(body, [task_uuid], status=response.status)[task_uuid]
    if isinstance(outcome, Unknown | Failed):
        return outcome
    archived = _archived_response(body, task_uuid)
    if archived is None:
        return Unknown("taskNotFound")
    return read_envelope(archived, [task_uuid])[task_uuid]


def _archived_response(body: Any, task_uuid: str) -> Mapping[str, Any] | None:
    data = body.get("data") if isinstance(body, Mapping) else None
    for item in data if isinstance(data, list) else []:
        if isinstance(item, Mapping) and item.get("taskUUID") == task_uuid:
            response = item.get("response")
            if isinstance(response, Mapping):
                return response
    return None


@dataclass
class _Waiting:
    """One task the poller is waiting for."""

    task_uuid: str
    exists: bool
    started: float
    """When the task was submitted (monotonic); durations are measured from here."""
    deadline: float
    due: float
    done: asyncio.Future[Outcome]
    observe: bool = True
    step: float = 0.0
    polls: int = 0
    asking: bool = False
    pending_at: float | None = None
    """Seconds after ``started`` of the last poll that found the task still running."""
    last: ProviderError | None = field(default=None)


class Poller:
    """Polls every task a provider waits for from one loop, many ``getResponse`` tasks per request.

    The first poll of a task comes about when tasks have been taking (a little before the median
    of the recent ones, measured from submission), or after ``interval`` while nothing is known;
    then short steps (a tenth of that median, at most ``interval``), each 1.5 times longer, up to
    ``max_interval``, until ``timeout`` seconds have passed. Tasks due at about the same time are
    asked for together, matched by ``taskUUID`` in the answer.
    """

    def __init__(
        self,
        client: Callable[[], HttpClient],
        *,
        interval: float,
        max_interval: float,
        timeout: float,
        request_timeout: float,
    ) -> None:
        self._client = client
        self.interval = interval
        self.max_interval = max_interval
        self.timeout = timeout
        self.request_timeout = request_timeout
        self._waiting: dict[str, _Waiting] = {}
        self._durations: deque[float] = deque(maxlen=SAMPLES)
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._asks: set[asyncio.Task[None]] = set()
        self.requests = 0
        """``getResponse`` requests sent (for tests and benchmarks)."""

    def typical(self) -> float | None:
        """The median time recent tasks took, from submission to finished; ``None`` if unknown."""
        return statistics.median(self._durations) if self._durations else None

    def first_wait(self) -> float:
        """Seconds from submission to a task's first poll."""
        typical = self.typical()
        if typical is None:
            return min(self.interval, self.max_interval)
        return min(max(MIN_STEP, typical * EARLY), self.max_interval)

    def _next_step(self, previous: float) -> float:
        if previous:
            return min(previous * GROWTH, self.max_interval)
        typical = self.typical()
        first = self.interval if typical is None else max(MIN_STEP, typical * STEP)
        return min(first, self.interval, self.max_interval)

    async def wait(
        self, task_uuid: str, *, exists: bool = False, started: float | None = None
    ) -> Outcome:
        """Poll ``task_uuid`` until it is no longer pending or ``timeout`` seconds have passed.

        Returns ``Done``, ``Failed`` or ``Unknown``; the time running out, or a poll refused for
        good (an auth error), is ``Failed``. With ``exists`` (Runware answered
        ``conflictTaskUUID``: it has the task) a task ``getResponse`` does not know, a sync one,
        is asked for with ``getTaskDetails`` until it has finished. ``started`` is when the task
        was submitted (``time.monotonic()``); without it, the task's time is not learnt from.
        """
        now = time.monotonic()
        current = self._waiting.get(task_uuid)
        if current is not None:  # already waited for: share its answer
            return await asyncio.shield(current.done)
        entry = _Waiting(
            task_uuid=task_uuid,
            exists=exists,
            started=now if started is None else started,
            deadline=now + self.timeout,
            due=max(now, (now if started is None else started) + self.first_wait()),
            done=asyncio.get_running_loop().create_future(),
            observe=started is not None,
        )
        self._waiting[task_uuid] = entry
        if self._loop is None or self._loop.done():
            self._loop = asyncio.create_task(self._run(), name="runware-poller")
        self._wake.set()
        try:
            return await asyncio.shield(entry.done)
        finally:
            if self._waiting.get(task_uuid) is entry and not entry.done.done():
                del self._waiting[task_uuid]  # the waiter went away (cancelled)

    async def aclose(self) -> None:
        """Stop polling; waiters still waiting are cancelled."""
        tasks = [t for t in (self._loop, *self._asks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for entry in self._waiting.values():
            if not entry.done.done():
                entry.done.cancel()
        self._waiting.clear()

    def _finish(self, entry: _Waiting, outcome: Outcome) -> None:
        if self._waiting.get(entry.task_uuid) is entry:
            del self._waiting[entry.task_uuid]
        if not entry.done.done():
            entry.done.set_result(outcome)

    async def _run(self) -> None:
        try:
            while self._waiting:
                now = time.monotonic()
                for entry in list(self._waiting.values()):
                    if now >= entry.deadline and not entry.asking:
                        self._finish(entry, self._timed_out(entry))
                idle = [e for e in self._waiting.values() if not e.asking]
                if not idle:
                    await self._sleep(None)
                    continue
                wake = min(min(e.due, e.deadline) for e in idle)
                if wake > now:
                    await self._sleep(wake - now)
                    continue
                window = max(MIN_STEP, (self.typical() or self.interval) * STEP)
                due = [e for e in idle if e.due <= now + window]
                due.sort(key=lambda e: e.due)
                for start in range(0, len(due), MAX_TASKS):
                    chunk = due[start : start + MAX_TASKS]
                    for entry in chunk:
                        entry.asking = True
                    ask = asyncio.create_task(self._ask(chunk))
                    self._asks.add(ask)
                    ask.add_done_callback(self._asked)
        except Exception as error:  # never leave a waiter hanging
            log.exception("runware poller stopped")
            failure = Transient(f"polling stopped: {error}", provider=PROVIDER)
            for entry in list(self._waiting.values()):
                self._finish(entry, Failed(failure))

    def _asked(self, task: asyncio.Task[None]) -> None:
        self._asks.discard(task)
        self._wake.set()

    async def _sleep(self, seconds: float | None) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _timed_out(self, entry: _Waiting) -> Failed:
        why = f" (last poll: {entry.last.one_line()})" if entry.last is not None else ""
        return Failed(
            Transient(
                f"Runware task {entry.task_uuid} not finished after {self.timeout:g} s of "
                f"polling{why}",
                provider=PROVIDER,
                code="pollTimeout",
            )
        )

    def _again(self, entry: _Waiting, at: float) -> None:
        entry.step = self._next_step(entry.step)
        entry.due = at + entry.step
        entry.asking = False

    async def _ask(self, entries: list[_Waiting]) -> None:
        """One ``getResponse`` request for ``entries``; each gets its answer or its next poll."""
        sent = time.monotonic()
        remaining = max(e.deadline for e in entries) - sent
        timeout = max(0.1, min(self.request_timeout, remaining))
        uuids = [e.task_uuid for e in entries]
        for entry in entries:
            entry.polls += 1
        self.requests += 1
        client = self._client()
        try:
            response = await client.request(
                "POST", "", json=[get_response_task(u) for u in uuids], timeout=timeout
            )
            body = response.json(provider=PROVIDER)
            outcomes = read_envelope(body, uuids, status=response.status)
        except (BadResponse, Transient) as error:
            # Polls are free: an unreadable answer or a passing failure is asked again later.
            log.info("runware: poll of %d task(s) failed (%s); polling on", len(uuids), error)
            for entry in entries:
                entry.last = error
                self._again(entry, time.monotonic())
            return
        except ProviderError as error:
            for entry in entries:
                self._finish(entry, Failed(copy.copy(error)))
            return
        lookups = []
        for entry in entries:
            outcome = outcomes[entry.task_uuid]
            if entry.exists and isinstance(outcome, Unknown):
                lookups.append(self._details(entry, timeout))
            elif isinstance(outcome, Pending):
                entry.pending_at = sent - entry.started
                self._again(entry, time.monotonic())
            else:
                self._settled(entry, outcome, sent)
        if lookups:
            await asyncio.gather(*lookups)

    async def _details(self, entry: _Waiting, timeout: float) -> None:
        """A task Runware has (``conflictTaskUUID``) but ``getResponse`` does not know: a sync
        one, archived for ``getTaskDetails`` when it has finished."""
        sent = time.monotonic()
        try:
            outcome = await task_details(self._client(), entry.task_uuid, timeout=timeout)
        except (BadResponse, Transient) as error:
            log.info("runware task %s: lookup failed (%s); polling on", entry.task_uuid, error)
            entry.last = error
            self._again(entry, time.monotonic())
            return
        except ProviderError as error:
            self._finish(entry, Failed(error))
            return
        if isinstance(outcome, Unknown | Pending):
            self._again(entry, time.monotonic())  # it exists but has not finished
            return
        self._settled(entry, outcome, sent)

    def _settled(self, entry: _Waiting, outcome: Outcome, sent: float) -> None:
        if isinstance(outcome, Done) and entry.observe:
            took = sent - entry.started
            if entry.pending_at is not None:
                took = (took + entry.pending_at) / 2  # it finished between the two polls
            else:
                took *= EARLY  # done by the first poll, maybe long before: guess lower

            self._durations.append(max(0.0, took))
        log.debug(
            "runware task %s: %s after %d polls",
            entry.task_uuid,
            type(outcome).__name__,
            entry.polls,
        )
        self._finish(entry, outcome)
