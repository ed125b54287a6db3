"""The ``openrouter`` text provider against cassettes of the real API (tests/cassettes/<module>/).

Tests marked plain ``vcr`` can be re-recorded with a real key (see docs/providers/openrouter.md):
``OPENROUTER_API_KEY=sk-or-v1-... pytest tests/openrouter -m vcr --record-mode=rewrite``.
Tests marked ``vcr(record_mode="none")`` replay hand-written cassettes of failures the real
service cannot be made to produce on demand; a rewrite run leaves them alone.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from pydantic import SecretStr

from storyframe.errors import AuthError, QuotaError, Transient
from storyframe.styles import BUILTIN_STYLES
from storyframe_openrouter.config import OpenRouterConfig
from storyframe_openrouter.text import OpenRouterTextProvider
from tests.openrouter.conftest import FAST

# "The Old Man and His Grandson", Grimms' Fairy Tales (tr. Taylor and Edwardes), public domain.
STORY = """THE OLD MAN AND HIS GRANDSON
There was once a very old man, whose eyes had become dim, his ears dull of hearing, his knees \
trembled, and when he sat at table he could hardly hold the spoon, and spilt the broth upon the \
table-cloth or let it run out of his mouth. His son and his son's wife were disgusted at this, so \
the old grandfather at last had to sit in the corner behind the stove, and they gave him his food \
in an earthenware bowl, and not even enough of it. And he used to look towards the table with his \
eyes full of tears. Once, too, his trembling hands could not hold the bowl, and it fell to the \
ground and broke. The young wife scolded him, but he said nothing and only sighed. Then they \
brought him a wooden bowl for a few half-pence, out of which he had to eat.
They were once sitting thus when the little grandson of four years old began to gather together \
some bits of wood upon the ground. 'What are you doing there?' asked the father. 'I am making a \
little trough,' answered the child, 'for father and mother to eat out of when I am big.'
The man and his wife looked at each other for a while, and presently began to cry. Then they took \
the old grandfather to the table, and henceforth always let him eat with them, and likewise said \
nothing if he did spill a little of anything.
"""
STYLE = BUILTIN_STYLES[0]
INVALID_KEY = "invalid-key-for-storyframe-tests"
HANDWRITTEN = pytest.mark.vcr(record_mode="none")


RECORDED = {"max_tokens": 4096, "context_length": 128_000, "max_output_tokens": 16_384}
"""The answer budget the cassettes were recorded with, and gpt-4o-mini's limits (no GET
/models, which the cassettes do not hold)."""


def provider(key: SecretStr, **overrides: Any) -> OpenRouterTextProvider:
    """A provider on the real base URL, with the fast retry settings."""
    return OpenRouterTextProvider(OpenRouterConfig(**{**FAST, **RECORDED, **overrides}), key)


def recorded(cassette: Any, index: int = 0) -> Any:
    """The JSON body of the ``index``-th response in the cassette."""
    return json.loads(cassette.responses[index]["body"]["string"])


def recorded_cost(cassette: Any) -> float:
    """The summed ``usage.cost`` of every response in the cassette."""
    bodies = (recorded(cassette, i) for i in range(len(cassette.responses)))
    return sum(float((body.get("usage") or {}).get("cost") or 0) for body in bodies)


@pytest.mark.vcr
async def test_generate_scenes(api_key: SecretStr, vcr: Any) -> None:
    async with provider(api_key) as openrouter:
        scenes = await openrouter.generate_scenes(STORY, 3, STYLE)
    assert [s.number for s in scenes] == [1, 2, 3]
    assert all(s.title and s.description and len(s.image_prompt) > 40 for s in scenes)
    # A live re-recording may need the repair round: count what the cassette holds.
    assert openrouter.usage.calls == len(vcr.responses)
    assert openrouter.usage.cost == pytest.approx(recorded_cost(vcr))
    assert openrouter.usage.prompt_tokens >= recorded(vcr)["usage"]["prompt_tokens"] > 0
    assert vcr.all_played


@pytest.mark.vcr
async def test_analyze(api_key: SecretStr, vcr: Any) -> None:
    async with provider(api_key) as openrouter:
        analysis = await openrouter.analyze(STORY)
    assert analysis.characters and all(c.look for c in analysis.characters)
    assert 200 < analysis.word_count < 300 and analysis.sentence_count > 5
    assert 1 <= analysis.complexity <= 10
    assert openrouter.usage.calls == len(vcr.responses) and vcr.all_played


@HANDWRITTEN
async def test_fenced_json_answer(api_key: SecretStr, vcr: Any) -> None:
    assert "```json" in recorded(vcr)["choices"][0]["message"]["content"]
    async with provider(api_key) as openrouter:
        scenes = await openrouter.generate_scenes(STORY, 3, STYLE)
    assert scenes[0].title == "Broth on the Table-Cloth"
    assert vcr.all_played


@HANDWRITTEN
async def test_wrong_count_is_repaired(api_key: SecretStr, vcr: Any) -> None:
    # The cassette's second request carries the bad answer and the complaint; the body matcher
    # (roles included) would not replay it for any other conversation.
    async with provider(api_key) as openrouter:
        scenes = await openrouter.generate_scenes(STORY, 3, STYLE)
    assert len(scenes) == 3
    assert openrouter.usage.calls == 2
    assert openrouter.usage.cost == pytest.approx(
        sum(recorded(vcr, i)["usage"]["cost"] for i in (0, 1))
    )
    assert vcr.all_played


@pytest.mark.vcr
async def test_invalid_key_is_an_auth_error(vcr: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with provider(SecretStr(INVALID_KEY)) as openrouter:
        with pytest.raises(AuthError) as info:
            await openrouter.generate_scenes(STORY, 3, STYLE)
    error = info.value
    assert error.status == 401 and error.provider == "openrouter" and not error.retryable
    assert "OPENROUTER_API_KEY" in (error.hint or "")
    for text in (str(error), repr(error), error.one_line(), caplog.text, repr(openrouter)):
        assert INVALID_KEY not in text
    assert vcr.all_played  # exactly one request: a 401 is not retried


@HANDWRITTEN
async def test_out_of_credits_is_a_quota_error(api_key: SecretStr, vcr: Any) -> None:
    async with provider(api_key) as openrouter:
        with pytest.raises(QuotaError) as info:
            await openrouter.generate_scenes(STORY, 3, STYLE)
    assert info.value.status == 402 and "can only afford" in str(info.value)
    assert "max_tokens" in (info.value.hint or "")
    assert vcr.all_played


@HANDWRITTEN
async def test_rate_limit_honours_retry_after(api_key: SecretStr, vcr: Any) -> None:
    assert vcr.responses[0]["headers"]["Retry-After"] == ["1"]
    started = time.perf_counter()
    async with provider(api_key, retry_after_cap=1.5) as openrouter:
        scenes = await openrouter.generate_scenes(STORY, 3, STYLE)
        assert openrouter.chat.http.stats.by_reason == {"RateLimited": 1}
    assert len(scenes) == 3 and 1.0 <= time.perf_counter() - started < 1.5
    assert vcr.all_played


@HANDWRITTEN
async def test_error_in_200_body(api_key: SecretStr, vcr: Any) -> None:
    assert vcr.responses[0]["status"]["code"] == 200
    async with provider(api_key, max_attempts=1) as openrouter:
        with pytest.raises(Transient) as info:
            await openrouter.generate_scenes(STORY, 3, STYLE)
    assert info.value.status == 502 and "flagged" in str(info.value)
    assert "reported in a 200 response" in str(info.value)
    assert vcr.all_played


@pytest.mark.vcr
async def test_check_reports_the_key_and_credit(api_key: SecretStr, vcr: Any) -> None:
    async with provider(api_key) as openrouter:
        result = await openrouter.check()
    data = recorded(vcr)["data"]
    assert result.ok and result.detail.startswith("key valid")
    assert result.balance == data["limit_remaining"]
    assert vcr.all_played
