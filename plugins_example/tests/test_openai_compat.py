"""What the OpenAI-compatible providers send and how they read the answers."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fake_openai import answer
from pydantic import SecretStr
from storyframe.errors import BadResponse, InvalidRequest
from storyframe.models import ImageRequest
from storyframe.testing import CONFORMANCE_STYLE, SAMPLE_STORY, FakeService, Reply, png

from storyframe_openai_compat.chat import ChatConfig, OpenAIChatProvider
from storyframe_openai_compat.images import ImagesConfig, OpenAIImagesProvider

pytestmark = pytest.mark.asyncio
FAST = {"max_attempts": 1, "backoff_base": 0.0}


def chat(service: FakeService, key: str | None = None, **config: Any) -> OpenAIChatProvider:
    settings = ChatConfig(base_url=f"{service.url}/v1", model="llama3.2", **FAST, **config)
    return OpenAIChatProvider(settings, SecretStr(key) if key else None)


def request(**changes: Any) -> ImageRequest:
    values: dict[str, Any] = {
        "scene_number": 2,
        "prompt": "A ferryman in the fog",
        "width": 320,
        "height": 192,
        "seed": 5,
        "style": CONFORMANCE_STYLE,
    }
    return ImageRequest(**{**values, **changes})


async def test_scenes_from_a_json_schema_answer(fake_service: FakeService) -> None:
    fake_service.default = answer
    async with chat(fake_service) as provider:
        scenes = await provider.generate_scenes(SAMPLE_STORY, 4, CONFORMANCE_STYLE)
    sent = fake_service.requests[0]
    body = sent.json()
    assert (sent.method, sent.path, body["model"]) == ("POST", "/v1/chat/completions", "llama3.2")
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["scenes"]
    assert "exactly 4 scenes" in body["messages"][0]["content"]
    assert body["messages"][1]["content"] == SAMPLE_STORY
    assert [scene.title for scene in scenes] == [
        "At the landing",
        "At the river",
        "At the reeds",
        "At the sandbar",
    ]
    assert scenes[0].characters == ["Wren", "Tobias"]
    assert CONFORMANCE_STYLE.prompt_suffix not in scenes[0].image_prompt
    usage = provider.usage
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (1, 900, 300)


async def test_auto_falls_back_to_json_object_once(fake_service: FakeService) -> None:
    fake_service.default = answer
    fake_service.queue(Reply(400, json={"error": {"message": "response_format not supported"}}))
    async with chat(fake_service) as provider:
        await provider.generate_scenes(SAMPLE_STORY, 2, CONFORMANCE_STYLE)
        await provider.generate_scenes(SAMPLE_STORY, 2, CONFORMANCE_STYLE)
    kinds = [r.json()["response_format"]["type"] for r in fake_service.requests]
    assert kinds == ["json_schema", "json_object", "json_object"]


async def test_a_fixed_structured_output_does_not_fall_back(fake_service: FakeService) -> None:
    fake_service.default = Reply(400, json={"error": {"message": "bad request"}})
    async with chat(fake_service, structured_output="json_schema") as provider:
        with pytest.raises(InvalidRequest):
            await provider.generate_scenes(SAMPLE_STORY, 2, CONFORMANCE_STYLE)
    assert len(fake_service.requests) == 1


async def test_json_object_is_asked_for_when_configured(fake_service: FakeService) -> None:
    fake_service.default = answer
    async with chat(fake_service, structured_output="json_object") as provider:
        await provider.generate_scenes(SAMPLE_STORY, 2, CONFORMANCE_STYLE)
    assert fake_service.requests[0].json()["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize(
    "content", ["not json", '{"scenes": "none"}', '{"scenes": [{"title": "x"}]}', '{"scenes": []}']
)
async def test_unusable_content_is_a_bad_response(fake_service: FakeService, content: str) -> None:
    fake_service.default = Reply(json={"choices": [{"message": {"content": content}}]})
    async with chat(fake_service) as provider:
        with pytest.raises(BadResponse, match="scenes"):
            await provider.generate_scenes(SAMPLE_STORY, 2, CONFORMANCE_STYLE)


async def test_the_key_is_optional(fake_service: FakeService) -> None:
    fake_service.default = answer
    async with chat(fake_service) as keyless:
        await keyless.generate_scenes(SAMPLE_STORY, 1, CONFORMANCE_STYLE)
    async with chat(fake_service, key="sk-local-123456") as keyed:
        await keyed.generate_scenes(SAMPLE_STORY, 1, CONFORMANCE_STYLE)
    first, second = (r.headers.get("Authorization") for r in fake_service.requests)
    assert (first, second) == (None, "Bearer sk-local-123456")
    assert OpenAIChatProvider.needs_key is False
    assert OpenAIChatProvider.key_env == "OPENAI_API_KEY"


async def test_a_key_env_setting_names_another_variable(
    fake_service: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCAL_LLM_KEY", "sk-other-abcdef")
    fake_service.default = answer
    settings = ChatConfig(base_url=fake_service.url, key_env="LOCAL_LLM_KEY", **FAST)
    async with OpenAIChatProvider(settings) as provider:
        await provider.generate_scenes(SAMPLE_STORY, 1, CONFORMANCE_STYLE)
    assert fake_service.requests[0].headers["Authorization"] == "Bearer sk-other-abcdef"


async def test_check_lists_the_models(fake_service: FakeService) -> None:
    fake_service.default = answer
    async with chat(fake_service) as provider:
        result = await provider.check()
    assert result.ok and fake_service.requests[0].path == "/v1/models"
    fake_service.default = Reply(401, json={"error": {"message": "bad key"}})
    async with chat(fake_service) as provider:
        result = await provider.check()
    assert not result.ok and "401" in result.detail


@pytest.mark.parametrize("response_format", [None, "b64_json", "url"])
async def test_images_as_bytes_or_urls(fake_service: FakeService, response_format: str) -> None:
    fake_service.default = answer
    config = ImagesConfig(
        base_url=fake_service.url, model="sd-turbo", response_format=response_format
    )
    async with OpenAIImagesProvider(config) as provider:
        image = await provider.generate(request())
    body = fake_service.requests[0].json()
    assert (body["size"], body["model"], body["prompt"]) == (
        "320x192",
        "sd-turbo",
        "A ferryman in the fog",
    )
    assert body.get("response_format") == response_format
    assert (image.scene_number, image.provider, image.model) == (2, "openai-images", "sd-turbo")
    if response_format == "url":
        assert image.data is None and fake_service.file(image.url or "") == png(320, 192)
    else:
        assert image.data == png(320, 192) and image.media_type == "image/png"


async def test_jpeg_bytes_are_labelled_jpeg(fake_service: FakeService) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"\0" * 32
    fake_service.default = Reply(json={"data": [{"b64_json": base64.b64encode(jpeg).decode()}]})
    async with OpenAIImagesProvider(ImagesConfig(base_url=fake_service.url)) as provider:
        image = await provider.generate(request())
    assert image.media_type == "image/jpeg"


@pytest.mark.parametrize(
    "body", [{"data": []}, {"data": [{}]}, {"data": [{"b64_json": "%%%"}]}, {"data": "x"}]
)
async def test_images_without_an_image_are_bad_responses(
    fake_service: FakeService, body: dict[str, Any]
) -> None:
    fake_service.default = Reply(json=body)
    async with OpenAIImagesProvider(ImagesConfig(base_url=fake_service.url)) as provider:
        with pytest.raises(BadResponse, match="no image"):
            await provider.generate(request())
