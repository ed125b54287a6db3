"""storyframe's provider conformance kit, run on both OpenRouter providers.

The contract checks run against the OpenRouter emulator; the behaviour checks (error mapping,
cancellation, loop lag, secrets, scenes, usage) run against the kit's fake service, answering
successful requests the way OpenRouter does.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pydantic import SecretStr

from storyframe.providers import Provider
from storyframe.testing import (
    HttpFactory,
    ImageProviderConformance,
    ProviderFactory,
    RecordedRequest,
    Reply,
    TextProviderConformance,
    png,
)
from storyframe_openrouter.config import OpenRouterConfig, OpenRouterImageConfig
from storyframe_openrouter.image import OpenRouterImageProvider
from storyframe_openrouter.text import OpenRouterTextProvider
from tests.openrouter.conftest import FAST
from tests.openrouter.emulator import (
    ANALYSIS,
    OpenRouterEmulator,
    completion,
    request_kind,
    scene_count,
)

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])

PLACES = ["river landing", "foggy reeds", "sandbar", "bakery", "church bell tower", "village lane"]


def answer_chat(request: RecordedRequest) -> Reply:
    """OpenRouter's successful chat completion for an analysis, scenes or an image."""
    body: dict[str, Any] = request.json()
    kind = request_kind(body)
    images = None
    if kind == "analysis":
        content = json.dumps(ANALYSIS)
    elif kind == "scenes":
        scenes = [
            {
                "title": f"At the {place}",
                "description": f"Wren and Tobias reach the {place}.",
                "image_prompt": f"A girl and an old ferryman at the {place}, lantern light",
                "characters": ["Wren", "Tobias"],
                "place": place,
                "time_of_day": "night",
            }
            for place in (PLACES * 4)[: scene_count(body)]
        ]
        content = json.dumps({"scenes": scenes})
    else:
        content = "Here is your image."
        data = base64.b64encode(png(64, 64)).decode()
        images = [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}]
    return Reply(json=completion(body, content, images=images))


def factory(config_class: type[Any], provider_class: type[Provider]) -> HttpFactory:
    def build(base_url: str, api_key: SecretStr | None, **settings: Any) -> Provider:
        return provider_class(config_class(base_url=base_url, **settings), api_key)

    return build


class TestOpenRouterTextConformance(TextProviderConformance):
    @pytest.fixture
    def provider_factory(self, emulator: OpenRouterEmulator) -> ProviderFactory:
        config = OpenRouterConfig(base_url=emulator.base_url, **FAST)
        return lambda: OpenRouterTextProvider(config, SecretStr(emulator.api_key))

    @pytest.fixture
    def http_factory(self) -> HttpFactory:
        return factory(OpenRouterConfig, OpenRouterTextProvider)

    def answer(self, request: RecordedRequest) -> Reply:
        return answer_chat(request)


class TestOpenRouterImageConformance(ImageProviderConformance):
    @pytest.fixture
    def provider_factory(self, emulator: OpenRouterEmulator) -> ProviderFactory:
        config = OpenRouterImageConfig(base_url=emulator.base_url, **FAST)
        return lambda: OpenRouterImageProvider(config, SecretStr(emulator.api_key))

    @pytest.fixture
    def http_factory(self) -> HttpFactory:
        return factory(OpenRouterImageConfig, OpenRouterImageProvider)

    def answer(self, request: RecordedRequest) -> Reply:
        return answer_chat(request)
