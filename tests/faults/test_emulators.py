"""The look-alikes' fault and bookkeeping features the fault matrix relies on."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import aiohttp
import pytest

from tests.openrouter import emulator as ore
from tests.runware.emulator import Emulator, Fault

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1", "localhost"])

KEY = "test-key"


def task(prompt: str = "a fox in the snow", delivery: str = "sync", **extra: Any) -> dict[str, Any]:
    return {
        "taskType": "imageInference", "taskUUID": str(uuid.uuid4()), "model": "runware:101@1",
        "positivePrompt": prompt, "width": 512, "height": 512, "numberResults": 1,
        "outputType": "URL", "outputFormat": "JPG", "includeCost": True,
        "deliveryMethod": delivery, **extra,
    }  # fmt: skip


async def post(url: str, body: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {KEY}"}
        async with session.post(url, json=body, headers=headers) as response:
            raw = await response.read()
            try:
                return response.status, json.loads(raw)
            except ValueError:
                return response.status, raw


@pytest.fixture
async def rw() -> Any:
    emulator = Emulator(api_key=KEY, image_scale=16)
    await emulator.start()
    yield emulator
    await emulator.stop()


async def test_charges_each_successful_task_once_and_counts_per_prompt(rw: Emulator) -> None:
    one, two = task("scene one"), task("scene two")
    status, body = await post(rw.base_url, [one, two])
    assert status == 200 and len(body["data"]) == 2
    assert set(rw.charged) == {one["taskUUID"], two["taskUUID"]}
    again = dict(one, taskUUID=str(uuid.uuid4()))  # the same scene bought under a new taskUUID
    await post(rw.base_url, [again])
    assert rw.paid_per_prompt() == {"scene one": 2, "scene two": 1}
    status, body = await post(rw.base_url, [one])  # a resend of the same taskUUID
    assert body["errors"][0]["code"] == "conflictTaskUUID"
    assert rw.images_paid == 3


async def test_get_task_details_archives_request_and_response(rw: Emulator) -> None:
    sent = task()
    _, body = await post(rw.base_url, [sent])
    result = body["data"][0]
    _, details = await post(
        rw.base_url, [{"taskType": "getTaskDetails", "taskUUID": sent["taskUUID"]}]
    )
    item = details["data"][0]
    assert item["taskType"] == "getTaskDetails" and item["request"] == [sent]
    assert item["response"] == {"data": [result]}
    status, unknown = await post(
        rw.base_url, [{"taskType": "getTaskDetails", "taskUUID": str(uuid.uuid4())}]
    )
    assert unknown["errors"][0]["code"] == "taskNotFound" and status == 400


async def test_get_response_knows_only_async_tasks_by_default(rw: Emulator) -> None:
    sync, asynchronous = task("sync one"), task("async one", delivery="async")
    await post(rw.base_url, [sync])
    await post(rw.base_url, [asynchronous])
    _, polled = await post(rw.base_url, [{"taskType": "getResponse", "taskUUID": sync["taskUUID"]}])
    assert polled["errors"][0]["code"] == "taskNotFound"
    _, polled = await post(
        rw.base_url, [{"taskType": "getResponse", "taskUUID": asynchronous["taskUUID"]}]
    )
    assert polled["data"][0]["status"] == "success"
    rw.get_response_knows_sync = True
    _, polled = await post(rw.base_url, [{"taskType": "getResponse", "taskUUID": sync["taskUUID"]}])
    assert polled["data"][0]["status"] == "success"


async def test_fail_next_sync_and_async_in_both_forms(rw: Emulator) -> None:
    rw.fail_next("timeoutProvider", 1)
    first, second = task("scene a"), task("scene b")
    _, body = await post(rw.base_url, [first, second])
    assert body["errors"][0]["code"] == "timeoutProvider"
    assert body["errors"][0]["taskUUID"] == first["taskUUID"]
    assert [d["taskUUID"] for d in body["data"]] == [second["taskUUID"]]
    assert first["taskUUID"] not in rw.charged
    _, details = await post(
        rw.base_url, [{"taskType": "getTaskDetails", "taskUUID": first["taskUUID"]}]
    )
    assert details["data"][0]["response"]["errors"][0]["code"] == "timeoutProvider"

    rw.fail_next("inferenceError", 1, form="errors")
    rw.fail_next("inferenceError", 1, form="data")
    a, b = task("scene c", delivery="async"), task("scene d", delivery="async")
    _, ack = await post(rw.base_url, [a, b])
    assert len(ack["data"]) == 2 and "errors" not in ack
    _, polled = await post(
        rw.base_url,
        [{"taskType": "getResponse", "taskUUID": a["taskUUID"]},
         {"taskType": "getResponse", "taskUUID": b["taskUUID"]}],
    )  # fmt: skip
    assert polled["errors"][0]["status"] == "error"
    assert polled["errors"][0]["taskUUID"] == a["taskUUID"]
    assert polled["data"][0]["status"] == "error"
    assert polled["data"][0]["error"]["code"] == "inferenceError"
    assert not rw.charged.keys() & {a["taskUUID"], b["taskUUID"]}


async def test_raw_misdirect_redirect_and_latency(rw: Emulator) -> None:
    rw.queue("inference", Fault(raw=b'{"data": ['))
    sent = task()
    status, body = await post(rw.base_url, [sent])
    assert status == 200 and body == b'{"data": ['
    assert sent["taskUUID"] in rw.charged  # it ran, and was paid for

    rw.misdirect("localhost")
    _, body = await post(rw.base_url, [task("elsewhere")])
    assert body["data"][0]["imageURL"].startswith(f"http://localhost:{rw.port}/")

    _, body = await post(rw.base_url, [task("redirected")])
    url = body["data"][0]["imageURL"]
    rw.queue("image", Fault(redirect_host="localhost"))
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, allow_redirects=False) as response,
    ):
        assert response.status == 302
        assert response.headers["Location"].startswith(f"http://localhost:{rw.port}/image/")

    rw.latency = 0.2
    started = time.monotonic()
    await post(rw.base_url, [{"taskType": "ping", "ping": True}])
    assert time.monotonic() - started >= 0.2


async def test_openrouter_slow_body_and_rate_limit_reset() -> None:
    async with ore.OpenRouterEmulator() as emulator:
        reset = int(time.time() * 1000) + 5000
        emulator.push(ore.rate_limited(None, reset_ms=reset), ore.slow_body(0.3))
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        headers = {"Authorization": f"Bearer {ore.DEFAULT_KEY}"}
        url = f"{emulator.base_url}/chat/completions"
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json=body, headers=headers) as response:
                assert response.status == 429
                assert response.headers["X-RateLimit-Reset"] == str(reset)
                error = (await response.json())["error"]
                assert error["metadata"]["headers"]["X-RateLimit-Reset"] == str(reset)
            started = time.monotonic()
            async with session.post(url, json=body, headers=headers) as response:
                assert response.status == 200
                first = await response.content.read(10)
                assert first and time.monotonic() - started < 0.3
                rest = await response.read()
                assert time.monotonic() - started >= 0.3
                assert json.loads(first + rest)["choices"][0]["message"]["content"]
