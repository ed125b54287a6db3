"""The Runware provider against the local emulator: request shape, delivery modes and faults."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from storyframe.errors import (
    AuthError,
    BadResponse,
    ContentRejected,
    InvalidRequest,
    NotConfigured,
    ProviderError,
    QuotaError,
    RateLimited,
    Transient,
)
from storyframe.models import GeneratedImage

Make = Callable[..., Any]


def only_inference_uuid(emulator: Any) -> str:
    (task_uuid,) = emulator.submissions
    return str(task_uuid)


# -- the happy path and the request shape ----------------------------------------------------


async def test_sync_generate_downloads_the_image(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    image = await make_provider().generate(make_request())
    assert isinstance(image, GeneratedImage)
    assert image.provider == "runware" and image.model == "runware:101@1"
    assert image.url and image.url.startswith(f"http://127.0.0.1:{emulator.port}/image/ws/2/ii/")
    assert image.data and image.data.startswith(b"\x89PNG")
    assert image.media_type == "image/png"
    assert (image.width, image.height) == (1344 // 8, 768 // 8)
    assert image.seed == 4243 and image.cost == pytest.approx(0.0038)
    assert image.task_id == only_inference_uuid(emulator)
    assert image.elapsed > 0
    assert len(emulator.image_hits) == 1


async def test_request_shape(make_provider: Make, make_request: Make, emulator: Any) -> None:
    long_prompt = " ".join(["a misty harbour at dawn"] * 200)
    requests = [make_request(1), make_request(2, prompt=long_prompt, width=3000, height=1000)]
    await make_provider(batch_size=2).generate_many(requests)
    (body,) = emulator.inference_bodies()
    headers = emulator.headers[0]
    assert headers["Authorization"].startswith("Bearer ")
    assert headers["Content-Type"].startswith("application/json")
    assert isinstance(body, list) and len(body) == 2
    for task in body:
        assert task["taskType"] == "imageInference"
        assert uuid.UUID(task["taskUUID"]).version == 4
        assert 2 <= len(task["positivePrompt"]) <= 3000
        for side in ("width", "height"):
            assert task[side] % 64 == 0 and 128 <= task[side] <= 2048
        assert 1 <= task["numberResults"] <= 20 and task["numberResults"] == 1
        assert task["outputType"] == "URL" and task["includeCost"] is True
        assert task["outputFormat"] in ("JPG", "PNG", "WEBP")
        assert task["deliveryMethod"] == "sync"
        assert task["safety"] == {"checkContent": True}
        assert task["CFGScale"] == 3.5, "the cinematic style's runware parameter"
        assert isinstance(task["seed"], int) and task["seed"] >= 1
    assert body[0]["taskUUID"] != body[1]["taskUUID"]
    assert (body[1]["width"], body[1]["height"]) == (2048, 704)


async def test_batches_respect_batch_size_and_order(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    requests = [make_request(n) for n in range(1, 8)]
    results = await make_provider(batch_size=3, concurrency=2).generate_many(requests)
    assert [len(b) for b in emulator.inference_bodies()] == [3, 3, 1]
    assert [r.scene_number for r in results] == list(range(1, 8))
    assert all(isinstance(r, GeneratedImage) and r.data for r in results)


async def test_concurrency_bounds_batches_in_flight(
    make_provider: Make, make_request: Make, emulator: Any, emu: Any
) -> None:
    emulator.queue("inference", *(emu.Fault(delay=0.15) for _ in range(4)))
    started = time.perf_counter()
    results = await make_provider(batch_size=1, concurrency=2).generate_many(
        [make_request(n) for n in range(1, 5)]
    )
    elapsed = time.perf_counter() - started
    assert all(isinstance(r, GeneratedImage) for r in results)
    assert elapsed >= 0.3, "four 0.15 s requests, two at a time"


async def test_one_failed_task_in_a_batch_spares_its_neighbours(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    emulator.fail_prompt("dragon", "invalidModel", "Unknown model", parameter="model")
    requests = [make_request(1), make_request(2, prompt="a dragon"), make_request(3)]
    results = await make_provider(batch_size=3).generate_many(requests)
    assert len(emulator.inference_bodies()) == 1
    assert isinstance(results[0], GeneratedImage) and isinstance(results[2], GeneratedImage)
    assert isinstance(results[1], InvalidRequest)
    assert results[1].code == "invalidModel" and results[1].provider == "runware"
    assert sum(emulator.submissions.values()) == 3


async def test_all_tasks_failing_validation_is_not_retried(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    emulator.fail_prompt("fox", "invalidPositivePrompt", "positivePrompt is invalid")
    with pytest.raises(InvalidRequest, match="invalidPositivePrompt"):
        await make_provider().generate(make_request())
    assert sum(emulator.submissions.values()) == 1


async def test_content_policy_is_content_rejected(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    emulator.fail_prompt("fox", "contentPolicyViolation", "blocked")
    with pytest.raises(ContentRejected):
        await make_provider().generate(make_request())


async def test_download_can_be_left_to_the_pipeline(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    image = await make_provider(download=False).generate(make_request())
    assert image.url and image.data is None
    assert emulator.image_hits == []


# -- async delivery --------------------------------------------------------------------------


async def test_async_two_processing_polls_then_success(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    emulator.processing_polls = 2
    image = await make_provider(delivery="async").generate(make_request())
    task_uuid = only_inference_uuid(emulator)
    assert emulator.polls[task_uuid] == 3
    assert emulator.submissions[task_uuid] == 1
    assert image.task_id == task_uuid and image.data
    polls = [b for b in emulator.bodies if b[0]["taskType"] == "getResponse"]
    assert all(b == [{"taskType": "getResponse", "taskUUID": task_uuid}] for b in polls)


@pytest.mark.parametrize("form", ["errors", "data"])
async def test_async_failure_forms(
    make_provider: Make, make_request: Make, emulator: Any, form: str
) -> None:
    emulator.processing_polls = 1
    emulator.fail_async("fox", "timeoutProvider", "provider did not answer", form=form)
    with pytest.raises(Transient, match="timeoutProvider"):
        await make_provider(delivery="async").generate(make_request())
    assert sum(emulator.submissions.values()) == 1


async def test_async_batch_polls_each_task(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    emulator.processing_polls = 1
    emulator.fail_async("owl", "inferenceError", form="data")
    requests = [make_request(1), make_request(2, prompt="an owl"), make_request(3)]
    results = await make_provider(delivery="async", batch_size=3).generate_many(requests)
    assert isinstance(results[0], GeneratedImage) and isinstance(results[2], GeneratedImage)
    assert isinstance(results[1], Transient) and results[1].code == "inferenceError"


async def test_poll_timeout_is_transient(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    emulator.processing_polls = 10_000
    with pytest.raises(Transient, match="not finished"):
        await make_provider(delivery="async", poll_timeout=0.2).generate(make_request())


async def test_status_reports_the_task(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    provider = make_provider(delivery="async", poll_timeout=0.05)
    emulator.processing_polls = 10_000
    with pytest.raises(Transient):
        await provider.generate(make_request(3))
    task_uuid = only_inference_uuid(emulator)
    assert (await provider.status(task_uuid)).state == "processing"
    emulator.finish(task_uuid)
    status = await provider.status(task_uuid)
    assert status.state == "success" and status.task_id == task_uuid
    assert status.images[0].url and status.images[0].scene_number == 3
    assert (await provider.status(str(uuid.uuid4()))).state == "unknown"


# -- paid calls are never paid twice ---------------------------------------------------------


async def test_sync_timeout_is_recovered_by_polling(
    make_provider: Make, make_request: Make, emulator: Any, emu: Any
) -> None:
    emulator.queue("inference", emu.Fault(delay=0.6))
    image = await make_provider(timeout=0.2).generate(make_request())
    task_uuid = only_inference_uuid(emulator)
    # getResponse does not know a sync task and getTaskDetails not one still running: it is sent
    # again under the same taskUUID, which Runware refuses (conflictTaskUUID), then waited for.
    assert emulator.submissions[task_uuid] <= 2
    assert emulator.charged[task_uuid] == 1 and emulator.images_paid == 1
    assert emulator.polls[task_uuid] >= 1
    assert image.task_id == task_uuid and image.data


async def test_conflict_task_uuid_is_recovered_by_polling(
    make_provider: Make, make_request: Make, emulator: Any, emu: Any
) -> None:
    emulator.queue("inference", emu.Fault(reset=True, after_processing=True))
    image = await make_provider().generate(make_request())
    task_uuid = only_inference_uuid(emulator)
    assert emulator.submissions[task_uuid] == 2, "resent with the same taskUUID"
    assert emulator.polls[task_uuid] == 1
    assert emulator.images_made == 1, "one image made, one paid"
    assert image.task_id == task_uuid


async def test_reset_before_processing_is_retried(
    make_provider: Make, make_request: Make, emulator: Any, emu: Any
) -> None:
    emulator.queue("inference", emu.Fault(reset=True))
    image = await make_provider().generate(make_request())
    assert image.data
    assert emulator.submissions[image.task_id] == 1
    assert len(emulator.inference_bodies()) == 2


async def test_unknown_task_is_submitted_again(
    make_provider: Make, make_request: Make, emulator: Any, emu: Any
) -> None:
    # A 200 that is not JSON: the tasks' fate is unknown, so they are polled first; Runware
    # never registered them (taskNotFound), so they are sent once more.
    emulator.queue("inference", emu.Fault(status=200, body=None))
    image = await make_provider().generate(make_request())
    task_uuid = image.task_id
    assert emulator.polls[task_uuid] == 1
    assert emulator.submissions[task_uuid] == 1
    assert len(emulator.inference_bodies()) == 2


@pytest.mark.parametrize(
    ("status", "cls"), [(429, RateLimited), (503, Transient), (504, Transient)]
)
async def test_retry_after_is_honoured(
    make_provider: Make, make_request: Make, emulator: Any, emu: Any, status: int, cls: type
) -> None:
    body = {"errors": [{"code": "serviceUnavailable", "message": "busy"}]}
    emulator.queue("inference", emu.Fault(status=status, body=body, headers={"Retry-After": "0.3"}))
    started = time.perf_counter()
    image = await make_provider().generate(make_request())
    assert time.perf_counter() - started >= 0.3
    assert image.data
    assert len(emulator.inference_bodies()) == 2


async def test_persistent_rate_limit_ends_rate_limited(
    make_provider: Make, make_request: Make, emulator: Any, emu: Any
) -> None:
    faults = [emu.Fault(status=429, body={}, headers={"Retry-After": "0"}) for _ in range(3)]
    emulator.queue("inference", *faults)
    with pytest.raises(RateLimited):
        await make_provider(max_attempts=3).generate(make_request())


# -- account errors --------------------------------------------------------------------------


async def test_invalid_key_is_auth_error_without_the_key(
    make_provider: Make, make_request: Make, emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "rw-wrong-key-9f8e7d6c5b4a"
    provider = make_provider(key=secret)
    with pytest.raises(AuthError) as caught:
        await provider.generate(make_request())
    error = caught.value
    assert error.status == 401 and error.code == "invalidApiKey"
    assert len(emulator.bodies) == 1, "auth errors are not retried"
    for text in (str(error), repr(error), error.one_line(), caplog.text, repr(provider)):
        assert secret not in text
    check = await provider.check()
    assert not check.ok and secret not in check.detail
    assert secret not in caplog.text


async def test_missing_key_is_not_configured(make_provider: Make, make_request: Make) -> None:
    provider = make_provider(key=None)
    with pytest.raises(NotConfigured):
        await provider.generate(make_request())
    check = await provider.check()
    assert not check.ok and "RUNWARE_API_KEY" in check.detail


async def test_insufficient_credits_is_quota_error(
    make_provider: Make, make_request: Make, emulator: Any, emu: Any
) -> None:
    body = {"errors": [{"code": "insufficientCredits", "message": "Not enough credits"}]}
    emulator.queue("inference", emu.Fault(status=402, body=body))
    with pytest.raises(QuotaError, match="insufficientCredits"):
        await make_provider().generate(make_request())
    assert len(emulator.inference_bodies()) == 1


async def test_check_reports_balance(make_provider: Make, emulator: Any) -> None:
    check = await make_provider().check()
    assert check.ok and check.balance == 12.5
    assert "Emulated Org" in check.detail
    kinds = [b[0]["taskType"] for b in emulator.bodies]
    assert kinds == ["ping", "accountManagement"]
    assert emulator.bodies[0] == [{"taskType": "ping", "ping": True}]
    assert emulator.bodies[1][0]["operation"] == "getDetails"


async def test_check_never_raises_when_unreachable(make_provider: Make) -> None:
    provider = make_provider(base_url="http://127.0.0.1:9/v1", max_attempts=1)
    check = await provider.check()
    assert not check.ok and check.detail


# -- the image download ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"image": "truncated"}, "truncated"),
        ({"image": "corrupt"}, "truncated or corrupt"),
        ({"image": "html"}, "expected an image"),
    ],
)
async def test_image_host_hiccups_are_retried_then_transient_never_rebought(
    make_provider: Make,
    make_request: Make,
    emulator: Any,
    emu: Any,
    fault: dict[str, Any],
    message: str,
) -> None:
    emulator.queue("image", *(emu.Fault(**fault) for _ in range(5)))
    with pytest.raises(Transient, match=message) as info:
        await make_provider(max_download_bytes=1_000_000).generate(make_request())
    assert info.value.exhausted
    assert len(emulator.image_hits) > 1, "the download is asked for again"
    assert sum(emulator.submissions.values()) == 1, "a bad download never buys a second image"


async def test_image_host_hiccup_once_then_the_image(
    make_provider: Make, make_request: Make, emulator: Any, emu: Any
) -> None:
    emulator.queue("image", emu.Fault(image="html"))
    image = await make_provider().generate(make_request())
    assert image.data
    assert sum(emulator.submissions.values()) == 1


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"image": "wrong_type"}, "Content-Type says image/jpeg"),
        ({"image": "oversized", "size": 5_000_000}, "larger than"),
        ({"image": "oversized_chunked", "size": 5_000_000}, "larger than"),
    ],
)
async def test_bad_images_are_bad_responses(
    make_provider: Make,
    make_request: Make,
    emulator: Any,
    emu: Any,
    fault: dict[str, Any],
    message: str,
) -> None:
    emulator.queue("image", *(emu.Fault(**fault) for _ in range(5)))
    with pytest.raises(BadResponse, match=message):
        await make_provider(max_download_bytes=1_000_000).generate(make_request())
    assert sum(emulator.submissions.values()) == 1, "a bad download never buys a second image"


async def test_image_host_not_allowed(make_provider: Make, make_request: Make, emu: Any) -> None:
    server = emu.Emulator(api_key=None, image_host="localhost")
    base_url = await server.start()
    try:
        provider = make_provider(base_url=base_url)
        with pytest.raises(BadResponse, match="allowed hosts"):
            await provider.generate(make_request())
        assert server.image_hits == []
    finally:
        await server.stop()


async def test_transient_image_failure_is_retried(
    make_provider: Make, make_request: Make, emulator: Any, emu: Any
) -> None:
    emulator.queue(
        "image", emu.Fault(status=503, headers={"Retry-After": "0"}), emu.Fault(reset=True)
    )
    image = await make_provider().generate(make_request())
    assert image.data and len(emulator.image_hits) == 3


async def test_image_host_gets_no_authorization(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    await make_provider().generate(make_request())
    assert emulator.headers[0]["Authorization"].startswith("Bearer ")
    assert [h.get("Authorization") for h in emulator.image_headers] == [None]


async def test_failures_are_returned_in_order(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    emulator.fail_prompt("owl", "promptBlocked")
    requests = [make_request(1, prompt="an owl"), make_request(2), make_request(3, prompt="a")]
    results = await make_provider(batch_size=2).generate_many(requests)
    assert isinstance(results[0], ContentRejected)
    assert isinstance(results[1], GeneratedImage)
    assert isinstance(results[2], InvalidRequest), "too short to send"
    assert all(isinstance(r, GeneratedImage | ProviderError) for r in results)


def test_serve_in_thread_for_subprocess_tests(emu: Any, make_request: Make) -> None:
    from pydantic import SecretStr

    from storyframe_runware.config import RunwareConfig
    from storyframe_runware.provider import RunwareImageProvider

    server = emu.Emulator(api_key="thread-key")
    with emu.serve_in_thread(server) as base_url:
        config = RunwareConfig(base_url=base_url, allowed_download_hosts=["127.0.0.1"])

        async def run() -> GeneratedImage:
            async with RunwareImageProvider(config, SecretStr("thread-key")) as provider:
                return await provider.generate(make_request())

        image = asyncio.run(run())
    assert image.data and server.submissions[image.task_id] == 1
