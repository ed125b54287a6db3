"""Registry slots and the fallback chains, with fake providers on a PluginHost built here."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import pytest
from pydantic import SecretStr

from storyframe.chains import TextChain
from storyframe.config import parse_config
from storyframe.errors import (
    AuthError,
    BadResponse,
    ConfigError,
    ContentRejected,
    ProviderError,
    QuotaError,
    Transient,
)
from storyframe.image_chain import ImageChain, ImageOutcome
from storyframe.models import GeneratedImage, ImageRequest, Scene, StoryAnalysis, Style, Usage
from storyframe.plugins import PluginHost
from storyframe.providers import ImageProvider, ImageResult, ProviderConfig, TextProvider
from storyframe.registry import Registry

KEY_ENV = "STORYFRAME_TEST_KEYED_KEY"
STYLE = Style(name="test")

Failure = Literal["", "auth", "transient", "quota", "bad", "content"]
ERRORS: dict[str, type[ProviderError]] = {
    "auth": AuthError,
    "transient": Transient,
    "quota": QuotaError,
    "bad": BadResponse,
    "content": ContentRejected,
}


# Fake text providers ---------------------------------------------------------------------------


class FakeTextConfig(ProviderConfig):
    fail: Failure = ""


class FakeText(TextProvider):
    name: ClassVar[str] = "text-a"
    config_model: ClassVar[type[ProviderConfig]] = FakeTextConfig

    def __init__(self, config: ProviderConfig | None = None, api_key: SecretStr | None = None):
        super().__init__(config, api_key)
        self.calls: list[str] = []

    def _work(self, what: str) -> None:
        self.calls.append(what)
        self.usage.add(Usage(calls=1, prompt_tokens=10, cost=0.5))
        fail = self.config.fail  # type: ignore[attr-defined]
        if fail:
            raise ERRORS[fail](f"{self.name} {what} broke")

    async def analyze(self, story: str) -> StoryAnalysis:
        self._work("analyze")
        return StoryAnalysis(title=self.name)

    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None = None
    ) -> list[Scene]:
        self._work("scenes")
        return [
            Scene(number=i, title=f"{self.name} {i}", description="d", image_prompt="p")
            for i in range(1, n + 1)
        ]

    async def enhance_prompt(
        self, scene: Scene, analysis: StoryAnalysis | None, style: Style
    ) -> str:
        self._work("enhance")
        return f"{scene.image_prompt} by {self.name}"


class TextB(FakeText):
    name: ClassVar[str] = "text-b"


class KeyedText(FakeText):
    name: ClassVar[str] = "keyed"
    needs_key: ClassVar[bool] = True
    key_env: ClassVar[str | None] = KEY_ENV


# Fake image providers --------------------------------------------------------------------------


class FakeImageConfig(ProviderConfig):
    fail_scenes: list[int] = []
    fail_all: bool = False
    fail: Failure = "transient"
    batch_size: int = 1
    delay: float = 0.0


class FakeImage(ImageProvider):
    name: ClassVar[str] = "image-a"
    config_model: ClassVar[type[ProviderConfig]] = FakeImageConfig

    def __init__(self, config: ProviderConfig | None = None, api_key: SecretStr | None = None):
        super().__init__(config, api_key)
        self.seen: list[int] = []
        self.batches: list[list[int]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def generate_many(self, requests: Sequence[ImageRequest]) -> list[ImageResult]:
        self.batches.append([r.scene_number for r in requests])
        return await super().generate_many(requests)

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        config: Any = self.config
        self.seen.append(request.scene_number)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(config.delay)
        finally:
            self.in_flight -= 1
        if config.fail_all or request.scene_number in config.fail_scenes:
            raise ERRORS[config.fail](f"{self.name} could not draw {request.scene_number}")
        return GeneratedImage(scene_number=request.scene_number, provider=self.name, model="m")


class ImageB(FakeImage):
    name: ClassVar[str] = "image-b"


class PlainImage(ImageProvider):
    """A provider with the base config (no batch_size)."""

    name: ClassVar[str] = "plain"

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        return GeneratedImage(scene_number=request.scene_number, provider=self.name)


# Helpers ---------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)


@pytest.fixture
def host() -> PluginHost:
    host = PluginHost()
    for cls in (FakeText, TextB, KeyedText):
        host.text_providers[cls.name] = cls
    for cls in (FakeImage, ImageB, PlainImage):
        host.image_providers[cls.name] = cls
    return host


def registry(host: PluginHost, data: dict[str, Any]) -> Registry:
    return Registry(parse_config(data), host)


def text_chain(host: PluginHost, data: dict[str, Any], notes: list[str] | None = None) -> TextChain:
    reg = registry(host, data)
    return TextChain(reg.text_slots(), notes.append if notes is not None else None)


def image_chain(host: PluginHost, data: dict[str, Any]) -> ImageChain:
    return ImageChain(registry(host, data).image_slots())


def requests(n: int) -> list[ImageRequest]:
    return [
        ImageRequest(scene_number=i, prompt=f"scene {i}", width=64, height=64, seed=i, style=STYLE)
        for i in range(1, n + 1)
    ]


def provider(chain: ImageChain, name: str) -> FakeImage:
    found = next(p for p in chain.providers if p.name == name)
    assert isinstance(found, FakeImage)
    return found


# Slots and skipping ----------------------------------------------------------------------------


def test_provider_without_key_is_skipped_with_note(host: PluginHost) -> None:
    heard: list[str] = []
    chain = text_chain(host, {"text": {"providers": ["keyed", "text-a"]}}, heard)
    assert [p.name for p in chain.providers] == ["text-a"]
    expected = (
        f"keyed: skipped, no API key (set {KEY_ENV}, run `storyframe keys set keyed`, or set "
        "[providers.keyed] api_key_file)"
    )
    assert chain.notes == [expected]
    assert heard == [expected]


def test_provider_with_key_is_built(host: PluginHost, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "keyed-secret-0123456789")
    reg = registry(host, {"text": {"providers": ["keyed", "text-a"]}})
    slots = reg.text_slots()
    assert [s.configured for s in slots] == [True, True]
    assert slots[0].key_source == f"env {KEY_ENV}"
    assert slots[0].reason == ""
    chain = TextChain(slots)
    assert [p.name for p in chain.providers] == ["keyed", "text-a"]
    assert chain.providers[0].api_key is not None
    assert chain.providers[0].api_key.get_secret_value() == "keyed-secret-0123456789"
    assert chain.notes == []


def test_chain_with_nothing_configured_is_a_config_error(host: PluginHost) -> None:
    with pytest.raises(ConfigError) as caught:
        text_chain(host, {"text": {"providers": ["keyed"]}})
    assert "no provider in the chain [keyed] is configured" in caught.value.one_line()


def test_slots_carry_validated_provider_config(host: PluginHost) -> None:
    reg = registry(
        host,
        {
            "image": {"providers": ["image-a", "plain"]},
            "providers": {"image-a": {"batch_size": 3, "timeout": 9}},
        },
    )
    slot_a, slot_plain = reg.image_slots()
    assert isinstance(slot_a.config, FakeImageConfig)
    assert slot_a.config.batch_size == 3 and slot_a.config.timeout == 9
    assert type(slot_plain.config) is ProviderConfig
    assert reg.slot("text-b").cls is TextB
    with pytest.raises(ConfigError):
        reg.slot("nosuch")


def test_names_override_the_configured_chain(host: PluginHost) -> None:
    reg = registry(host, {})
    assert [s.name for s in reg.text_slots(["text-b"])] == ["text-b"]
    assert [s.name for s in reg.image_slots(["plain"])] == ["plain"]


# TextChain -------------------------------------------------------------------------------------


async def test_text_chain_first_provider_does_the_work(host: PluginHost) -> None:
    chain = text_chain(host, {"text": {"providers": ["text-a", "text-b"]}})
    analysis, used = await chain.analyze("story")
    assert (analysis.title, used) == ("text-a", "text-a")
    assert chain.used == {"analysis": "text-a"}
    assert chain.notes == []


@pytest.mark.parametrize("fail", ["auth", "transient", "quota", "bad", "content"])
async def test_text_chain_falls_back(host: PluginHost, fail: str) -> None:
    heard: list[str] = []
    chain = text_chain(
        host,
        {"text": {"providers": ["text-a", "text-b"]}, "providers": {"text-a": {"fail": fail}}},
        heard,
    )
    analysis, used = await chain.analyze("story")
    assert analysis.title == "text-b"
    assert used == "text-b"
    assert chain.used == {"analysis": "text-b"}
    error_name = ERRORS[fail].__name__
    assert chain.notes == [
        f"text-a: analysis failed ({error_name}: text-a analyze broke)",
        "analysis: falling back to text-b",
    ]
    assert heard == chain.notes

    # text-a is not asked again in this run.
    scenes, used = await chain.generate_scenes("story", 2, STYLE, analysis)
    assert used == "text-b"
    assert [s.title for s in scenes] == ["text-b 1", "text-b 2"]
    assert chain.used == {"analysis": "text-b", "scene writing": "text-b"}
    first = chain.providers[0]
    assert isinstance(first, FakeText)
    assert first.calls == ["analyze"]


async def test_text_chain_all_failing_raises_the_last_error(host: PluginHost) -> None:
    chain = text_chain(
        host,
        {
            "text": {"providers": ["text-a", "text-b"]},
            "providers": {"text-a": {"fail": "auth"}, "text-b": {"fail": "transient"}},
        },
    )
    with pytest.raises(Transient) as caught:
        await chain.analyze("story")
    assert caught.value.provider == "text-b"
    assert "text-b analyze broke" in str(caught.value)
    assert chain.used == {}
    assert chain.notes[-1].startswith("text-b: analysis failed (Transient")
    # Every provider is now disabled.
    with pytest.raises(ConfigError):
        await chain.generate_scenes("story", 2, STYLE, None)


async def test_enhance_prompt_keeps_the_prompt_when_all_fail(host: PluginHost) -> None:
    scene = Scene(number=1, title="t", description="d", image_prompt="original")
    ok = text_chain(host, {"text": {"providers": ["text-a"]}})
    assert await ok.enhance_prompt(scene, None, STYLE) == "original by text-a"
    broken = text_chain(
        host, {"text": {"providers": ["text-a"]}, "providers": {"text-a": {"fail": "bad"}}}
    )
    assert await broken.enhance_prompt(scene, None, STYLE) == "original"


async def test_text_chain_usage_sums_providers(host: PluginHost) -> None:
    chain = text_chain(
        host,
        {"text": {"providers": ["text-a", "text-b"]}, "providers": {"text-a": {"fail": "auth"}}},
    )
    await chain.analyze("story")
    usage = chain.usage()
    assert (usage.calls, usage.prompt_tokens, usage.cost) == (2, 20, 1.0)


async def test_chain_aclose(host: PluginHost) -> None:
    closed: list[str] = []

    class Closing(FakeText):
        name: ClassVar[str] = "closing"

        async def aclose(self) -> None:
            closed.append(self.name)
            raise RuntimeError("close failed")  # must not stop the others

    host.text_providers["closing"] = Closing
    chain = text_chain(host, {"text": {"providers": ["closing", "text-a"]}})
    await chain.aclose()
    assert closed == ["closing"]


# ImageChain ------------------------------------------------------------------------------------


async def test_image_chain_per_request_fallback(host: PluginHost) -> None:
    chain = image_chain(
        host,
        {
            "image": {"providers": ["image-a", "image-b"]},
            "providers": {"image-a": {"fail_scenes": [2, 3], "batch_size": 4}},
        },
    )
    outcomes = await chain.generate(requests(4))
    assert [o.request.scene_number for o in outcomes] == [1, 2, 3, 4]
    assert [o.provider for o in outcomes] == ["image-a", "image-b", "image-b", "image-a"]
    assert all(o.image is not None and o.error is None for o in outcomes)
    assert [o.image.provider for o in outcomes if o.image] == [o.provider for o in outcomes]
    assert outcomes[0].attempts == []
    assert outcomes[1].attempts == ["image-a: Transient: image-a could not draw 2"]
    assert outcomes[2].attempts == ["image-a: Transient: image-a could not draw 3"]
    # Only the failed requests went to the next provider, in one batch.
    assert provider(chain, "image-a").batches == [[1, 2, 3, 4]]
    assert provider(chain, "image-b").batches == [[2, 3]]
    assert chain.notes == ["image-a: scene(s) 2, 3 failed; trying the next provider"]
    # A transient failure does not disable the provider.
    assert not chain.disabled


@pytest.mark.parametrize("fail", ["auth", "quota"])
async def test_image_chain_disabling_error_skips_provider_for_later_batches(
    host: PluginHost, fail: str
) -> None:
    chain = image_chain(
        host,
        {
            "image": {"providers": ["image-a", "image-b"]},
            "providers": {"image-a": {"fail_all": True, "fail": fail, "batch_size": 2}},
        },
    )
    outcomes = await chain.generate(requests(6), concurrency=1)
    assert [o.provider for o in outcomes] == ["image-b"] * 6
    assert provider(chain, "image-a").batches == [[1, 2]]
    assert provider(chain, "image-b").batches == [[1, 2], [3, 4], [5, 6]]
    assert set(chain.disabled) == {"image-a"}
    disabled_notes = [n for n in chain.notes if "disabled for this run" in n]
    assert len(disabled_notes) == 1
    assert disabled_notes[0].startswith(f"image-a: disabled for this run ({ERRORS[fail].__name__}")
    # The first failed batch keeps its attempts; later ones never touched image-a.
    assert len(outcomes[0].attempts) == 1
    assert outcomes[2].attempts == []


async def test_content_rejection_does_not_disable(host: PluginHost) -> None:
    chain = image_chain(
        host,
        {
            "image": {"providers": ["image-a", "image-b"]},
            "providers": {"image-a": {"fail_scenes": [1], "fail": "content"}},
        },
    )
    outcomes = await chain.generate(requests(3), concurrency=1)
    assert [o.provider for o in outcomes] == ["image-b", "image-a", "image-a"]
    assert not chain.disabled


async def test_on_outcome_called_once_per_request(host: PluginHost) -> None:
    chain = image_chain(
        host,
        {
            "image": {"providers": ["image-a", "image-b"]},
            "providers": {
                "image-a": {"fail_scenes": [2, 3], "batch_size": 2},
                "image-b": {"fail_scenes": [3]},
            },
        },
    )
    seen: list[tuple[int, str | None, bool, str | None]] = []

    async def on_outcome(outcome: ImageOutcome) -> None:
        seen.append(
            (
                outcome.request.scene_number,
                outcome.provider,
                outcome.image is not None,
                type(outcome.error).__name__ if outcome.error else None,
            )
        )

    outcomes = await chain.generate(requests(5), on_outcome)
    assert sorted(seen) == [
        (1, "image-a", True, None),
        (2, "image-b", True, None),
        (3, None, False, "Transient"),
        (4, "image-a", True, None),
        (5, "image-a", True, None),
    ]
    failed = outcomes[2]
    assert failed.image is None and failed.provider is None
    assert isinstance(failed.error, Transient)
    assert failed.error.provider == "image-b"
    assert failed.attempts == [
        "image-a: Transient: image-a could not draw 3",
        "image-b: Transient: image-b could not draw 3",
    ]


async def test_outcome_when_every_provider_is_disabled(host: PluginHost) -> None:
    chain = image_chain(
        host,
        {
            "image": {"providers": ["image-a", "image-b"]},
            "providers": {
                "image-a": {"fail_all": True, "fail": "auth"},
                "image-b": {"fail_all": True, "fail": "quota"},
            },
        },
    )
    called: list[int] = []

    async def on_outcome(outcome: ImageOutcome) -> None:
        called.append(outcome.request.scene_number)

    outcomes = await chain.generate(requests(3), on_outcome, concurrency=1)
    assert sorted(called) == [1, 2, 3]
    assert isinstance(outcomes[0].error, QuotaError)
    # Later requests never reached a provider, yet each still ends with an error saying why.
    for outcome in outcomes[1:]:
        assert outcome.image is None
        assert isinstance(outcome.error, ProviderError)
        assert "disabled" in str(outcome.error)


async def test_image_chain_concurrency_respected(host: PluginHost) -> None:
    chain = image_chain(
        host,
        {"image": {"providers": ["image-a"]}, "providers": {"image-a": {"delay": 0.02}}},
    )
    outcomes = await chain.generate(requests(6), concurrency=2)
    assert all(o.provider == "image-a" for o in outcomes)
    first = provider(chain, "image-a")
    assert len(first.batches) == 6
    assert first.max_in_flight == 2


async def test_provider_concurrency_bounds_a_batch(host: PluginHost) -> None:
    chain = image_chain(
        host,
        {
            "image": {"providers": ["image-a"]},
            "providers": {"image-a": {"delay": 0.02, "batch_size": 6, "concurrency": 3}},
        },
    )
    await chain.generate(requests(6), concurrency=4)
    first = provider(chain, "image-a")
    assert first.batches == [[1, 2, 3, 4, 5, 6]]
    assert first.max_in_flight == 3


async def test_batch_size_from_first_active_provider(host: PluginHost) -> None:
    chain = image_chain(
        host,
        {
            "image": {"providers": ["image-a", "image-b"]},
            "providers": {"image-a": {"batch_size": 3}, "image-b": {"batch_size": 5}},
        },
    )
    assert chain.batch_size() == 3
    await chain.generate(requests(7))
    assert provider(chain, "image-a").batches == [[1, 2, 3], [4, 5, 6], [7]]
    chain.disabled["image-a"] = "switched off by the test"
    assert chain.batch_size() == 5


async def test_batch_size_defaults_to_one(host: PluginHost) -> None:
    chain = image_chain(host, {"image": {"providers": ["plain"]}})
    assert chain.batch_size() == 1
    outcomes = await chain.generate(requests(2))
    assert [o.provider for o in outcomes] == ["plain", "plain"]
