"""Unit tests of the OpenRouter plugin's pieces: registration, config, schema, parsing, errors."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from importlib.metadata import entry_points
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from storyframe.errors import (
    AuthError,
    BadResponse,
    ContentRejected,
    InvalidRequest,
    ProviderError,
    QuotaError,
    RateLimited,
    Transient,
)
from storyframe.http import HttpResponse
from storyframe_openrouter.chat import key_check_result, usage_of
from storyframe_openrouter.config import OpenRouterConfig
from storyframe_openrouter.errors import (
    effective_status,
    error_in_payload,
    make_classifier,
    retry_after_seconds,
)
from storyframe_openrouter.image import aspect_ratio, decode_data_url
from storyframe_openrouter.schema import (
    AnalysisAnswer,
    AnswerError,
    ScenesAnswer,
    extract_json,
    parse_answer,
    parse_scenes,
    strict_schema,
)
from storyframe_openrouter.text import OpenRouterTextProvider, bound, clean_prompt

CONFIG = OpenRouterConfig()
NOW = 1_779_185_400.0


def classify(status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = HttpResponse(status=status, headers=headers or {}, body=raw)
    return make_classifier("openrouter", CONFIG, clock=lambda: NOW)(response)


# --- plugin and config ---------------------------------------------------------------------


def test_registered_through_the_entry_point_group() -> None:
    (point,) = [ep for ep in entry_points(group="storyframe") if ep.name == "openrouter"]
    module = point.load()
    text: list[type] = []
    images: list[type] = []
    module.register_text_providers(text.append)
    module.register_image_providers(images.append)
    assert [c.name for c in text] == ["openrouter"]  # type: ignore[attr-defined]
    assert [c.name for c in images] == ["openrouter-image"]  # type: ignore[attr-defined]
    assert text[0].needs_key and text[0].key_env == "OPENROUTER_API_KEY"  # type: ignore[attr-defined]


def test_importing_the_plugin_and_providers_does_not_import_aiohttp() -> None:
    code = (
        "import sys, storyframe_openrouter, storyframe_openrouter.text, "
        "storyframe_openrouter.image; print('aiohttp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_config_defaults_and_unknown_keys() -> None:
    assert CONFIG.base_url == "https://openrouter.ai/api/v1"
    assert CONFIG.model == "openai/gpt-4o-mini"
    assert CONFIG.max_tokens is None and CONFIG.temperature is None and CONFIG.models == []
    assert CONFIG.app_title == "storyframe" and CONFIG.max_attempts == 4
    with pytest.raises(ValidationError, match="modle"):
        OpenRouterConfig.model_validate({"modle": "x"})
    with pytest.raises(ValidationError, match="temperature"):
        OpenRouterConfig(temperature=3)
    with pytest.raises(ValidationError, match="http"):
        OpenRouterConfig(base_url="openrouter.ai/api/v1")
    assert OpenRouterConfig(base_url="http://127.0.0.1:9/api/v1/").base_url.endswith("/v1")


def test_key_is_registered_as_a_secret_and_kept_out_of_reprs() -> None:
    from storyframe.secrets import redact

    secret = "plain-looking-secret-7f3a9b"
    provider = OpenRouterTextProvider(None, SecretStr(secret))
    assert redact(f"oops {secret}") == "oops ***"
    assert secret not in repr(provider) and secret not in repr(provider.chat)
    assert secret not in repr(provider.settings)


# --- schema and answer parsing -------------------------------------------------------------


@pytest.mark.parametrize("model", [ScenesAnswer, AnalysisAnswer])
def test_schema_is_strict_compatible(model: Any) -> None:
    schema = strict_schema(model)
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text and '"default"' not in text

    def objects(node: Any) -> list[dict[str, Any]]:
        if isinstance(node, dict):
            found = [node] if node.get("type") == "object" else []
            return found + [o for v in node.values() for o in objects(v)]
        if isinstance(node, list):
            return [o for v in node for o in objects(v)]
        return []

    for obj in objects(schema):
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])


def test_schema_descriptions_can_carry_the_count() -> None:
    schema = strict_schema(ScenesAnswer, scenes="Exactly 7 scenes.")
    assert schema["properties"]["scenes"]["description"] == "Exactly 7 scenes."


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '  \n{"a": 1}\n',
        'Here you go:\n```json\n{"a": 1}\n```\nEnjoy!',
        '```\n{"a": 1}\n```',
        'Sure. {"a": 1} Hope that helps {not json}',
        'I counted [3] items: {"a": 1}',
        'Use {curly} braces: {"a": 1}',
    ],
)
def test_extract_json_ignores_fences_and_prose(text: str) -> None:
    assert extract_json(text) == {"a": 1}


@pytest.mark.parametrize(
    "text",
    [None, "", "   ", "no json here", '{"scenes": [', "[1, 2", '{"scenes": [{"title": "a"}, {"ti'],
)
def test_extract_json_says_what_is_wrong(text: str | None) -> None:
    with pytest.raises(AnswerError, match=r"empty|no JSON|invalid JSON"):
        extract_json(text)


def test_parse_scenes_counts_and_validates() -> None:
    scene = {"title": "T", "description": "D", "image_prompt": "P"}
    assert len(parse_scenes(json.dumps({"scenes": [scene] * 2}), 2)) == 2
    assert len(parse_scenes(json.dumps([scene] * 2), 2)) == 2  # a bare list is accepted
    with pytest.raises(AnswerError, match="expected exactly 3 scenes"):
        parse_scenes(json.dumps({"scenes": [scene] * 2}), 3)
    assert len(parse_scenes(json.dumps({"scenes": [scene] * 2}), 3, fewer_ok=True)) == 2
    with pytest.raises(AnswerError, match=r"scenes\.0\.image_prompt"):
        parse_scenes(json.dumps({"scenes": [{**scene, "image_prompt": "  "}]}), 1)


def test_parse_analysis_is_lenient_about_extras_and_ranges() -> None:
    answer = parse_answer(
        json.dumps({"characters": [{"name": "A"}], "complexity": 99, "extra": True}),
        AnalysisAnswer,
    )
    assert answer.complexity == 10 and answer.characters[0].look == ""


def test_clean_and_bound_prompts() -> None:
    assert clean_prompt('```\nPrompt: "A red fox."\n```') == "A red fox."
    assert clean_prompt("Here is the enhanced prompt:\n  A  red\nfox. ") == "A red fox."
    assert clean_prompt("\u201cA fox\u201d") == "A fox"
    text = "One sentence here. Another sentence that runs on and on"
    assert bound(text, 30) == "One sentence here."
    assert bound("word " * 30, 52).endswith("word") and len(bound("word " * 30, 52)) <= 52
    assert bound("short", 100) == "short"


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, InvalidRequest),
        (401, AuthError),
        (402, QuotaError),
        (403, ContentRejected),
        (404, InvalidRequest),
        (408, Transient),
        (429, RateLimited),
        (500, Transient),
        (502, Transient),
        (503, Transient),
        (524, Transient),
        (529, Transient),
    ],
)
def test_classifier_maps_statuses(status: int, expected: type[ProviderError]) -> None:
    error = classify(status, {"error": {"code": status, "message": "m"}})
    assert type(error) is expected and error.status == status


def test_classifier_passes_successes_and_reads_non_json_errors() -> None:
    assert classify(200, {"choices": []}) is None
    error = classify(502, b"<html><body>Bad gateway</body></html>")
    assert isinstance(error, Transient) and "Bad gateway" in str(error)


def test_retry_after_sources() -> None:
    error = {"metadata": {"headers": {"X-RateLimit-Reset": str(int((NOW + 30) * 1000))}}}
    assert retry_after_seconds({}, error, now=NOW) == pytest.approx(30)
    assert retry_after_seconds({"Retry-After": "2"}, error, now=NOW) == 2
    assert retry_after_seconds({"x-ratelimit-reset": str(int(NOW + 5))}, {}, now=NOW) == 5
    assert retry_after_seconds({}, {"availability": {"retry_after": 7}}, now=NOW) == 7
    assert retry_after_seconds({}, {}, now=NOW) is None
    limited = classify(429, {"error": {"code": 429, **error}})
    assert isinstance(limited, RateLimited) and limited.retry_after == pytest.approx(30)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ({"code": 429}, 429),
        ({"code": "503"}, 503),
        ({"code": "server_error"}, 500),
        ({"message": "no code"}, 502),
        ({"http_status": 404}, 404),
        ({"metadata": {"error_type": "content_policy_violation"}}, 403),
        ({"availability": {"code": "capacity_exhausted"}}, 429),
        ({"code": True}, 502),
    ],
)
def test_effective_status_of_errors_in_200_bodies(error: dict[str, Any], status: int) -> None:
    assert effective_status(error) == status


def test_error_in_payload_finds_top_level_and_choice_errors() -> None:
    assert error_in_payload({"choices": [{"message": {}}]}, provider="p", config=CONFIG) is None
    top = error_in_payload({"error": {"code": 401, "message": "x"}}, provider="p", config=CONFIG)
    assert isinstance(top, AuthError)
    choice = {"choices": [{"finish_reason": "error", "error": {"code": 502, "message": "gone"}}]}
    assert isinstance(error_in_payload(choice, provider="p", config=CONFIG), Transient)


def test_upstream_details_are_in_the_message() -> None:
    body = {
        "error": {
            "code": 502,
            "message": "Provider returned error",
            "metadata": {"provider_name": "Google AI Studio", "raw": '{"status": "INTERNAL"}'},
        }
    }
    text = str(classify(502, body))
    assert "Google AI Studio" in text and "INTERNAL" in text


def test_moderation_reasons_are_in_the_message() -> None:
    body = {"error": {"code": 403, "message": "flagged", "metadata": {"reasons": ["violence"]}}}
    assert "violence" in str(classify(403, body))


# --- usage, key check, images -----------------------------------------------------------------


def test_usage_of_reads_tokens_and_cost() -> None:
    usage = usage_of({"usage": {"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.0012}})
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (1, 10, 5)
    assert usage.cost == 0.0012
    assert usage_of({}).cost == 0 and usage_of({"usage": {"cost": None}}).cost == 0


def test_key_check_result_variants() -> None:
    limited = key_check_result({"limit": 10, "limit_remaining": 2.5, "limit_reset": "monthly"}, "m")
    assert limited.ok and limited.balance == 2.5 and "resets monthly" in limited.detail
    spent = key_check_result({"limit": 10, "limit_remaining": 0}, "m")
    assert not spent.ok and spent.balance == 0
    unlimited = key_check_result({"limit": None, "limit_remaining": None, "usage": 1}, "m")
    assert unlimited.ok and unlimited.balance is None


@pytest.mark.parametrize(
    ("size", "ratio"),
    [((1024, 1024), "1:1"), ((1344, 768), "16:9"), ((1024, 768), "4:3"), ((768, 1344), "9:16")],
)
def test_aspect_ratio(size: tuple[int, int], ratio: str) -> None:
    assert aspect_ratio(*size) == ratio


def test_decode_data_url() -> None:
    data = b"\x89PNG\r\n\x1a\nrest"
    url = "data:image/webp;base64," + base64.b64encode(data).decode()
    assert decode_data_url(url) == (data, "image/webp")
    with pytest.raises(BadResponse):
        decode_data_url("data:image/png,not-base64")
    with pytest.raises(BadResponse):
        decode_data_url("data:image/png;base64,")


def test_hints_name_the_providers_own_section() -> None:
    from storyframe_openrouter.config import OpenRouterImageConfig

    config = OpenRouterImageConfig()
    image = make_classifier("openrouter-image", config, clock=lambda: NOW)
    missing = image(HttpResponse(status=404, headers={}, body=b'{"error": {"code": 404}}'))
    assert missing is not None and "[providers.openrouter-image] model" in (missing.hint or "")
    assert "'google/gemini-2.5-flash-image'" in str(missing)
    broke = image(HttpResponse(status=402, headers={}, body=b'{"error": {"code": 402}}'))
    assert broke is not None and "max_tokens" not in (broke.hint or "")
    text = classify(402, {"error": {"code": 402, "message": "m"}})
    assert "[providers.openrouter] max_tokens" in text.hint
