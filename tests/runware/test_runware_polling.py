"""Batched, adaptive polling and images-in-flight concurrency, against the Runware look-alike."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from storyframe.errors import Transient
from storyframe.image_chain import ImageChain, ImageGate
from storyframe.models import GeneratedImage, ImageRequest
from storyframe.providers import ImageResult
from storyframe.registry import Slot

Make = Callable[..., Any]


def poll_bodies(emulator: Any) -> list[list[dict[str, Any]]]:
    return [
        body
        for body in emulator.bodies
        if isinstance(body, list) and all(t.get("taskType") == "getResponse" for t in body)
    ]


# -- the look-alike takes several getResponse tasks at once -----------------------------------


async def test_emulator_answers_a_multi_task_get_response(emulator: Any) -> None:
    known = {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": "runware:101@1",
        "positivePrompt": "a red fox in the snow",
        "width": 512,
        "height": 512,
        "deliveryMethod": "async",
    }
    stranger = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(emulator.base_url, json=[known]) as response:
            assert response.status == 200
        polls = [
            {"taskType": "getResponse", "taskUUID": known["taskUUID"]},
            {"taskType": "getResponse", "taskUUID": stranger},
        ]
        async with session.post(emulator.base_url, json=polls) as response:
            assert response.status == 200
            body = await response.json()
    assert [d["taskUUID"] for d in body["data"]] == [known["taskUUID"]]
    assert body["data"][0]["status"] == "success"
    assert [(e["code"], e["taskUUID"]) for e in body["errors"]] == [("taskNotFound", stranger)]


# -- batched polls ---------------------------------------------------------------------------


async def test_polls_for_tasks_in_flight_go_out_together(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    emulator.processing_polls = 2
    provider = make_provider(delivery="async", batch_size=2, poll_interval=0.05)
    results = await provider.generate_many([make_request(n) for n in range(1, 9)])
    assert all(isinstance(r, GeneratedImage) for r in results)
    bodies = poll_bodies(emulator)
    polled = sum(len(body) for body in bodies)
    assert polled == 8 * 3, "two processing answers and the result, for each task"
    assert len(bodies) < polled / 2, "several tasks per getResponse request"
    assert max(len(body) for body in bodies) >= 4
    assert emulator.images_paid == 8


async def test_the_first_poll_follows_the_observed_task_time(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    emulator.task_time = 0.1
    provider = make_provider(
        delivery="async", batch_size=4, poll_interval=0.6, poll_max_interval=1.0
    )
    started = time.monotonic()
    await provider.generate_many([make_request(n) for n in range(1, 5)])
    first = time.monotonic() - started
    assert first >= 0.6, "nothing known yet: the first poll waits poll_interval"
    poller = provider._poller_now()
    assert poller.typical() == pytest.approx(0.6, abs=0.15)
    for _ in range(4):  # the estimate comes down towards the real task time
        await provider.generate_many([make_request(n) for n in range(1, 5)])
    typical = poller.typical()
    assert typical is not None and typical < 0.3
    started = time.monotonic()
    await provider.generate_many([make_request(n) for n in range(1, 5)])
    assert time.monotonic() - started < 0.45
    assert poller.first_wait() <= provider.settings.poll_max_interval


async def test_poll_waits_are_bounded_by_the_config(make_provider: Make, emulator: Any) -> None:
    provider = make_provider(delivery="async", poll_interval=0.5, poll_max_interval=0.3)
    poller = provider._poller_now()
    assert poller.first_wait() == 0.3
    poller._durations.extend([50.0] * 4)
    assert poller.first_wait() == 0.3
    poller._durations.clear()
    poller._durations.extend([0.0] * 4)
    assert poller.first_wait() == pytest.approx(0.01)


async def test_batched_polls_ride_out_an_unreadable_answer(
    make_provider: Make, make_request: Make, emulator: Any, emu: Any
) -> None:
    emulator.processing_polls = 1
    emulator.queue("poll", emu.Fault(status=200, raw=b"not json"))
    provider = make_provider(delivery="async", batch_size=3)
    results = await provider.generate_many([make_request(n) for n in range(1, 4)])
    assert all(isinstance(r, GeneratedImage) for r in results)
    assert emulator.images_paid == 3
    assert all(count == 1 for count in emulator.submissions.values())


async def test_a_task_that_never_finishes_times_out_alone(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    provider = make_provider(delivery="async", batch_size=2, poll_timeout=0.3)
    original = emulator._get_response

    def stuck(task: dict[str, Any], data: list[Any], errors: list[Any]) -> None:
        if emulator.charged_prompts.get(task["taskUUID"], "").startswith("stuck"):
            emulator.polls[task["taskUUID"]] += 1
            data.append({"taskUUID": task["taskUUID"], "status": "processing"})
            return
        original(task, data, errors)

    emulator._get_response = stuck
    results = await provider.generate_many([make_request(1, prompt="stuck fox"), make_request(2)])
    assert isinstance(results[0], Transient) and results[0].code == "pollTimeout"
    assert isinstance(results[1], GeneratedImage)


async def test_cancelled_waiters_leave_the_poller_clean(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    emulator.processing_polls = 1000
    provider = make_provider(delivery="async", poll_interval=0.02)
    job = asyncio.create_task(provider.generate(make_request()))
    await asyncio.sleep(0.2)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert provider._poller_now()._waiting == {}


# -- --concurrency N means N images in flight -------------------------------------------------


class Watch:
    """Counts the images a provider is drawing at once."""

    def __init__(self, provider: Any) -> None:
        self.now = 0
        self.peak = 0
        inner = provider.generate_many

        async def generate_many(requests: Sequence[ImageRequest]) -> list[ImageResult]:
            self.now += len(requests)
            self.peak = max(self.peak, self.now)
            try:
                return list(await inner(requests))
            finally:
                self.now -= len(requests)

        provider.generate_many = generate_many


def chain_for(emulator: Any, notes: list[str], **settings: Any) -> ImageChain:
    from storyframe_runware.config import RunwareConfig
    from storyframe_runware.provider import RunwareImageProvider

    config = RunwareConfig(
        **{
            "delivery": "sync",
            "poll_interval": 0.01,
            "poll_max_interval": 0.05,
            "timeout": 2.0,
            "output_format": "PNG",
            "base_url": emulator.base_url,
            "allowed_download_hosts": ["127.0.0.1"],
            "download": False,
            **settings,
        }
    )
    slot: Slot[Any] = Slot(
        name="runware",
        cls=RunwareImageProvider,
        config=config,
        key=SecretStr(emulator.api_key),
        key_source="test",
    )
    return ImageChain([slot], notes.append)


@pytest.mark.parametrize("delivery", ["sync", "async"])
async def test_concurrency_counts_images_and_the_provider_default_does_not_cap_it(
    emulator: Any, make_request: Make, delivery: str
) -> None:
    emulator.task_time = 0.05
    notes: list[str] = []
    chain = chain_for(emulator, notes, batch_size=4, delivery=delivery)
    watch = Watch(chain.providers[0])
    try:
        outcomes = await chain.generate([make_request(n) for n in range(1, 33)], concurrency=8)
    finally:
        await chain.providers[0].aclose()
    assert all(o.image is not None for o in outcomes)
    assert watch.peak == 8, "two batches of four: eight images in flight, not 4 nor 32"
    assert notes == []


async def test_a_lower_configured_provider_limit_holds_and_is_noted_once(
    emulator: Any, make_request: Make
) -> None:
    emulator.task_time = 0.03
    notes: list[str] = []
    chain = chain_for(emulator, notes, batch_size=2, concurrency=4)
    watch = Watch(chain.providers[0])
    try:
        await chain.generate([make_request(n) for n in range(1, 13)], concurrency=8)
        await chain.generate([make_request(n) for n in range(13, 17)], concurrency=8)
    finally:
        await chain.providers[0].aclose()
    assert watch.peak == 4
    assert len(notes) == 1
    assert "runware: at most 4 image(s) at once" in notes[0]
    assert "concurrency of 8" in notes[0]


async def test_image_gate_is_first_come_first_served_and_lets_a_big_batch_alone() -> None:
    gate = ImageGate(4)
    order: list[str] = []

    async def batch(name: str, images: int, hold: float) -> None:
        async with gate.hold(images):
            order.append(name)
            await asyncio.sleep(hold)

    await asyncio.gather(
        batch("a", 3, 0.03), batch("b", 3, 0.01), batch("c", 1, 0.01), batch("big", 9, 0.01)
    )
    assert order == ["a", "b", "c", "big"]
    assert gate.peak == 4 and gate.used == 0

    blocker = asyncio.create_task(batch("x", 4, 0.05))
    await asyncio.sleep(0)
    queued = asyncio.create_task(batch("y", 2, 0.0))
    await asyncio.sleep(0.01)
    queued.cancel()
    await asyncio.gather(queued, return_exceptions=True)
    await blocker
    assert gate.used == 0
    async with gate.hold(4):
        assert gate.used == 4
