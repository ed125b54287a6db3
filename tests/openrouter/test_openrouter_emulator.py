"""The OpenRouter providers against the local emulator: request shape and injected faults."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr

from storyframe.errors import (
    AuthError,
    BadResponse,
    ContentRejected,
    InvalidRequest,
    NotConfigured,
    ProviderError,
    QuotaError,
    RateLimited,
    Transient,
)
from storyframe.models import Character, ImageRequest, Scene, StoryAnalysis
from storyframe.styles import BUILTIN_STYLES
from storyframe_openrouter.text import OpenRouterTextProvider
from tests.openrouter import emulator as emu
from tests.openrouter.emulator import TINY_PNG, OpenRouterEmulator

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])

STYLE = BUILTIN_STYLES[0]
STORY = (
    "Anna left the village at dawn. She walked into the pine forest with her red cloak. "
    "A fox followed her to the river. She crossed the bridge and reached her grandmother's "
    "house. They drank tea by the fire until night fell."
)
MakeText = Callable[..., OpenRouterTextProvider]


def schema_objects(node: Any) -> list[dict[str, Any]]:
    """Every object schema inside ``node``."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for value in node.values():
            found += schema_objects(value)
    elif isinstance(node, list):
        for value in node:
            found += schema_objects(value)
    return found


# --- the request drift guard -----------------------------------------------------------------


async def test_requests_have_the_shape_the_real_api_needs(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    provider = make_text(app_url="https://example.org/app", app_title="Storyframe Tests")
    analysis = await provider.analyze(STORY)
    await provider.generate_scenes(STORY, 4, STYLE, analysis)
    await provider.enhance_prompt(
        Scene(number=1, title="t", description="d", image_prompt="p"), analysis, STYLE
    )
    assert len(emulator.chat_requests) == 3
    for request in emulator.chat_requests:
        assert request.method == "POST"
        assert request.path == "/api/v1/chat/completions"
        assert request.headers["Authorization"] == f"Bearer {emulator.api_key}"
        assert request.headers["Content-Type"].startswith("application/json")
        assert request.headers["HTTP-Referer"] == "https://example.org/app"
        assert request.headers["X-OpenRouter-Title"] == "Storyframe Tests"
        body = request.body
        assert body["model"] == "openai/gpt-4o-mini"
        assert body["messages"] and all(
            set(m) == {"role", "content"} and m["role"] in {"system", "user", "assistant"}
            for m in body["messages"]
        )
        assert body["provider"] == {"require_parameters": True}
        assert isinstance(body["max_tokens"], int) and body["max_tokens"] >= 16
        assert "temperature" not in body  # unset by default: never excludes routes

    for request in emulator.chat_requests[:2]:
        fmt = request.body["response_format"]
        assert fmt["type"] == "json_schema"
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", fmt["json_schema"]["name"])
        assert fmt["json_schema"]["strict"] is True
        schema = fmt["json_schema"]["schema"]
        assert "$ref" not in str(schema) and "$defs" not in schema
        for obj in schema_objects(schema):
            assert obj["additionalProperties"] is False
            assert sorted(obj["required"]) == sorted(obj["properties"])
    assert "exactly 4 scenes" in str(emulator.chat_requests[1].body).lower()
    assert "response_format" not in emulator.chat_requests[2].body


async def test_optional_body_fields_are_sent_when_configured(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    provider = make_text(
        model="google/gemini-2.5-flash",
        models=["openai/gpt-4o-mini"],
        temperature=0.4,
        max_tokens=2000,
    )
    await provider.generate_scenes(STORY, 2, STYLE)
    body = emulator.chat_requests[0].body
    assert body["model"] == "google/gemini-2.5-flash"
    assert body["models"] == ["openai/gpt-4o-mini"]
    assert body["temperature"] == 0.4
    assert body["max_tokens"] == 2000


async def test_key_check_request(emulator: OpenRouterEmulator, make_text: MakeText) -> None:
    result = await make_text().check()
    assert result.ok and result.balance == 7.25
    assert "limit 10.00 USD, resets monthly" in result.detail
    (request,) = emulator.requests
    assert (request.method, request.path) == ("GET", "/api/v1/key")
    assert request.headers["Authorization"] == f"Bearer {emulator.api_key}"


# --- answers -------------------------------------------------------------------------------


async def test_scenes_and_analysis_are_mapped(make_text: MakeText) -> None:
    provider = make_text()
    analysis = await provider.analyze(STORY)
    assert analysis.title == "The Walk"
    assert analysis.word_count == len(STORY.split())
    assert analysis.sentence_count == 5
    (anna,) = analysis.characters
    assert anna.look.startswith("a girl of ten") and anna.mentions == 1
    scenes = await provider.generate_scenes(STORY, 5, STYLE, analysis)
    assert [s.number for s in scenes] == [1, 2, 3, 4, 5]
    assert scenes[0].characters == ["Anna"] and scenes[0].place == "pine forest"
    assert provider.usage.calls == 2
    assert [c.purpose for c in provider.calls] == ["analysis", "scenes"]
    assert provider.usage.cost == pytest.approx(sum(c.cost for c in provider.calls))
    assert provider.usage.cost > 0
    assert provider.usage.prompt_tokens == sum(c.prompt_tokens for c in provider.calls)


async def test_scene_characters_use_the_analysis_names(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    answer = emu.make_scenes(1)
    answer[0]["characters"] = ["the girl", "Anna"]
    emulator.push(emu.content(json.dumps({"scenes": answer})))
    analysis = StoryAnalysis(characters=[Character(name="Anna", aliases=["the girl"])])
    (scene,) = await make_text().generate_scenes(STORY, 1, STYLE, analysis)
    assert scene.characters == ["Anna"]
    assert len(emulator.chat_requests) == 1


async def test_a_character_outside_the_cast_is_repaired_alone(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    answer = emu.make_scenes(2)
    answer[1]["characters"] = ["Anna", "Fox"]
    emulator.push(emu.content(json.dumps({"scenes": answer})))
    analysis = StoryAnalysis(characters=[Character(name="Anna")])
    scenes = await make_text().generate_scenes(STORY, 2, STYLE, analysis)
    assert len(scenes) == 2 and all("Fox" not in s.characters for s in scenes)
    _, repair = (r.body for r in emulator.chat_requests)
    text = repair["messages"][-1]["content"]
    assert "Fox are not in the cast" in text and text.count('<item ref="') == 1
    assert STORY not in text  # the repair carries the passage, not the story


async def test_fenced_answer_with_prose_is_accepted(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    emulator.push(emu.scenes(3, fenced=True))
    scenes = await make_text().generate_scenes(STORY, 3, STYLE)
    assert len(scenes) == 3 and len(emulator.chat_requests) == 1


async def test_wrong_count_is_repaired_in_the_conversation(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    emulator.push(emu.scenes(2))
    provider = make_text()
    scenes = await provider.generate_scenes(STORY, 3, STYLE)
    assert len(scenes) == 3
    first, second = (r.body for r in emulator.chat_requests)
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert second["messages"][:2] == first["messages"]
    assert '"scenes"' in second["messages"][2]["content"]
    assert "expected exactly 3 scenes" in second["messages"][3]["content"]
    assert second["response_format"] == first["response_format"]
    assert provider.usage.calls == 2


async def test_truncated_answer_repair_raises_max_tokens(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    emulator.push(emu.content('{"scenes": [{"title": "Sce', finish_reason="length"))
    await make_text(max_tokens=1000).generate_scenes(STORY, 2, STYLE)
    assert [r.body["max_tokens"] for r in emulator.chat_requests] == [1000, 2000]


async def test_unusable_answer_twice_is_a_bad_response(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    emulator.push(emu.content("I cannot do that."), emu.scenes(1))
    with pytest.raises(BadResponse) as info:
        await make_text().generate_scenes(STORY, 3, STYLE)
    assert "expected exactly 3 scenes" in str(info.value)
    assert info.value.provider == "openrouter" and not info.value.retryable
    assert len(emulator.chat_requests) == 2


async def test_short_story_may_get_fewer_scenes(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    emulator.push(emu.scenes(2))
    scenes = await make_text().generate_scenes("Anna woke. She smiled.", 5, STYLE)
    assert len(scenes) == 2 and len(emulator.chat_requests) == 1


async def test_enhance_prompt_is_plain_trimmed_and_bounded(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    scene = Scene(
        number=2,
        title="The bridge",
        description="Anna crosses.",
        image_prompt="girl",
        characters=["Anna"],
    )
    analysis = StoryAnalysis(title="The Walk", characters=[Character(name="Anna", look="red")])
    emulator.push(emu.content('  Prompt: "Anna, in a red cloak, crosses a mossy bridge."  '))
    provider = make_text(enhance_max_chars=100)
    text = await provider.enhance_prompt(scene, analysis, STYLE)
    assert text == "Anna, in a red cloak, crosses a mossy bridge."
    user = emulator.chat_requests[0].body["messages"][1]["content"]
    assert "Anna: red" in user and "girl" in user
    emulator.push(emu.content("word " * 200))
    longer = await provider.enhance_prompt(scene, None, STYLE)
    assert 50 <= len(longer) <= 100


# --- faults --------------------------------------------------------------------------------


async def test_connection_reset_is_retried(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    emulator.push(emu.reset())
    provider = make_text()
    assert len(await provider.generate_scenes(STORY, 2, STYLE)) == 2
    assert provider.chat.http.stats.by_reason == {"Transient": 1}


async def test_slow_answer_times_out_and_is_retried(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    emulator.push(emu.slow(2.0))
    provider = make_text(timeout=0.2)
    started = time.perf_counter()
    assert len(await provider.generate_scenes(STORY, 2, STYLE)) == 2
    assert time.perf_counter() - started < 1.5
    assert provider.chat.http.stats.by_reason == {"Transient": 1}


async def test_timeouts_exhaust_attempts(emulator: OpenRouterEmulator, make_text: MakeText) -> None:
    emulator.push(emu.slow(2.0), emu.slow(2.0))
    with pytest.raises(Transient) as info:
        await make_text(timeout=0.1, max_attempts=2).generate_scenes(STORY, 2, STYLE)
    assert info.value.code == "timeout"


async def test_5xx_burst_then_success(emulator: OpenRouterEmulator, make_text: MakeText) -> None:
    emulator.push(emu.status(502), emu.status(503), emu.status(524))
    provider = make_text(max_attempts=4)
    assert len(await provider.generate_scenes(STORY, 2, STYLE)) == 2
    assert len(emulator.chat_requests) == 4
    assert provider.chat.http.stats.retries == 3


async def test_5xx_beyond_attempts_fails_transient(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    emulator.push(emu.status(500), emu.status(529))
    with pytest.raises(Transient) as info:
        await make_text(max_attempts=2).generate_scenes(STORY, 2, STYLE)
    assert info.value.status == 529 and len(emulator.chat_requests) == 2


async def test_429_honours_retry_after(emulator: OpenRouterEmulator, make_text: MakeText) -> None:
    emulator.push(emu.rate_limited(0))
    provider = make_text()
    started = time.perf_counter()
    assert len(await provider.generate_scenes(STORY, 2, STYLE)) == 2
    assert time.perf_counter() - started < 0.8
    assert provider.chat.http.stats.by_reason == {"RateLimited": 1}


async def test_429_asking_past_the_cap_gives_up_at_once_for_a_cooldown(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    emulator.push(emu.rate_limited(1))
    provider = make_text()  # retry_after_cap=0.05: a 1 s wait is past it
    started = time.perf_counter()
    with pytest.raises(RateLimited) as info:
        await provider.generate_scenes(STORY, 2, STYLE)
    assert time.perf_counter() - started < 0.5
    assert info.value.cooldown
    assert len(emulator.chat_requests) == 1


async def test_429_reset_beyond_retry_budget_is_a_quota_error(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    reset_ms = int((time.time() + 3 * 3600) * 1000)
    emulator.push(emu.rate_limited(None, reset_ms=reset_ms))
    with pytest.raises(QuotaError) as info:
        await make_text().generate_scenes(STORY, 2, STYLE)
    assert info.value.status == 429 and "resets in 180 min" in str(info.value)
    assert len(emulator.chat_requests) == 1


async def test_bad_json_body_is_retried(emulator: OpenRouterEmulator, make_text: MakeText) -> None:
    emulator.push(emu.bad_json())
    provider = make_text()
    assert len(await provider.generate_scenes(STORY, 2, STYLE)) == 2
    assert provider.chat.http.stats.by_reason == {"Transient": 1}


@pytest.mark.parametrize("value", [None, ""])
async def test_empty_content_is_retried(
    emulator: OpenRouterEmulator, make_text: MakeText, value: str | None
) -> None:
    emulator.push(emu.empty(value=value))
    provider = make_text()
    assert len(await provider.generate_scenes(STORY, 2, STYLE)) == 2
    assert provider.chat.http.stats.by_reason == {"EmptyAnswer": 1}
    assert provider.usage.calls == 2  # the empty answer may be billed: it is counted


async def test_empty_content_gives_up_with_a_max_tokens_hint(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    emulator.push(*[emu.empty(finish_reason="length")] * 3)
    with pytest.raises(BadResponse) as info:
        await make_text(max_attempts=10).generate_scenes(STORY, 2, STYLE)
    assert "max_tokens" in (info.value.hint or "")
    assert len(emulator.chat_requests) == 3  # first try + two retries


@pytest.mark.parametrize("in_choice", [False, True])
async def test_error_in_200_body_is_an_error_and_retried(
    emulator: OpenRouterEmulator, make_text: MakeText, in_choice: bool
) -> None:
    emulator.push(emu.error_in_200(502, in_choice=in_choice))
    provider = make_text()
    assert len(await provider.generate_scenes(STORY, 2, STYLE)) == 2
    assert provider.chat.http.stats.by_reason == {"Transient": 1}


@pytest.mark.parametrize(
    ("code", "expected", "requests"),
    [
        ("server_error", Transient, 2),
        ("rate_limit_exceeded", RateLimited, 2),
        (None, Transient, 2),
        ("429", RateLimited, 2),
        (403, ContentRejected, 1),
        (402, QuotaError, 1),
    ],
)
async def test_error_in_200_takes_its_status_from_error_code(
    emulator: OpenRouterEmulator,
    make_text: MakeText,
    code: int | str | None,
    expected: type[ProviderError],
    requests: int,
) -> None:
    emulator.push(*[emu.error_in_200(code, "upstream trouble")] * 2)
    with pytest.raises(expected) as info:
        await make_text(max_attempts=2).generate_scenes(STORY, 2, STYLE)
    assert type(info.value) is expected
    assert "reported in a 200 response" in str(info.value)
    assert len(emulator.chat_requests) == requests


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, InvalidRequest),
        (401, AuthError),
        (402, QuotaError),
        (403, ContentRejected),
        (404, InvalidRequest),
        (413, InvalidRequest),
        (422, InvalidRequest),
    ],
)
async def test_client_errors_are_not_retried(
    emulator: OpenRouterEmulator,
    make_text: MakeText,
    status: int,
    expected: type[ProviderError],
) -> None:
    emulator.push(emu.status(status))
    with pytest.raises(expected) as info:
        await make_text().generate_scenes(STORY, 2, STYLE)
    assert type(info.value) is expected and info.value.status == status
    assert len(emulator.chat_requests) == 1


async def test_404_names_the_model_and_the_config_key(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    emulator.push(
        emu.status(
            404,
            "No endpoints found that can handle the requested parameters.",
            availability={"code": "constraint_filtered", "excluded_by": ["require_parameters"]},
        )
    )
    with pytest.raises(InvalidRequest) as info:
        await make_text(model="acme/old-model").generate_scenes(STORY, 2, STYLE)
    error = info.value
    assert "'acme/old-model'" in str(error)
    assert "[providers.openrouter] model" in (error.hint or "")
    assert "structured outputs" in (error.hint or "")
    assert error.code == "constraint_filtered"


async def test_wrong_key_is_an_auth_error_that_never_shows_the_key(
    emulator: OpenRouterEmulator, make_text: MakeText, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "wrong-key-d41d8cd98f00b204"
    provider = make_text(key=secret)
    with pytest.raises(AuthError) as info:
        await provider.generate_scenes(STORY, 2, STYLE)
    assert "User not found." in str(info.value)
    assert "OPENROUTER_API_KEY" in (info.value.hint or "")
    assert len(emulator.chat_requests) == 1
    texts = [str(info.value), repr(info.value), info.value.one_line(), repr(provider)]
    texts += [repr(provider.chat), repr(provider.settings), caplog.text]
    assert all(secret not in text for text in texts)
    result = await provider.check()
    assert not result.ok and "User not found." in result.detail and secret not in result.detail


async def test_missing_key_is_not_configured(emulator: OpenRouterEmulator) -> None:
    provider = OpenRouterTextProvider(None, None)
    with pytest.raises(NotConfigured):
        await provider.generate_scenes(STORY, 2, STYLE)
    result = await provider.check()
    assert not result.ok and "OPENROUTER_API_KEY" in result.detail
    await provider.aclose()


async def test_check_reports_and_never_raises(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    emulator.key_data.update(limit=None, limit_remaining=None, limit_reset=None, usage=1.5)
    result = await make_text().check()
    assert result.ok and result.balance is None and "no spending limit" in result.detail

    emulator.key_data.update(limit=5, limit_remaining=0)
    result = await make_text().check()
    assert not result.ok and "no credit left" in result.detail and result.balance == 0

    emulator.push(emu.status(500))
    result = await make_text().check()
    assert not result.ok and "HTTP 500" in result.detail

    provider = make_text()
    await emulator.stop()
    result = await provider.check()
    assert not result.ok and result.detail


async def test_concurrent_calls_share_one_client(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    import asyncio

    provider = make_text(concurrency=2)
    results = await asyncio.gather(*(provider.generate_scenes(STORY, 2, STYLE) for _ in range(6)))
    assert all(len(r) == 2 for r in results)
    assert provider.usage.calls == 6


# --- the image provider --------------------------------------------------------------------


def image_request(width: int = 1344, height: int = 768) -> ImageRequest:
    return ImageRequest(
        scene_number=3,
        prompt="Anna on the bridge",
        negative_prompt="text, watermark",
        width=width,
        height=height,
        seed=42,
        style=STYLE.model_copy(
            update={"provider_params": {"openrouter-image": {"image_size": "2K"}}}
        ),
    )


async def test_image_provider_decodes_the_data_url(
    emulator: OpenRouterEmulator, make_image: Callable[..., Any]
) -> None:
    provider = make_image()
    image = await provider.generate(image_request())
    assert image.data == TINY_PNG and image.media_type == "image/png"
    assert image.scene_number == 3 and image.provider == "openrouter-image"
    assert image.cost == pytest.approx(0.000321) and image.task_id.startswith("gen-")
    body = emulator.chat_requests[0].body
    assert body["modalities"] == ["image", "text"]
    assert body["image_config"] == {"aspect_ratio": "16:9", "image_size": "2K"}
    assert body["model"] == "google/gemini-2.5-flash-image"
    assert "Avoid: text, watermark" in body["messages"][0]["content"]
    assert provider.usage.calls == 1


async def test_image_answer_without_images_is_retried_then_bad(
    emulator: OpenRouterEmulator, make_image: Callable[..., Any]
) -> None:
    emulator.push(*[emu.content("I can't draw that.")] * 3)
    results = await make_image().generate_many([image_request(768, 1024)])
    assert isinstance(results[0], BadResponse) and results[0].provider == "openrouter-image"
    assert emulator.chat_requests[0].body["image_config"]["aspect_ratio"] == "3:4"
    assert len(emulator.chat_requests) == 3


async def test_image_provider_wrong_key(emulator: OpenRouterEmulator) -> None:
    from storyframe_openrouter.config import OpenRouterImageConfig
    from storyframe_openrouter.image import OpenRouterImageProvider

    provider = OpenRouterImageProvider(
        OpenRouterImageConfig(base_url=emulator.base_url), SecretStr("nope-nope-nope")
    )
    async with provider:
        with pytest.raises(AuthError):
            await provider.generate(image_request())
        assert not (await provider.check()).ok
