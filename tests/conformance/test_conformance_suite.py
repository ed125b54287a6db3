"""The conformance suite itself: it passes a good provider and catches each kind of bad one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from pydantic import SecretStr

from storyframe.errors import Transient
from storyframe.models import GeneratedImage, ImageRequest, Scene, StoryAnalysis, Style
from storyframe.providers import (
    CheckResult,
    ImageProvider,
    ImageResult,
    Provider,
    ProviderConfig,
    TextProvider,
)
from storyframe.testing import (
    ImageProviderConformance,
    TextProviderConformance,
    png,
)

PNG = png(8, 8)


class GoodImage(ImageProvider):
    name = "good-image"

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        data = png(request.width, request.height)
        return GeneratedImage(scene_number=request.scene_number, provider=self.name, data=data)


class UrlImage(GoodImage):
    name = "url-image"

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        return GeneratedImage(
            scene_number=request.scene_number,
            provider=self.name,
            url=f"https://images.example.com/{request.scene_number}.webp",
            media_type="image/webp",
            width=request.width,
            height=request.height,
        )


class GoodText(TextProvider):
    name = "good-text"

    async def analyze(self, story: str) -> StoryAnalysis:
        return StoryAnalysis(word_count=len(story.split()))

    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None = None
    ) -> list[Scene]:
        sentences = [s for s in story.split(".") if s.strip()]
        return [
            Scene(number=i, title=f"Scene {i}", description=text, image_prompt=text)
            for i, text in enumerate(sentences[:n], start=1)
        ]


class TestGoodImage(ImageProviderConformance):
    provider_class = GoodImage


class TestUrlImage(ImageProviderConformance):
    provider_class = UrlImage


class TestGoodText(TextProviderConformance):
    provider_class = GoodText


# Each bad provider breaks one rule; the named suite test must fail on it.


class BadName(GoodImage):
    name = "Bad Name"


class WrongSceneNumber(GoodImage):
    async def generate(self, request: ImageRequest) -> GeneratedImage:
        return GeneratedImage(scene_number=99, provider=self.name, data=PNG)


class WrongProviderName(GoodImage):
    async def generate(self, request: ImageRequest) -> GeneratedImage:
        return GeneratedImage(scene_number=request.scene_number, provider="other", data=PNG)


class NotAnImage(GoodImage):
    async def generate(self, request: ImageRequest) -> GeneratedImage:
        return GeneratedImage(scene_number=request.scene_number, provider=self.name, data=b"<html")


class WrongMediaType(GoodImage):
    async def generate(self, request: ImageRequest) -> GeneratedImage:
        return GeneratedImage(
            scene_number=request.scene_number, provider=self.name, data=PNG, media_type="image/jpeg"
        )


class FileUrl(GoodImage):
    async def generate(self, request: ImageRequest) -> GeneratedImage:
        return GeneratedImage(
            scene_number=request.scene_number, provider=self.name, url="file:///etc/passwd"
        )


class Reversed(GoodImage):
    async def generate_many(self, requests: Sequence[ImageRequest]) -> list[ImageResult]:
        return list(reversed(await super().generate_many(requests)))


class FailsOne(GoodImage):
    async def generate(self, request: ImageRequest) -> GeneratedImage:
        if request.scene_number == 2:
            raise Transient("busy")
        return await super().generate(request)


class LaxConfig(ProviderConfig):
    model_config = ProviderConfig.model_config | {"extra": "ignore"}


class IgnoresUnknownKeys(GoodImage):
    config_model = LaxConfig


class RequiredField(ProviderConfig):
    endpoint: str


class NoDefaults(GoodImage):
    config_model = RequiredField

    def __init__(self, config: ProviderConfig | None = None, api_key: SecretStr | None = None):
        super().__init__(config or RequiredField(endpoint="x"), api_key)


class CheckRaises(GoodImage):
    async def check(self) -> CheckResult:
        raise RuntimeError("boom")


class KeylessOk(GoodImage):
    needs_key = True
    key_env = "KEYLESS_API_KEY"


class NoKeyEnv(GoodImage):
    needs_key = True


class LeaksKey(GoodImage):
    def __repr__(self) -> str:
        key = self.api_key.get_secret_value() if self.api_key else ""
        return f"<LeaksKey key={key}>"


class CloseTwiceFails(GoodImage):
    closed = False

    async def aclose(self) -> None:
        if self.closed:
            raise RuntimeError("already closed")
        self.closed = True


class WrongKind(GoodText):
    kind = "image"  # type: ignore[assignment]


class TooManyScenes(GoodText):
    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None = None
    ) -> list[Scene]:
        scenes = await super().generate_scenes(story + ". Extra." * 20, n + 1, style, analysis)
        return scenes


class TooFewScenes(GoodText):
    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None = None
    ) -> list[Scene]:
        return (await super().generate_scenes(story, n, style, analysis))[:-1]


class NumberedFromZero(GoodText):
    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None = None
    ) -> list[Scene]:
        scenes = await super().generate_scenes(story, n, style, analysis)
        return [scene.model_copy(update={"number": scene.number + 1}) for scene in scenes]


class EmptyEnhance(GoodText):
    async def enhance_prompt(
        self, scene: Scene, analysis: StoryAnalysis | None, style: Style
    ) -> str:
        return "  "


CASES: list[tuple[type[Any], type[Provider], str, str]] = [
    (ImageProviderConformance, BadName, "test_identity", "lowercase identifier"),
    (TextProviderConformance, WrongKind, "test_identity", "kind"),
    (ImageProviderConformance, WrongSceneNumber, "test_generate", "scene_number"),
    (ImageProviderConformance, WrongProviderName, "test_generate", "provider is 'other'"),
    (ImageProviderConformance, NotAnImage, "test_generate", "not PNG, JPEG or WEBP"),
    (ImageProviderConformance, WrongMediaType, "test_generate", "media_type"),
    (ImageProviderConformance, FileUrl, "test_generate", "http"),
    (ImageProviderConformance, Reversed, "test_generate_many", "scene_number"),
    (ImageProviderConformance, FailsOne, "test_generate_many", "GeneratedImage"),
    (
        ImageProviderConformance,
        IgnoresUnknownKeys,
        "test_config_model_rejects_unknown_keys",
        "DID NOT RAISE",
    ),
    (ImageProviderConformance, NoDefaults, "test_config_model_defaults", "no keys set"),
    (ImageProviderConformance, CheckRaises, "test_check", "must never raise"),
    (ImageProviderConformance, KeylessOk, "test_check_without_key", "must not report ok"),
    (ImageProviderConformance, NoKeyEnv, "test_key_declaration", "key_env"),
    (ImageProviderConformance, LeaksKey, "test_repr_hides_secret", "API key"),
    (ImageProviderConformance, CloseTwiceFails, "test_aclose_is_idempotent", "already closed"),
    (TextProviderConformance, TooManyScenes, "test_generate_scenes", "asked for"),
    (TextProviderConformance, TooFewScenes, "test_generate_scenes", "asked for"),
    (TextProviderConformance, NumberedFromZero, "test_generate_scenes", "numbered"),
    (TextProviderConformance, EmptyEnhance, "test_enhance_prompt", "enhance_prompt"),
]


@pytest.mark.parametrize(
    ("suite", "provider", "test", "message"),
    CASES,
    ids=[f"{case[1].__name__}-{case[2]}" for case in CASES],
)
async def test_suite_catches(
    suite: type[Any], provider: type[Provider], test: str, message: str
) -> None:
    factory: Callable[[], Provider] = provider
    with pytest.raises((AssertionError, pytest.fail.Exception, RuntimeError), match=message):
        await getattr(suite(), test)(factory)
