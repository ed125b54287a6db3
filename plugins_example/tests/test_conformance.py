"""openai-chat and openai-images (as URLs) pass storyframe's conformance kit; so does mosaic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fake_openai import answer
from pydantic import SecretStr
from storyframe.providers import Provider
from storyframe.testing import (
    ImageProviderConformance,
    RecordedRequest,
    Reply,
    TextProviderConformance,
)

from storyframe_mosaic.provider import MosaicConfig, MosaicImageProvider
from storyframe_openai_compat.chat import ChatConfig, OpenAIChatProvider
from storyframe_openai_compat.images import ImagesConfig, OpenAIImagesProvider


def factory(cls: type[Provider], config: type[Any], **fixed: Any) -> Callable[..., Provider]:
    """Build ``cls`` against the kit's fake service (the kit passes base_url, key, settings)."""

    def build(base_url: str, api_key: SecretStr | None, **settings: Any) -> Provider:
        return cls(config(base_url=base_url, **fixed, **settings), api_key)

    return build


class TestChatConformance(TextProviderConformance):
    @pytest.fixture
    def http_factory(self) -> Callable[..., Provider]:
        return factory(OpenAIChatProvider, ChatConfig)

    def answer(self, request: RecordedRequest) -> Reply:
        return answer(request)


class TestImagesAsUrlsConformance(ImageProviderConformance):
    """openai-images with ``response_format = "url"`` (test_images_conformance.py: bytes)."""

    @pytest.fixture
    def http_factory(self) -> Callable[..., Provider]:
        return factory(OpenAIImagesProvider, ImagesConfig, response_format="url")

    def answer(self, request: RecordedRequest) -> Reply:
        return answer(request)


class TestMosaicConformance(ImageProviderConformance):
    """The offline example, with its default config: the kit's non-HTTP checks."""

    provider_class = MosaicImageProvider


class TestConfiguredMosaicConformance(ImageProviderConformance):
    """With a config of its own, built through the ``provider_factory`` fixture."""

    @pytest.fixture
    def provider_factory(self) -> Callable[[], MosaicImageProvider]:
        config = MosaicConfig(tile_size=8, grout=0, jitter=0.0, concurrency=2)
        return lambda: MosaicImageProvider(config)
