"""The Runware provider against recorded Runware traffic (tests/cassettes/test_runware_cassettes/).

The cassettes are shaped like the documented responses (../shared/api/runware.md). The provider's
taskUUIDs are replayed from each cassette's request bodies (see ``replay_uuids``), and requests
are matched on method and URI. To re-record with a real key (it spends a few cents)::

    RUNWARE_API_KEY=... pytest tests/runware/test_runware_cassettes.py --record-mode=rewrite

``test_insufficient_credits`` always replays its hand-written cassette (a funded account cannot
produce it).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from storyframe.errors import AuthError, InvalidRequest, QuotaError
from storyframe.models import GeneratedImage, Style

# Read before the suite's autouse fixture clears the variable.
RECORDING_KEY = os.environ.get("RUNWARE_API_KEY")
REPLAY_KEY = "rw-cassette-key-3c4d5e6f"

ACCOUNT_FIELDS = ("apiKeys", "team", "organizationUUID", "usage")


@pytest.fixture(scope="module")
def vcr_config(vcr_config: dict[str, Any]) -> dict[str, Any]:
    """Match on method and URI (taskUUIDs are replayed); keep account details out of cassettes."""

    def scrub(response: dict[str, Any]) -> dict[str, Any]:
        body = response.get("body", {}).get("string")
        if isinstance(body, bytes) and b"accountManagement" in body:
            data = json.loads(body)
            for item in data.get("data", []):
                for field in ACCOUNT_FIELDS:
                    item.pop(field, None)
            response["body"]["string"] = json.dumps(data).encode()
        return response

    return {**vcr_config, "match_on": ["method", "uri"], "before_record_response": scrub}


# Record modes in which a run with a real key talks to the service (only ever by hand).
LIVE_MODES = frozenset({"rewrite", "all", "new_episodes", "once"})


@pytest.fixture
def recording(record_mode: str) -> bool:
    return record_mode in LIVE_MODES and bool(RECORDING_KEY)


@pytest.fixture
async def runware(
    replay_uuids: Callable[[], str], recording: bool
) -> AsyncIterator[Callable[..., Any]]:
    """Build providers with the default base URL and image host, replaying taskUUIDs."""
    from storyframe_runware.config import RunwareConfig
    from storyframe_runware.provider import RunwareImageProvider

    built: list[RunwareImageProvider] = []
    interval = 1.0 if recording else 0.001

    def make(key: str | None = None, **overrides: Any) -> RunwareImageProvider:
        settings = {
            "delivery": "sync",
            "poll_interval": interval,
            "poll_max_interval": 10 * interval,
            **overrides,
        }
        secret = key or (RECORDING_KEY if recording else REPLAY_KEY)
        provider = RunwareImageProvider(
            RunwareConfig(**settings), SecretStr(secret), uuid_factory=replay_uuids
        )
        built.append(provider)
        return provider

    yield make
    for provider in built:
        await provider.aclose()


def assert_runware_image(image: Any, request_number: int) -> None:
    assert isinstance(image, GeneratedImage)
    assert image.scene_number == request_number and image.provider == "runware"
    assert image.url and image.url.startswith("https://im.runware.ai/image/")
    assert image.data and image.data[:3] == b"\xff\xd8\xff", "a verified JPEG"
    assert image.media_type == "image/jpeg"
    assert image.width and image.height
    assert isinstance(image.seed, int) and isinstance(image.cost, float) and image.cost > 0
    assert image.task_id and uuid.UUID(image.task_id).version == 4


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The JSON bodies the provider POSTs, in order."""
    from storyframe.http import HttpClient

    bodies: list[Any] = []
    original = HttpClient.request

    async def spy(self: HttpClient, method: str, path: str, **kwargs: Any) -> Any:
        bodies.append(kwargs.get("json"))
        return await original(self, method, path, **kwargs)

    monkeypatch.setattr(HttpClient, "request", spy)
    return bodies


def recorded(vcr: Any, index: int) -> Any:
    """The JSON body of the cassette's request ``index``."""
    return json.loads(vcr.requests[index].body)


@pytest.mark.vcr
async def test_sync_single(
    runware: Callable[..., Any], make_request: Callable[..., Any], vcr: Any, sent: list[Any]
) -> None:
    image = await runware().generate(make_request(1))
    assert_runware_image(image, 1)
    assert sent == [recorded(vcr, 0)], "the cassette holds exactly what the provider sends"
    (task,) = sent[0]
    assert task["taskUUID"] == image.task_id
    assert vcr.requests[0].headers["Authorization"] == "Bearer <REDACTED>"
    assert vcr.requests[1].uri == image.url
    assert vcr.all_played


@pytest.mark.vcr
async def test_sync_batch_of_three_with_one_task_error(
    runware: Callable[..., Any], make_request: Callable[..., Any], vcr: Any, sent: list[Any]
) -> None:
    unknown_model = Style(name="broken", provider_params={"runware": {"model": "runware:999999@1"}})
    requests = [make_request(1), make_request(2, style=unknown_model), make_request(3)]
    results = await runware(batch_size=3).generate_many(requests)
    assert sent == [recorded(vcr, 0)] and len(sent[0]) == 3
    assert_runware_image(results[0], 1)
    assert_runware_image(results[2], 3)
    assert isinstance(results[1], InvalidRequest)
    assert results[1].provider == "runware" and results[1].code
    assert vcr.all_played


@pytest.mark.vcr
async def test_async_with_processing_polls(
    runware: Callable[..., Any], make_request: Callable[..., Any], vcr: Any, sent: list[Any]
) -> None:
    image = await runware(delivery="async").generate(make_request(1))
    assert_runware_image(image, 1)
    assert sent == [recorded(vcr, i) for i in range(len(sent))]
    (submitted,) = sent[0]
    assert submitted["deliveryMethod"] == "async"
    polls = sent[1:]
    assert len(polls) >= 1 and len(vcr.requests) == len(sent) + 1
    assert all(p == [{"taskType": "getResponse", "taskUUID": image.task_id}] for p in polls)
    assert vcr.all_played


@pytest.mark.vcr
async def test_invalid_key(
    runware: Callable[..., Any],
    make_request: Callable[..., Any],
    vcr: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "rw-not-a-real-key-000000000000"
    with pytest.raises(AuthError) as caught:
        await runware(key=wrong).generate(make_request(1))
    assert caught.value.status == 401 and caught.value.code == "invalidApiKey"
    assert wrong not in str(caught.value) and wrong not in repr(caught.value)
    assert wrong not in caplog.text
    assert len(vcr.requests) == 1


@pytest.mark.vcr(record_mode="none")  # hand-written: a funded account cannot record it
async def test_insufficient_credits(
    runware: Callable[..., Any], make_request: Callable[..., Any], vcr: Any
) -> None:
    with pytest.raises(QuotaError) as caught:
        await runware().generate(make_request(1))
    assert caught.value.status == 402 and caught.value.code == "insufficientCredits"
    assert caught.value.hint
    assert len(vcr.requests) == 1


@pytest.mark.vcr
async def test_validation_error(
    runware: Callable[..., Any], make_request: Callable[..., Any], vcr: Any
) -> None:
    bad = Style(name="bad", provider_params={"runware": {"CFGScale": 99}})
    with pytest.raises(InvalidRequest) as caught:
        await runware().generate(make_request(1, style=bad))
    assert caught.value.status == 400 and caught.value.code
    assert len(vcr.requests) == 1, "a validation error is not retried"


@pytest.mark.vcr
async def test_check_ping_and_account(
    runware: Callable[..., Any], vcr: Any, sent: list[Any]
) -> None:
    check = await runware().check()
    assert check.ok and isinstance(check.balance, float)
    assert sent == [recorded(vcr, 0), recorded(vcr, 1)]
    assert sent[0] == [{"taskType": "ping", "ping": True}]
    assert sent[1][0]["operation"] == "getDetails"
