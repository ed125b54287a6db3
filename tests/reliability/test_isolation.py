"""Providers are untrusted: whatever one raises, hangs on or swallows, the chain goes on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from storyframe.chains import TextChain
from storyframe.config import parse_config
from storyframe.errors import (
    DeadlineExceeded,
    ProviderCrashed,
    RateLimited,
    Transient,
)
from storyframe.image_chain import ImageChain, ImageOutcome
from storyframe.models import GeneratedImage, ImageRequest, Scene, StoryAnalysis, Style
from storyframe.plugins import PluginHost
from storyframe.providers import ImageProvider, ImageResult, ProviderConfig, TextProvider
from storyframe.registry import Registry

STYLE = Style(name="test")


class Misbehaviour(ProviderConfig):
    how: str = "ok"
    times: int = 1_000_000


class Unruly(ImageProvider):
    """An image provider that misbehaves as its config says, ``times`` times."""

    name: ClassVar[str] = "unruly"
    config_model: ClassVar[type[ProviderConfig]] = Misbehaviour

    def __init__(self, config: ProviderConfig | None = None, api_key: Any = None) -> None:
        super().__init__(config, api_key)
        self.handles: list[str | None] = []
        self.left = self.settings.times
        self.stubborn = True

    @property
    def settings(self) -> Misbehaviour:
        assert isinstance(self.config, Misbehaviour)
        return self.config

    async def generate_many(self, requests: Sequence[ImageRequest]) -> list[ImageResult]:
        self.handles.extend(r.handle for r in requests)
        how = self.settings.how if self.left > 0 else "ok"
        self.left -= 1
        if how == "key-error":
            raise KeyError("imageURL")
        if how == "hang":
            await asyncio.sleep(3600)
        if how == "swallow":
            while True:
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    if not self.stubborn:  # let the test's loop close once it is done
                        raise
        if how == "wrong-count":
            return []
        if how == "not-an-image":
            return ["surprise"] * len(requests)  # type: ignore[list-item]
        if how == "task-timeout":
            errors: list[ImageResult] = []
            for _ in requests:
                error = Transient("Runware timeoutProvider: no answer", code="timeoutProvider")
                error.resubmit_safe = True
                errors.append(error)
            return errors
        if how == "unknown-state":
            return [Transient("poll timed out", code="pollTimeout") for _ in requests]
        if how == "cooldown":
            limited = RateLimited("HTTP 429", retry_after=3600)
            limited.cooldown = True
            return [limited for _ in requests]
        return [GeneratedImage(scene_number=r.scene_number, provider=self.name) for r in requests]

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        raise NotImplementedError


class Backup(ImageProvider):
    name: ClassVar[str] = "backup"

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        return GeneratedImage(scene_number=request.scene_number, provider=self.name)


class BrokenText(TextProvider):
    name: ClassVar[str] = "broken-text"

    async def analyze(self, story: str) -> StoryAnalysis:
        raise ValueError("the plugin tripped")

    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None = None
    ) -> list[Scene]:
        raise ValueError("the plugin tripped")


class GoodText(TextProvider):
    name: ClassVar[str] = "good-text"

    async def analyze(self, story: str) -> StoryAnalysis:
        return StoryAnalysis(title="good")

    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None = None
    ) -> list[Scene]:
        return [Scene(number=1, title="t", description="d", image_prompt="p")]


@pytest.fixture
def host() -> PluginHost:
    host = PluginHost()
    host.image_providers.update({"unruly": Unruly, "backup": Backup})
    host.text_providers.update({"broken-text": BrokenText, "good-text": GoodText})
    return host


def chain(host: PluginHost, **unruly: Any) -> ImageChain:
    config = parse_config(
        {
            "image": {"providers": ["unruly", "backup"]},
            "providers": {
                "unruly": {"backoff_base": 0.001, "backoff_max": 0.01, "deadline": 0.3, **unruly}
            },
        }
    )
    return ImageChain(Registry(config, host).image_slots())


def requests(n: int) -> list[ImageRequest]:
    return [
        ImageRequest(scene_number=i, prompt=f"p{i}", width=64, height=64, seed=i, style=STYLE)
        for i in range(1, n + 1)
    ]


def unruly(c: ImageChain) -> Unruly:
    provider = c.provider("unruly")
    assert isinstance(provider, Unruly)
    return provider


@pytest.mark.parametrize(
    ("how", "error", "words"),
    [
        ("key-error", ProviderCrashed, "unruly raised KeyError during drawing: 'imageURL'"),
        ("wrong-count", ProviderCrashed, "returned 0 results for 1 requests"),
        ("not-an-image", ProviderCrashed, "returned str instead of an image"),
        ("hang", DeadlineExceeded, "took longer than its deadline of 0.3 s"),
        ("swallow", DeadlineExceeded, "took longer than its deadline of 0.3 s"),
    ],
)
async def test_a_misbehaving_provider_is_that_scenes_failure_and_the_chain_goes_on(
    host: PluginHost, how: str, error: type[Exception], words: str
) -> None:
    c = chain(host, how=how, breaker_failures=100)
    started = time.monotonic()
    outcomes = await c.generate(requests(2))
    assert time.monotonic() - started < 3.0, "a hang is cut by the deadline"
    assert [o.provider for o in outcomes] == ["backup", "backup"]
    for outcome in outcomes:
        assert outcome.fallback is not None
        assert outcome.fallback.after == "unruly" and words in outcome.fallback.reason
        assert any(error.__name__ in attempt for attempt in outcome.attempts)
    unruly(c).stubborn = False
    await c.aclose()


async def test_a_crash_names_the_plugin_that_registered_the_provider(host: PluginHost) -> None:
    c = chain(host, how="key-error")
    c.plugins["unruly"] = "storyframe-unruly"
    [outcome] = await c.generate(requests(1))
    assert outcome.fallback is not None
    assert "unruly (plugin storyframe-unruly) raised KeyError" in outcome.fallback.reason


async def test_resubmit_safe_failures_are_sent_again_with_new_handles_before_falling_back(
    host: PluginHost,
) -> None:
    c = chain(host, how="task-timeout", times=2, max_attempts=4)
    submitted: list[str | None] = []
    c._on_submit = lambda provider, batch: submitted.extend(r.handle for r in batch)
    [outcome] = await c.generate(requests(1))
    assert outcome.provider == "unruly" and outcome.fallback is None
    handles = unruly(c).handles
    assert len(handles) == 3 and len(set(handles)) == 3, "each submission has its own handle"
    assert submitted == handles, "every handle is journaled before it is sent"


async def test_resubmission_is_bounded_by_max_attempts(host: PluginHost) -> None:
    c = chain(host, how="task-timeout", max_attempts=3, breaker_failures=100)
    [outcome] = await c.generate(requests(1))
    assert outcome.provider == "backup"
    assert len(unruly(c).handles) == 3
    assert outcome.settled == {"unruly"}


async def test_a_failure_of_unknown_state_is_never_resubmitted(host: PluginHost) -> None:
    c = chain(host, how="unknown-state", max_attempts=5)
    [outcome] = await c.generate(requests(1))
    assert outcome.provider == "backup"
    assert len(unruly(c).handles) == 1, "the first task may still be paid for: no second one"
    assert outcome.settled == set()


async def test_a_cooldown_moves_the_work_on_at_once_and_rests_the_provider(
    host: PluginHost,
) -> None:
    c = chain(host, how="cooldown")
    started = time.monotonic()
    outcomes = await c.generate(requests(3), concurrency=1)
    assert time.monotonic() - started < 1.0
    assert [o.provider for o in outcomes] == ["backup"] * 3
    assert len(unruly(c).handles) == 1, "after a cooldown the provider is not asked again"
    assert "unruly" in c.disabled and "cooling down" in c.disabled["unruly"]
    assert all(o.fallback and o.fallback.after == "unruly" for o in outcomes)


async def test_the_circuit_opens_after_failures_in_a_row(host: PluginHost) -> None:
    c = chain(host, how="key-error", breaker_failures=2)
    outcomes = await c.generate(requests(5), concurrency=1)
    assert [o.provider for o in outcomes] == ["backup"] * 5
    assert len(unruly(c).handles) == 2
    assert c.disabled["unruly"] == "circuit open after 2 failures in a row"
    assert any("unruly: disabled for this run (circuit open" in n for n in c.notes)


async def test_stop_at_keeps_a_scene_from_its_fallback_provider(host: PluginHost) -> None:
    c = chain(host, how="key-error", breaker_failures=100)
    seen: list[ImageOutcome] = []

    async def on_outcome(outcome: ImageOutcome) -> None:
        seen.append(outcome)

    outcomes = await c.generate(requests(2), on_outcome, stop_at={1: "backup"})
    assert outcomes[0].image is None, "scene 1 is not drawn by backup again"
    assert outcomes[1].provider == "backup"
    assert len(seen) == 2


async def test_a_text_provider_raising_anything_falls_back_with_its_name(
    host: PluginHost,
) -> None:
    config = parse_config({"text": {"providers": ["broken-text", "good-text"]}})
    c = TextChain(Registry(config, host).text_slots())
    analysis, used = await c.analyze("story")
    assert used == "good-text" and analysis.title == "good"
    fallback = c.fallback()
    assert fallback is not None and fallback.after == "broken-text"
    assert "broken-text raised ValueError during analysis: the plugin tripped" in fallback.reason
