"""storyframe's provider conformance suite, run on both OpenRouter providers via the emulator."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from storyframe.testing import (
    ImageProviderConformance,
    ProviderFactory,
    TextProviderConformance,
)
from storyframe_openrouter.config import OpenRouterConfig, OpenRouterImageConfig
from storyframe_openrouter.image import OpenRouterImageProvider
from storyframe_openrouter.text import OpenRouterTextProvider
from tests.openrouter.conftest import FAST
from tests.openrouter.emulator import OpenRouterEmulator

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])


class TestOpenRouterTextConformance(TextProviderConformance):
    @pytest.fixture
    def provider_factory(self, emulator: OpenRouterEmulator) -> ProviderFactory:
        config = OpenRouterConfig(base_url=emulator.base_url, **FAST)
        return lambda: OpenRouterTextProvider(config, SecretStr(emulator.api_key))


class TestOpenRouterImageConformance(ImageProviderConformance):
    @pytest.fixture
    def provider_factory(self, emulator: OpenRouterEmulator) -> ProviderFactory:
        config = OpenRouterImageConfig(base_url=emulator.base_url, **FAST)
        return lambda: OpenRouterImageProvider(config, SecretStr(emulator.api_key))
