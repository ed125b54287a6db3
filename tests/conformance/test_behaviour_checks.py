"""The kit's behaviour checks pass good HTTP providers and catch each kind of broken one.

Every broken provider below breaks one rule a user found unchecked; the test runs the matching
check against it and asserts that check fails, naming the problem.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from storyframe.errors import AuthError, InvalidRequest, ProviderError, Transient
from storyframe.http import HttpClient, HttpResponse, error_for_status
from storyframe.models import ImageRequest, ReferenceImage, Scene, Style, Usage
from storyframe.providers import Provider
from storyframe.testing import (
    CONFORMANCE_STYLE,
    ERROR_CASES,
    ImageProviderConformance,
    RecordedRequest,
    Reply,
    TextProviderConformance,
    checks,
)
from storyframe.testing import references as refchecks
from tests.conformance.http_providers import (
    GoodHttpImage,
    GoodHttpImageWithSheets,
    GoodHttpText,
    answer,
    factory_for,
)

CASES = {case.name: case for case in ERROR_CASES}


class TestGoodHttpImage(ImageProviderConformance):
    @pytest.fixture
    def http_factory(self) -> Any:
        return factory_for(GoodHttpImage)

    def answer(self, request: RecordedRequest) -> Reply:
        return answer(request)


class TestGoodHttpImageWithSheets(ImageProviderConformance):
    @pytest.fixture
    def http_factory(self) -> Any:
        return factory_for(GoodHttpImageWithSheets)

    def answer(self, request: RecordedRequest) -> Reply:
        return answer(request)


class TestGoodHttpText(TextProviderConformance):
    @pytest.fixture
    def http_factory(self) -> Any:
        return factory_for(GoodHttpText)

    def answer(self, request: RecordedRequest) -> Reply:
        return answer(request)


# Broken image providers --------------------------------------------------------------------------


class BareException(GoodHttpImage):
    """Re-raises a refused key as a bare Exception."""

    async def generate(self, request: ImageRequest) -> Any:
        try:
            return await super().generate(request)
        except AuthError as error:
            raise Exception(f"request failed: {error}") from None


class KeyErrorOnMalformed(GoodHttpImage):
    """Indexes the answer without checking it."""

    async def generate(self, request: ImageRequest) -> Any:
        answer = await self.post("/draw", self.payload(request))
        return answer["image"]


class OverloadIsInvalid(GoodHttpImage):
    """Classifies a 503 as a bad request, so it is never retried."""

    @property
    def client(self) -> HttpClient:
        if self._client is None:

            def classify(response: HttpResponse) -> ProviderError | None:
                if response.status < 400:
                    return None
                if response.status >= 500:
                    return InvalidRequest("rejected", provider=self.name)
                return error_for_status(response.status, "", provider=self.name)

            self._client = HttpClient(
                self.name, self.config, base_url=self.config.base_url, classify=classify
            )
        return self._client


class IgnoresRetryAfter(GoodHttpImage):
    async def generate(self, request: ImageRequest) -> Any:
        try:
            return await super().generate(request)
        except Transient as error:
            error.retry_after = None
            raise


class RawAiohttp(GoodHttpImage):
    """Talks to the service with a bare aiohttp session: transport errors escape as they are."""

    async def generate(self, request: ImageRequest) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.config.base_url}/draw", json=self.payload(request)) as response,
        ):
            if response.status >= 400:
                raise error_for_status(response.status, "", provider=self.name)
            return await response.json()


class NoRetries(GoodHttpImage):
    async def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        return dict(await self.client.request_json("POST", path, json=payload, retry=False))


class SwallowsCancellation(GoodHttpImage):
    async def generate(self, request: ImageRequest) -> Any:
        try:
            return await super().generate(request)
        except asyncio.CancelledError:
            raise Transient("interrupted", provider=self.name) from None


class BlocksTheLoop(GoodHttpImage):
    async def generate(self, request: ImageRequest) -> Any:
        time.sleep(0.4)  # noqa: ASYNC251 - the breakage under test
        return await super().generate(request)


class IgnoresSize(GoodHttpImage):
    def payload(self, request: ImageRequest) -> dict[str, Any]:
        return {**super().payload(request), "width": 256, "height": 256}


class IgnoresSeed(GoodHttpImage):
    def payload(self, request: ImageRequest) -> dict[str, Any]:
        return {**super().payload(request), "seed": 7}


class KeyInMessage(GoodHttpImage):
    async def generate(self, request: ImageRequest) -> Any:
        try:
            return await super().generate(request)
        except AuthError:
            key = self.api_key.get_secret_value() if self.api_key else ""
            raise AuthError(f"the service refused {key}", provider=self.name) from None


class KeyInLogs(GoodHttpImage):
    async def generate(self, request: ImageRequest) -> Any:
        key = self.api_key.get_secret_value() if self.api_key else ""
        logging.getLogger("storyframe_broken").debug("calling with key %s", key)
        return await super().generate(request)


class LeavesSessionOpen(GoodHttpImage):
    async def aclose(self) -> None:
        self._client = None  # forgets the client instead of closing it


class ClaimsSheetsItNeverSends(GoodHttpImageWithSheets):
    def payload(self, request: ImageRequest) -> dict[str, Any]:
        return GoodHttpImage.payload(self, request)


class NamesNoSheets(GoodHttpImageWithSheets):
    async def generate(self, request: ImageRequest) -> Any:
        image = await super().generate(request)
        image.references = []
        return image


class SendsSheetsReversed(GoodHttpImageWithSheets):
    def sheets(self, request: ImageRequest) -> list[ReferenceImage]:
        return super().sheets(request)[::-1]

    async def generate(self, request: ImageRequest) -> Any:
        image = await super().generate(request)
        image.references.reverse()  # names them as if in the given order
        return image


class SendsEverySheet(GoodHttpImageWithSheets):
    def payload(self, request: ImageRequest) -> dict[str, Any]:
        sheets = [base64.b64encode(ref.path.read_bytes()).decode() for ref in request.references]
        return {**GoodHttpImage.payload(self, request), "references": sheets}


# Broken text providers ---------------------------------------------------------------------------


class NoUsage(GoodHttpText):
    def account(self, usage: Usage) -> None:
        pass


class IdenticalScenes(GoodHttpText):
    def scene(self, number: int, raw: dict[str, Any], style: Style) -> Scene:
        return Scene(number=number, title="The river", description="A river.", image_prompt="river")


class DoubledSuffix(GoodHttpText):
    def scene(self, number: int, raw: dict[str, Any], style: Style) -> Scene:
        scene = super().scene(number, raw, style)
        return scene.model_copy(
            update={"image_prompt": f"{scene.image_prompt}, {style.prompt_suffix}"}
        )


class PromptIgnoresScene(GoodHttpText):
    def scene(self, number: int, raw: dict[str, Any], style: Style) -> Scene:
        scene = super().scene(number, raw, style)
        return scene.model_copy(update={"image_prompt": f"beautiful artwork number {number}"})


# The cases ----------------------------------------------------------------------------------------

IMAGE_SUITE = ImageProviderConformance()
TEXT_SUITE = TextProviderConformance()
Check = Callable[[type[Provider]], Awaitable[None]]


def mapping(case: str) -> Check:
    async def run(cls: type[Provider]) -> None:
        call = IMAGE_SUITE.call if issubclass(cls, GoodHttpImage) else TEXT_SUITE.call
        await checks.check_error_mapping(factory_for(cls), call, CASES[case], bound=2.0)

    return run


async def retries(cls: type[Provider]) -> None:
    await checks.check_retries_transient(factory_for(cls), IMAGE_SUITE.call, answer)


async def cancellation(cls: type[Provider]) -> None:
    await checks.check_cancellation(factory_for(cls), IMAGE_SUITE.call)


async def loop(cls: type[Provider]) -> None:
    async with checks.serving(factory_for(cls), answer) as (provider, _):
        await checks.check_loop_not_blocked(provider, IMAGE_SUITE.call)


async def size_and_seed(cls: type[Provider]) -> None:
    async with checks.serving(factory_for(cls), answer) as (provider, service):
        assert isinstance(provider, GoodHttpImage)
        await checks.check_size_and_seed(provider, IMAGE_SUITE.sized_request(cls), service)


def sheets(capped: bool) -> Check:
    async def run(cls: type[Provider]) -> None:
        check = refchecks.check_references_capped if capped else refchecks.check_references_sent
        with tempfile.TemporaryDirectory() as folder:
            async with checks.serving(factory_for(cls), answer) as (provider, service):
                assert isinstance(provider, GoodHttpImage)
                await check(provider, IMAGE_SUITE.image_request(cls), Path(folder), service)

    run.__name__ = "capped" if capped else "sent"
    return run


async def logs(cls: type[Provider]) -> None:
    with checks.captured_logs() as texts:
        async with checks.serving(factory_for(cls), answer) as (provider, _):
            await IMAGE_SUITE.call(provider)
    checks.assert_no_secret(texts, "the logs")


async def sessions(cls: type[Provider]) -> None:
    async with checks.serving(factory_for(cls), answer) as (provider, _):
        await checks.check_aclose_closes_sessions(provider, IMAGE_SUITE.call)


async def usage(cls: type[Provider]) -> None:
    async with checks.serving(factory_for(cls), answer) as (provider, service):
        assert isinstance(provider, GoodHttpText)
        await TEXT_SUITE.call(provider)
        checks.check_usage_reported(provider, len(service.requests))


async def scenes(cls: type[Provider]) -> None:
    async with checks.serving(factory_for(cls), answer) as (provider, _):
        found = await TEXT_SUITE.call(provider)
    checks.check_scenes_distinct(found, CONFORMANCE_STYLE.prompt_suffix)


BROKEN: list[tuple[type[Provider], Check, str]] = [
    (BareException, mapping("401"), "expected AuthError, got Exception"),
    (KeyErrorOnMalformed, mapping("unexpected-json"), "expected BadResponse, got KeyError"),
    (OverloadIsInvalid, mapping("503"), "expected Transient, got InvalidRequest"),
    (IgnoresRetryAfter, mapping("429"), "retry_after is None"),
    (RawAiohttp, mapping("reset"), "expected Transient, got (ServerDisconnected|ClientOS)"),
    (RawAiohttp, mapping("timeout"), "did not end within 2.0 s; does the provider's config get"),
    (NoRetries, retries, "should be retried"),
    (SwallowsCancellation, cancellation, "swallowed its cancellation and raised Transient"),
    (BlocksTheLoop, loop, "blocked the event loop for 0.[3-9]"),
    (IgnoresSize, size_and_seed, "asked for 320x192, got 256x256"),
    (IgnoresSeed, size_and_seed, "seed is 7, not the requested 424242"),
    (KeyInMessage, mapping("401"), "the API key shows in the 401 error"),
    (KeyInLogs, logs, "the API key shows in the logs"),
    (LeavesSessionOpen, sessions, r"aclose\(\) left 1 aiohttp session\(s\) open"),
    (ClaimsSheetsItNeverSends, sheets(False), "no request carried the sheet"),
    (NamesNoSheets, sheets(False), r"GeneratedImage.references is \[\], expected"),
    (SendsSheetsReversed, sheets(False), "another order than given"),
    (SendsEverySheet, sheets(True), "beyond max_references"),
    (NoUsage, usage, "usage.calls is 0"),
    (IdenticalScenes, scenes, "same description"),
    (DoubledSuffix, scenes, "contains the style's prompt_suffix"),
    (PromptIgnoresScene, scenes, "shares no word with its title or description"),
]


@pytest.mark.parametrize(
    ("provider", "check", "message"),
    BROKEN,
    ids=[f"{cls.__name__}-{check.__name__}" for cls, check, _ in BROKEN],
)
async def test_kit_catches(provider: type[Provider], check: Check, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        await check(provider)


@pytest.mark.parametrize("cls", [GoodHttpImage, GoodHttpText])
@pytest.mark.parametrize("case", [case.name for case in ERROR_CASES])
async def test_good_providers_pass_every_error_case(cls: type[Provider], case: str) -> None:
    await mapping(case)(cls)
