"""Waiting for a task with ``getResponse``: about 1 s first, then x1.5 up to a cap, bounded."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from storyframe.errors import ProviderError, Transient
from storyframe_runware.errors import PROVIDER
from storyframe_runware.results import Failed, Outcome, Pending, read_envelope
from storyframe_runware.tasks import get_response_task

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


async def poll(
    client: HttpClient,
    task_uuid: str,
    *,
    interval: float,
    max_interval: float,
    timeout: float,
    request_timeout: float,
) -> Outcome:
    """Poll ``task_uuid`` until it is no longer pending or ``timeout`` seconds have passed.

    Returns ``Done``, ``Failed`` or ``Unknown``; a poll that still fails after the HTTP layer's
    retries, or the time running out, is ``Failed``.
    """
    deadline = time.monotonic() + timeout
    delay = interval
    polls = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Failed(
                Transient(
                    f"Runware task {task_uuid} not finished after {timeout:g} s of polling",
                    provider=PROVIDER,
                    code="pollTimeout",
                )
            )
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * GROWTH, max_interval)
        polls += 1
        remaining = deadline - time.monotonic()
        try:
            outcome = await get_response(
                client, task_uuid, timeout=max(0.1, min(request_timeout, remaining))
            )
        except ProviderError as error:
            return Failed(error)
        if not isinstance(outcome, Pending):
            log.debug(
                "runware task %s: %s after %d polls", task_uuid, type(outcome).__name__, polls
            )
            return outcome
