"""Recovering paid Runware work by its handle after the run that sent it died."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from storyframe_runware.tasks import inference_task

Make = Any


async def send_as_a_killed_run_would(
    emulator: Any, provider: Any, request: Any, handle: str
) -> None:
    """POST the task the way the provider does, then forget about it (the run was killed)."""
    task = inference_task(request, provider.settings, handle)
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(emulator.base_url, json=[task], headers=headers) as response,
    ):
        await response.read()


async def test_an_async_task_is_recovered_without_a_second_submission(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    provider = make_provider(delivery="async")
    handle = str(uuid.uuid4())
    request = make_request(handle=handle)
    await send_as_a_killed_run_would(emulator, provider, request, handle)

    image = await provider.recover(request)

    assert image is not None and image.data and image.task_id == handle
    assert emulator.submissions[handle] == 1, "found by getResponse, not sent again"
    assert emulator.images_paid == 1


async def test_a_finished_sync_task_is_recovered_by_its_archived_details(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    provider = make_provider(delivery="sync")
    handle = str(uuid.uuid4())
    request = make_request(handle=handle)
    await send_as_a_killed_run_would(emulator, provider, request, handle)

    image = await provider.recover(request)

    assert image is not None and image.data and image.task_id == handle
    assert emulator.submissions[handle] == 1, "found by getTaskDetails, not sent again"
    assert emulator.images_paid == 1


async def test_a_handle_runware_never_saw_is_sent_under_that_same_handle(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    provider = make_provider(delivery="async")
    handle = str(uuid.uuid4())

    image = await provider.recover(make_request(handle=handle))

    assert image is not None and image.task_id == handle
    assert list(emulator.submissions) == [handle], "no new taskUUID is ever made up"
    assert emulator.images_paid == 1


async def test_a_task_runware_says_failed_is_left_to_submit_anew(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    provider = make_provider(delivery="async")
    handle = str(uuid.uuid4())
    request = make_request(handle=handle, prompt="a forbidden-marker scene")
    emulator.fail_prompt("forbidden-marker", "inferenceError", "the worker crashed")
    await send_as_a_killed_run_would(emulator, provider, request, handle)

    assert await provider.recover(request) is None
    assert emulator.images_paid == 0


async def test_the_result_url_is_reported_before_the_download(
    make_provider: Make, make_request: Make, emulator: Any, emu: Any
) -> None:
    provider = make_provider(delivery="async")
    heard: list[tuple[str | None, str | None, int]] = []

    async def listener(request: Any, image: Any) -> None:
        heard.append((request.handle, image.url, len(emulator.image_hits)))

    provider.paid_listener = listener
    handle = str(uuid.uuid4())
    image = await provider.generate(make_request(handle=handle))
    [(heard_handle, url, downloads_before)] = heard
    assert heard_handle == handle and url == image.url
    assert downloads_before == 0, "the URL is journaled before the image host is asked"
