"""The scene planner end to end against the look-alike: novels, short tales, caches, limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from storyframe.models import Style
from storyframe.providers import TextJob
from storyframe.story import read_story
from storyframe_openrouter.budget import estimate_tokens
from storyframe_openrouter.config import OpenRouterConfig
from storyframe_openrouter.errors import ContextLengthExceeded
from storyframe_openrouter.limits import cache_path
from storyframe_openrouter.text import OpenRouterTextProvider
from tests.conftest import STORIES
from tests.openrouter import emulator as emu
from tests.openrouter.bodies import MODELS
from tests.openrouter.conftest import FAST
from tests.openrouter.emulator import OpenRouterEmulator

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])

STYLE = Style(name="cinematic")
NOVEL = STORIES / "novel-little-women.txt"
TALE = STORIES / "18-the-valiant-little-tailor.txt"


@pytest.fixture(scope="module")
def novel() -> str:
    return read_story(NOVEL).text


def build(emulator: OpenRouterEmulator, **overrides: Any) -> OpenRouterTextProvider:
    settings = {**FAST, "concurrency": 16, **overrides}
    config = OpenRouterConfig(base_url=emulator.base_url, **settings)
    return OpenRouterTextProvider(config, SecretStr(emulator.api_key))


async def plan(
    provider: OpenRouterTextProvider, story: str, n: int | None, cache: Path | None
) -> list[Any]:
    provider.job = TextJob(n, (4, 24), cache)
    analysis = await provider.analyze(story)
    count = n or min(max(analysis.recommended_scenes, 4), 24)
    return await provider.generate_scenes(story, count, STYLE, analysis)


@pytest.mark.parametrize(
    ("n", "model"),
    [
        (12, "openai/gpt-4o-mini"),
        (40, "openai/gpt-4o-mini"),
        (120, "openai/gpt-4o-mini"),
        (40, "openai/gpt-3.5-turbo"),
    ],
)
async def test_a_novel_gets_llm_scenes_in_order(
    emulator: OpenRouterEmulator, novel: str, tmp_path: Path, n: int, model: str
) -> None:
    provider = build(emulator, model=model)
    try:
        scenes = await plan(provider, novel, n, tmp_path)
    finally:
        await provider.aclose()
    chats = emulator.chat_requests
    # every request was answered (no context or output errors, no retries) and recorded
    assert len(provider.calls) == len(chats)
    assert all(c.finish_reason == "stop" for c in provider.calls)
    limit = MODELS[model]
    assert all(r.body["max_tokens"] <= limit.max_output for r in chats)
    assert [s.number for s in scenes] == list(range(1, n + 1))
    assert len({s.image_prompt for s in scenes}) == n
    starts = [s.source_start for s in scenes]
    assert None not in starts and starts == sorted(starts)
    assert all(s.source_end is not None and s.source_end > s.source_start for s in scenes)
    # the story went out once: prompts add up to little more than the story (the rest is the
    # instructions, schema and cast with their looks that every call carries: 56 chunks of a
    # 16k-token model make that about 30 %)
    sent = sum(c.prompt_tokens for c in provider.calls)
    assert sent <= 1.35 * estimate_tokens(novel)
    purposes = [c.purpose for c in provider.calls]
    assert sum(p.startswith("scenes") for p in purposes) >= 2  # written in batches
    assert all(p.startswith(("beats", "scenes")) for p in purposes)


async def test_beats_are_cached_for_another_count_and_style(
    emulator: OpenRouterEmulator, novel: str, tmp_path: Path
) -> None:
    first = build(emulator)
    await plan(first, novel, 12, tmp_path)
    await first.aclose()
    beats_calls = sum(c.purpose.startswith("beats") for c in first.calls)
    cached = [p.name for p in tmp_path.iterdir() if p.name.startswith("beats-")]  # noqa: ASYNC240
    assert beats_calls > 1 and len(cached) == beats_calls
    second = build(emulator)
    scenes = await plan(second, novel, 20, tmp_path)
    await second.aclose()
    assert len(scenes) == 20
    assert not any(c.purpose.startswith("beats") for c in second.calls)
    assert sum(c.prompt_tokens for c in second.calls) < estimate_tokens(novel) / 5


async def test_a_short_tale_is_one_call(emulator: OpenRouterEmulator, tmp_path: Path) -> None:
    tale = read_story(TALE).text
    assert 2500 < len(tale.split()) < 3500
    provider = build(emulator)
    scenes = await plan(provider, tale, 8, tmp_path)
    await provider.aclose()
    assert [c.purpose for c in provider.calls] == ["analysis and scenes"]
    assert len(scenes) == 8 and len({s.image_prompt for s in scenes}) == 8
    starts = [s.source_start for s in scenes]
    assert None not in starts and starts == sorted(starts)
    assert all(tale[start - 1] == "\n" for start in starts[1:])  # each at its paragraph


async def test_auto_takes_the_count_the_answer_recommends(
    emulator: OpenRouterEmulator, tmp_path: Path
) -> None:
    tale = read_story(TALE).text
    provider = build(emulator)
    provider.job = TextJob(None, (4, 9), tmp_path)
    analysis = await provider.analyze(tale)
    assert 4 <= analysis.recommended_scenes <= 9
    scenes = await provider.generate_scenes(tale, analysis.recommended_scenes, STYLE, analysis)
    await provider.aclose()
    assert len(scenes) == analysis.recommended_scenes and len(provider.calls) == 1
    assert "between 4 and 9" in emulator.chat_requests[0].body["messages"][1]["content"]


async def test_a_different_count_is_made_up_without_resending_the_story(
    emulator: OpenRouterEmulator, tmp_path: Path
) -> None:
    tale = read_story(TALE).text
    provider = build(emulator)
    provider.job = TextJob(None, (4, 24), tmp_path)
    analysis = await provider.analyze(tale)
    wanted = analysis.recommended_scenes + 3
    scenes = await provider.generate_scenes(tale, wanted, STYLE, analysis)
    await provider.aclose()
    assert len(scenes) == wanted and len({s.image_prompt for s in scenes}) == wanted
    later = [r.body["messages"][-1]["content"] for r in emulator.chat_requests[1:]]
    assert later and all(len(text) < len(tale) / 2 for text in later)


async def test_a_cut_off_batch_is_repaired_scene_by_scene(
    emulator: OpenRouterEmulator, novel: str, tmp_path: Path
) -> None:
    provider = build(emulator, concurrency=1)
    provider.job = TextJob(12, (4, 24), tmp_path)
    analysis = await provider.analyze(novel)
    emulator.push(emu.content('{"scenes": [{"title": "Jo', finish_reason="length"))
    scenes = await provider.generate_scenes(novel, 12, STYLE, analysis)
    await provider.aclose()
    assert len(scenes) == 12 and len({s.image_prompt for s in scenes}) == 12
    repairs = [c.purpose for c in provider.calls if c.purpose.startswith("repair")]
    assert repairs == [f"repair scene {i}" for i in range(1, 11)]


async def test_context_overflow_is_a_one_line_context_error(
    emulator: OpenRouterEmulator, novel: str
) -> None:
    # told a context far larger than the real one, the planner sends it all in one call
    provider = build(
        emulator, model="openai/gpt-3.5-turbo", context_length=2_000_000, max_output_tokens=4096
    )
    provider.job = TextJob(6, (4, 24), None)
    with pytest.raises(ContextLengthExceeded) as info:
        await provider.analyze(novel[:200_000])
    await provider.aclose()
    line = info.value.one_line()
    assert line.startswith("context length exceeded: This endpoint's maximum context length")
    assert "\n" not in line and "context_share" in (info.value.hint or "")


async def test_a_one_call_overflow_falls_back_to_beats(
    emulator: OpenRouterEmulator, novel: str, tmp_path: Path
) -> None:
    # the configured context is too generous for one call, but chunks of 4,000 tokens fit
    provider = build(
        emulator,
        model="openai/gpt-3.5-turbo",
        context_length=100_000,
        max_output_tokens=4096,
        chunk_tokens=4000,
    )
    scenes = await plan(provider, novel[:80_000], 6, tmp_path)
    await provider.aclose()
    assert len(scenes) == 6 and len({s.image_prompt for s in scenes}) == 6
    first = emulator.chat_requests[0].body["response_format"]["json_schema"]["name"]
    assert first == "storyframe_story"  # refused with the context-length 400
    purposes = [c.purpose for c in provider.calls]
    assert "analysis and scenes" not in purposes and purposes[0].startswith("beats")


async def test_limits_come_from_models_then_the_cache(
    emulator: OpenRouterEmulator,
) -> None:
    provider = build(emulator, model="openai/gpt-3.5-turbo")
    limits = await provider.limits()
    await provider.aclose()
    assert (limits.context_length, limits.max_output, limits.source) == (16_385, 4096, "service")
    cached = json.loads(cache_path().read_text())
    assert cached[emulator.base_url]["models"]["openai/gpt-3.5-turbo"] == [
        16_385, 4096, 0.0000005, 0.0000015  # limits, then USD per prompt and answer token
    ]  # fmt: skip
    again = build(emulator, model="openai/gpt-3.5-turbo")
    assert (await again.limits()).source == "cache"
    await again.aclose()
    assert sum(r.path.endswith("/models") for r in emulator.requests) == 1


async def test_stale_limits_are_used_when_the_service_is_down(
    emulator: OpenRouterEmulator,
) -> None:
    first = build(emulator, model="openai/gpt-3.5-turbo")
    await first.limits()
    await first.aclose()
    await emulator.stop()
    stale = build(emulator, model="openai/gpt-3.5-turbo", models_cache_ttl=0, max_attempts=1)
    limits = await stale.limits()
    await stale.aclose()
    assert (limits.context_length, limits.source) == (16_385, "stale cache")


async def test_configured_limits_need_no_lookup(emulator: OpenRouterEmulator) -> None:
    provider = build(emulator, context_length=50_000, max_output_tokens=2000)
    limits = await provider.limits()
    await provider.aclose()
    assert (limits.context_length, limits.max_output, limits.source) == (50_000, 2000, "config")
    assert not emulator.requests
