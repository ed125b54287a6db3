"""Getting tasks' outcomes from Runware, sync or async: submit each batch once per attempt, poll
what did not answer, look up what polling does not know, and send again (under the same
taskUUID) only what Runware never got, so no image is bought twice."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol

from storyframe.errors import BadResponse, ProviderError, Transient
from storyframe_runware.errors import PROVIDER
from storyframe_runware.results import Done, Failed, Outcome, Pending, Unknown, read_envelope

if TYPE_CHECKING:
    from storyframe.http import HttpClient

log = logging.getLogger("storyframe.runware")


class Poll(Protocol):
    """Waits for one task through the provider's poller (polls go out together)."""

    def __call__(
        self, task_uuid: str, *, exists: bool = False, started: float | None = None
    ) -> Awaitable[Outcome]: ...


async def execute(
    client: HttpClient,
    poll: Poll,
    tasks: list[dict[str, Any]],
    *,
    max_attempts: int,
    timeout: float,
    name: str,
) -> dict[str, Done | Failed]:
    """Submit ``tasks``, poll the unfinished ones, resubmit only those Runware lost."""
    by_uuid = {task["taskUUID"]: task for task in tasks}
    final: dict[str, Done | Failed] = {}
    to_send = tasks
    for _ in range(max_attempts):
        sent = time.monotonic()
        submitted = await submit(client, to_send, name=name)
        waiting: list[str] = []
        for task_uuid, outcome in submitted.items():
            if isinstance(outcome, Done | Failed):
                final[task_uuid] = outcome
            else:
                waiting.append(task_uuid)
        polled = await asyncio.gather(
            *(
                settle(
                    client,
                    poll,
                    u,
                    exists=submitted[u] == Pending("conflict"),
                    started=sent,
                    timeout=timeout,
                )
                for u in waiting
            )
        )
        to_send = []
        for task_uuid, outcome in zip(waiting, polled, strict=True):
            if isinstance(outcome, Unknown):
                log.info(
                    "runware task %s unknown to Runware (%s): submitting it again",
                    task_uuid,
                    outcome.code,
                )
                to_send.append(by_uuid[task_uuid])
            elif isinstance(outcome, Done | Failed):
                final[task_uuid] = outcome
        if not to_send:
            break
    for task in to_send:
        final[task["taskUUID"]] = Failed(
            Transient(
                f"Runware lost task {task['taskUUID']}", provider=PROVIDER, code="taskNotFound"
            )
        )
    return final


async def submit(
    client: HttpClient, tasks: list[dict[str, Any]], *, name: str
) -> dict[str, Outcome]:
    """POST the tasks once per attempt, with the same taskUUIDs each time.

    Resending a taskUUID cannot buy a second image: Runware answers ``conflictTaskUUID``
    and the task is polled. A timeout is not resent at all: the request may be running,
    so it goes to polling, and is resubmitted only if polling says Runware never got it.
    """
    uuids = [task["taskUUID"] for task in tasks]
    try:
        async for attempt in client.retrying():
            with attempt:
                try:
                    response = await client.request("POST", "", json=tasks, retry=False)
                except Transient as error:
                    if error.code != "timeout":
                        raise
                    log.info("runware: %s; polling the tasks instead of resending", error)
                    return {u: Pending("timeout") for u in uuids}
                try:
                    body = response.json(provider=name)
                    return read_envelope(body, uuids, status=response.status)
                except BadResponse as error:
                    if not 200 <= response.status < 300:
                        raise
                    log.info("runware: %s; polling the tasks to learn their state", error)
                    return {u: Pending("unreadable answer") for u in uuids}
    except ProviderError as error:
        error.provider = error.provider or name
        return {u: Failed(copy.copy(error)) for u in uuids}
    raise AssertionError("unreachable")  # pragma: no cover


async def settle(
    client: HttpClient,
    poll: Poll,
    task_uuid: str,
    *,
    exists: bool = False,
    started: float | None = None,
    timeout: float,
) -> Outcome:
    """Poll a task whose answer was lost; one ``getResponse`` does not know (a sync task) is
    looked up with ``getTaskDetails`` before it may be sent again (with the same taskUUID,
    so Runware refuses it if it has it after all)."""
    from storyframe_runware.polling import task_details

    outcome = await poll(task_uuid, exists=exists, started=started)
    if isinstance(outcome, Unknown):
        try:
            return await task_details(client, task_uuid, timeout=timeout)
        except ProviderError as error:
            return Failed(error)
    return outcome


async def find(client: HttpClient, poll: Poll, handle: str, *, timeout: float) -> Outcome:
    """What became of a task an earlier run submitted as ``handle``: ``getResponse`` (async
    delivery), else ``getTaskDetails`` (a finished sync task); waited for while it runs.

    ``Unknown`` when Runware has no record of it, or a sync task is still running.
    """
    from storyframe_runware.polling import get_response, task_details

    outcome = await get_response(client, handle, timeout=timeout)
    if isinstance(outcome, Unknown):
        outcome = await task_details(client, handle, timeout=timeout)
    if isinstance(outcome, Pending):
        outcome = await poll(handle)
    return outcome
