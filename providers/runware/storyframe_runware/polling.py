"""Waiting for a task with ``getResponse``: about 1 s first, then x1.5 up to a cap, bounded."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from storyframe.errors import BadResponse, ProviderError, Transient
from storyframe_runware.errors import PROVIDER
from storyframe_runware.results import Failed, Outcome, Pending, Unknown, read_envelope
from storyframe_runware.tasks import get_response_task, task_details_task

if TYPE_CHECKING:
    from storyframe.http import HttpClient

log = logging.getLogger("storyframe.runware")

GROWTH = 1.5


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


async def poll(
    client: HttpClient,
    task_uuid: str,
    *,
    interval: float,
    max_interval: float,
    timeout: float,
    request_timeout: float,
    exists: bool = False,
) -> Outcome:
    """Poll ``task_uuid`` until it is no longer pending or ``timeout`` seconds have passed.

    Returns ``Done``, ``Failed`` or ``Unknown``; the time running out, or a poll refused for good
    (an auth error), is ``Failed``. With ``exists`` (Runware answered ``conflictTaskUUID``: it
    has the task) a task ``getResponse`` does not know, a sync one, is asked for with
    ``getTaskDetails`` until it has finished.
    """
    deadline = time.monotonic() + timeout
    delay = interval
    polls = 0
    last: ProviderError | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            why = f" (last poll: {last.one_line()})" if last is not None else ""
            return Failed(
                Transient(
                    f"Runware task {task_uuid} not finished after {timeout:g} s of polling{why}",
                    provider=PROVIDER,
                    code="pollTimeout",
                )
            )
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * GROWTH, max_interval)
        polls += 1
        remaining = deadline - time.monotonic()
        ask = max(0.1, min(request_timeout, remaining))
        try:
            outcome = await get_response(client, task_uuid, timeout=ask)
            if exists and isinstance(outcome, Unknown):
                outcome = await task_details(client, task_uuid, timeout=ask)
                if isinstance(outcome, Unknown):
                    continue  # it exists but has not finished: sync tasks are archived when done
        except (BadResponse, Transient) as error:
            # Polls are free: an unreadable answer or a passing failure is asked again later.
            log.info("runware task %s: poll failed (%s); polling on", task_uuid, error)
            last = error
            continue
        except ProviderError as error:
            return Failed(error)
        if not isinstance(outcome, Pending):
            log.debug(
                "runware task %s: %s after %d polls", task_uuid, type(outcome).__name__, polls
            )
            return outcome
