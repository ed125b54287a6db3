"""The pytest suites plugin authors subclass: one for image providers, one for text providers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from storyframe.models import GeneratedImage, ImageRequest, Scene, StoryAnalysis, Style, Usage
from storyframe.providers import ImageProvider, Provider, TextProvider
from storyframe.testing import checks, references
from storyframe.testing.checks import HttpFactory
from storyframe.testing.contract import ProviderFactory, _ProviderConformance
from storyframe.testing.samples import (
    CONFORMANCE_STYLE,
    SAMPLE_STORY,
    SHORT_STORY,
    assert_image_data,
    assert_url,
)


class ImageProviderConformance(_ProviderConformance):
    """The conformance suite for :class:`~storyframe.providers.ImageProvider` subclasses."""

    kind = "image"
    base = ImageProvider
    provider_class: ClassVar[type[ImageProvider] | None] = None
    prompt: ClassVar[str] = (
        "An old ferryman in a patched blue coat rows a small boat through river fog, "
        "a lantern glowing at the bow"
    )
    """The prompt of the requests the suite sends."""

    def image_request(self, cls: type[Provider], scene_number: int = 1) -> ImageRequest:
        """A request the provider can honour: a small size within its capabilities."""
        caps = cls.capabilities
        size = -(-256 // caps.size_multiple) * caps.size_multiple
        size = min(max(size, caps.min_size), caps.max_size)
        return ImageRequest(
            scene_number=scene_number,
            title=f"Scene {scene_number}",
            prompt=f"{self.prompt}, scene {scene_number}",
            negative_prompt=CONFORMANCE_STYLE.negative_prompt,
            width=size,
            height=size,
            seed=1000 + scene_number,
            style=CONFORMANCE_STYLE,
        )

    def sized_request(self, cls: type[Provider]) -> ImageRequest:
        """A request with an oblong size the capabilities allow and an unusual seed."""
        caps = cls.capabilities

        def fit(value: int) -> int:
            value = -(-value // caps.size_multiple) * caps.size_multiple
            return min(max(value, caps.min_size), caps.max_size)

        return self.image_request(cls, scene_number=2).model_copy(
            update={"width": fit(320), "height": fit(192), "seed": 424242}
        )

    async def call(self, provider: Provider) -> Any:
        """Draw one image."""
        assert isinstance(provider, ImageProvider)
        return await provider.generate(self.image_request(type(provider)))

    @pytest.mark.asyncio
    async def test_size_and_seed(
        self, provider_factory: ProviderFactory, http_factory: HttpFactory | None
    ) -> None:
        """The image has the requested size, and the seed is used if ``capabilities.seed``."""
        async with self.working(provider_factory, http_factory) as (provider, service):
            assert isinstance(provider, ImageProvider)
            await checks.check_size_and_seed(provider, self.sized_request(type(provider)), service)

    @pytest.mark.asyncio
    async def test_references_sent(
        self,
        provider_factory: ProviderFactory,
        http_factory: HttpFactory | None,
        tmp_path: Path,
    ) -> None:
        """Reference sheets, up to ``max_references()``, are sent in order and named in
        ``GeneratedImage.references`` (none by a provider that takes none)."""
        async with self.working(provider_factory, http_factory) as (provider, service):
            assert isinstance(provider, ImageProvider)
            request = self.image_request(type(provider), scene_number=5)
            await references.check_references_sent(provider, request, tmp_path, service)

    @pytest.mark.asyncio
    async def test_references_capped(
        self,
        provider_factory: ProviderFactory,
        http_factory: HttpFactory | None,
        tmp_path: Path,
    ) -> None:
        """More sheets than ``max_references()``: only the first ones are sent and named."""
        async with self.working(provider_factory, http_factory) as (provider, service):
            assert isinstance(provider, ImageProvider)
            request = self.image_request(type(provider), scene_number=6)
            await references.check_references_capped(provider, request, tmp_path, service)

    def check_image(self, image: object, request: ImageRequest, cls: type[Provider]) -> None:
        """Assert ``image`` is a well-formed answer to ``request``."""
        assert isinstance(image, GeneratedImage), f"expected a GeneratedImage, got {image!r}"
        assert image.scene_number == request.scene_number, (
            f"scene_number is {image.scene_number}, the request's is {request.scene_number}"
        )
        assert image.provider == cls.name, (
            f"provider is {image.provider!r}, not the provider's name {cls.name!r}"
        )
        assert image.data is not None or image.url is not None, "neither data nor url is set"
        if image.data is not None:
            assert_image_data(image.data, image.media_type)
        else:
            assert image.url is not None
            assert_url(image.url)

    @pytest.mark.asyncio
    async def test_generate(self, provider_factory: ProviderFactory) -> None:
        """``generate`` answers one request with image bytes or an http(s) URL."""
        provider = self.build(provider_factory)
        assert isinstance(provider, ImageProvider)
        request = self.image_request(type(provider), scene_number=3)
        try:
            image = await provider.generate(request)
        finally:
            await provider.aclose()
        self.check_image(image, request, type(provider))

    @pytest.mark.asyncio
    async def test_generate_many(self, provider_factory: ProviderFactory) -> None:
        """``generate_many`` returns one result per request, in the requests' order."""
        provider = self.build(provider_factory)
        assert isinstance(provider, ImageProvider)
        cls = type(provider)
        requests = [self.image_request(cls, scene_number=n) for n in (4, 1, 2)]
        try:
            results = await provider.generate_many(requests)
        finally:
            await provider.aclose()
        assert isinstance(results, list), f"generate_many returned {type(results).__name__}"
        assert len(results) == len(requests), f"{len(results)} results for {len(requests)} requests"
        for request, result in zip(requests, results, strict=True):
            self.check_image(result, request, cls)

    @pytest.mark.asyncio
    async def test_generate_many_empty(self, provider_factory: ProviderFactory) -> None:
        """``generate_many([])`` returns an empty list without calling the service."""
        provider = self.build(provider_factory)
        assert isinstance(provider, ImageProvider)
        try:
            results = await provider.generate_many([])
        finally:
            await provider.aclose()
        assert results == [], f"generate_many([]) returned {results!r}"


class TextProviderConformance(_ProviderConformance):
    """The conformance suite for :class:`~storyframe.providers.TextProvider` subclasses."""

    kind = "text"
    base = TextProvider
    provider_class: ClassVar[type[TextProvider] | None] = None
    story: ClassVar[str] = SAMPLE_STORY
    """A story long enough for :attr:`scene_count` scenes."""
    short_story: ClassVar[str] = SHORT_STORY
    """A story too short for :attr:`too_many_scenes` scenes."""
    scene_count: ClassVar[int] = 6
    too_many_scenes: ClassVar[int] = 12
    style: ClassVar[Style] = CONFORMANCE_STYLE

    def build_text(self, factory: ProviderFactory) -> TextProvider:
        """Build a text provider with ``factory``."""
        provider = self.build(factory)
        assert isinstance(provider, TextProvider)
        return provider

    def check_scenes(self, scenes: object, n: int, *, exact: bool) -> list[Scene]:
        """Assert ``scenes`` are numbered 1..k (k == n if ``exact``, else 1 <= k <= n)."""
        assert isinstance(scenes, list), f"generate_scenes returned {type(scenes).__name__}"
        assert all(isinstance(scene, Scene) for scene in scenes), "every item must be a Scene"
        if exact:
            assert len(scenes) == n, f"asked for {n} scenes of a long story, got {len(scenes)}"
        else:
            assert 1 <= len(scenes) <= n, f"asked for at most {n} scenes, got {len(scenes)}"
        numbers = [scene.number for scene in scenes]
        assert numbers == list(range(1, len(scenes) + 1)), f"scenes are numbered {numbers}"
        for scene in scenes:
            assert scene.title.strip(), f"scene {scene.number} has an empty title"
            assert scene.image_prompt.strip(), f"scene {scene.number} has an empty image prompt"
            assert isinstance(scene.description, str)
        return scenes

    async def call(self, provider: Provider) -> Any:
        """Write the scenes of the sample story."""
        assert isinstance(provider, TextProvider)
        return await provider.generate_scenes(self.story, self.scene_count, self.style)

    @pytest.mark.asyncio
    async def test_scenes_distinct(
        self, provider_factory: ProviderFactory, http_factory: HttpFactory | None
    ) -> None:
        """Scenes differ, each prompt draws on its scene, and no prompt has the style suffix."""
        async with self.working(provider_factory, http_factory) as (provider, _):
            scenes = self.check_scenes(await self.call(provider), self.scene_count, exact=True)
        checks.check_scenes_distinct(scenes, self.style.prompt_suffix)

    @pytest.mark.asyncio
    async def test_usage_reported(self, http_factory: HttpFactory | None) -> None:
        """A provider that calls a service counts the calls and their tokens or cost."""
        factory = self._http(http_factory, answer=True)
        async with checks.serving(factory, self.answer) as (provider, service):
            assert isinstance(provider, TextProvider)
            await self.call(provider)
            checks.check_usage_reported(provider, len(service.requests))

    @pytest.mark.asyncio
    async def test_usage(self, provider_factory: ProviderFactory) -> None:
        """A text provider keeps a :class:`~storyframe.models.Usage` record."""
        provider = self.build_text(provider_factory)
        await provider.aclose()
        assert isinstance(provider.usage, Usage), "usage must be a storyframe.models.Usage"

    @pytest.mark.asyncio
    async def test_analyze(self, provider_factory: ProviderFactory) -> None:
        """``analyze`` returns a StoryAnalysis."""
        provider = self.build_text(provider_factory)
        try:
            analysis = await provider.analyze(self.story)
        finally:
            await provider.aclose()
        assert isinstance(analysis, StoryAnalysis), f"analyze returned {analysis!r}"

    @pytest.mark.asyncio
    async def test_generate_scenes(self, provider_factory: ProviderFactory) -> None:
        """A long enough story yields exactly the scenes asked for, numbered from 1."""
        provider = self.build_text(provider_factory)
        try:
            scenes = await provider.generate_scenes(self.story, self.scene_count, self.style)
        finally:
            await provider.aclose()
        self.check_scenes(scenes, self.scene_count, exact=True)

    @pytest.mark.asyncio
    async def test_generate_scenes_with_analysis(self, provider_factory: ProviderFactory) -> None:
        """``generate_scenes`` accepts the analysis ``analyze`` produced."""
        provider = self.build_text(provider_factory)
        try:
            analysis = await provider.analyze(self.story)
            scenes = await provider.generate_scenes(self.story, 3, self.style, analysis)
        finally:
            await provider.aclose()
        self.check_scenes(scenes, 3, exact=True)

    @pytest.mark.asyncio
    async def test_generate_scenes_short_story(self, provider_factory: ProviderFactory) -> None:
        """A story too short for ``n`` scenes yields at most ``n``, still numbered from 1."""
        provider = self.build_text(provider_factory)
        try:
            scenes = await provider.generate_scenes(
                self.short_story, self.too_many_scenes, self.style
            )
        finally:
            await provider.aclose()
        self.check_scenes(scenes, self.too_many_scenes, exact=False)

    @pytest.mark.asyncio
    async def test_enhance_prompt(self, provider_factory: ProviderFactory) -> None:
        """``enhance_prompt`` returns a non-empty prompt."""
        scene = Scene(
            number=1,
            title="Into the fog",
            description="Tobias rows Wren across the river as fog rises.",
            image_prompt="An old ferryman rows a girl across a foggy river at night",
            characters=["Tobias Reed", "Wren"],
        )
        provider = self.build_text(provider_factory)
        try:
            analysis = await provider.analyze(self.story)
            prompt = await provider.enhance_prompt(scene, analysis, self.style)
        finally:
            await provider.aclose()
        assert isinstance(prompt, str) and prompt.strip(), f"enhance_prompt returned {prompt!r}"


__all__ = ["ImageProviderConformance", "TextProviderConformance"]
