"""What the OpenRouter look-alike answers with: model limits, token counts, response bodies.

Shapes follow /work/shared/api/openrouter.md (real captures): ``gen-<unix>-<rand>`` ids,
``provider``, ``native_finish_reason``, full ``usage`` with ``cost``, and error bodies that repeat
the HTTP status in ``error.code``.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

# --- models and tokens ----------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """One model's limits and prices (USD per token)."""

    context_length: int
    max_output: int
    prompt_price: float
    output_price: float


MODELS: dict[str, ModelSpec] = {
    "openai/gpt-4o-mini": ModelSpec(128_000, 16_384, 0.00000015, 0.0000006),
    "openai/gpt-3.5-turbo": ModelSpec(16_385, 4096, 0.0000005, 0.0000015),
}
"""The models whose limits the emulator enforces (others are served without limits)."""

INPUT_MODALITIES: dict[str, list[str]] = {
    "openai/gpt-4o-mini": ["text", "image", "file"],
    "openai/gpt-3.5-turbo": ["text"],
    "google/gemini-2.5-flash-image": ["image", "text"],
    "black-forest-labs/flux.2-pro": ["text", "image"],
}
"""``architecture.input_modalities`` of known models; a model listed without ``"image"`` gets
the 404 for image parts (unlisted models take them)."""

IMAGE_PART_TOKENS = 258
"""Prompt tokens the emulator counts per image part (the real count is provider-specific)."""


def count_tokens(text: str) -> int:
    """The emulator's token count: UTF-8 bytes / 4, rounded up."""
    return -(-len(text.encode()) // 4)


def prompt_tokens(body: dict[str, Any]) -> int:
    """The prompt's tokens: every message's content plus the response format."""
    parts: list[str] = []
    images = 0
    for message in body.get("messages") or []:
        content = message.get("content") or ""
        if isinstance(content, list):
            parts += [str(p.get("text") or "") for p in content if isinstance(p, dict)]
            images += sum(
                1 for p in content if isinstance(p, dict) and p.get("type") == "image_url"
            )
        else:
            parts.append(str(content))
    parts.append(json.dumps(body.get("response_format") or {}))
    return sum(count_tokens(p) for p in parts) + images * IMAGE_PART_TOKENS


def image_parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``image_url`` content parts of the request's messages, in order."""
    return [
        part
        for message in body.get("messages") or []
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if isinstance(part, dict) and part.get("type") == "image_url"
    ]


# --- bodies ---------------------------------------------------------------------------------


def generation_id() -> str:
    """An id shaped like OpenRouter's: ``gen-<unix>-<20 random chars>``."""
    return f"gen-{int(time.time())}-{secrets.token_urlsafe(15)[:20]}"


def completion(
    body: dict[str, Any],
    content: str | None,
    *,
    finish_reason: str | None = "stop",
    images: list[dict[str, Any]] | None = None,
    upstream: str = "OpenAI",
    cost: float = 0.000321,
) -> dict[str, Any]:
    """A chat completion body shaped like OpenRouter's real ones."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": content,
        "refusal": None,
        "reasoning": None,
    }
    if images is not None:
        message["images"] = images
    completion_tokens = max(1, len(content or "") // 4)
    return {
        "id": generation_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model") or "openai/gpt-4o-mini",
        "provider": upstream,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "logprobs": None,
                "finish_reason": finish_reason,
                "native_finish_reason": finish_reason,
                "message": message,
            }
        ],
        "usage": {
            "prompt_tokens": 412,
            "completion_tokens": completion_tokens,
            "total_tokens": 412 + completion_tokens,
            "cost": cost,
            "is_byok": False,
            "prompt_tokens_details": {
                "cached_tokens": 0,
                "cache_write_tokens": 0,
                "audio_tokens": 0,
                "video_tokens": 0,
            },
            "cost_details": {
                "upstream_inference_cost": cost,
                "upstream_inference_prompt_cost": cost / 2,
                "upstream_inference_completions_cost": cost / 2,
            },
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "image_tokens": 0,
                "audio_tokens": 0,
            },
        },
    }


def error_body(
    code: int | str | None,
    message: str,
    *,
    availability: dict[str, Any] | None = None,
    **metadata: Any,
) -> dict[str, Any]:
    """An OpenRouter error body: ``{"error": {code, message, metadata}, "user_id": ...}``."""
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error["code"] = code
    error["metadata"] = metadata or {"provider_name": None}
    if availability is not None:
        error["availability"] = availability
    return {"error": error, "user_id": "user_2emulator"}


def error_response(
    status: int,
    message: str,
    *,
    http_headers: dict[str, str] | None = None,
    availability: dict[str, Any] | None = None,
    **metadata: Any,
) -> web.Response:
    """An HTTP error whose body repeats the status in ``error.code``, as OpenRouter does."""
    body = error_body(status, message, availability=availability, **metadata)
    return web.json_response(body, status=status, headers=http_headers)


def request_kind(body: dict[str, Any]) -> str:
    """``scenes``, ``analysis``, ``image`` or ``text``, from the request's shape."""
    fmt = body.get("response_format") or {}
    name = (fmt.get("json_schema") or {}).get("name", "")
    for kind in ("story", "beats", "batch"):
        if name.endswith(kind):
            return kind
    if "scene" in name:
        return "scenes"
    if "analysis" in name:
        return "analysis"
    if "image" in (body.get("modalities") or []):
        return "image"
    return "text"


def scene_count(body: dict[str, Any]) -> int:
    """N from "exactly N scenes" in the schema description or the messages (default 3)."""
    texts = [json.dumps(body.get("response_format") or {})]
    texts += [str(m.get("content", "")) for m in body.get("messages") or []]
    for text in texts:
        match = re.search(r"exactly (\d+) scenes?", text, re.I)
        if match:
            return int(match.group(1))
    return 3


_ACTIONS = (
    "walks slowly",
    "kneels beside a stream",
    "climbs a mossy rock",
    "reads a folded letter",
    "carries a basket of apples",
    "waves at a passing cart",
    "shelters under an oak",
    "feeds a grey goose",
    "lights a small lantern",
    "crosses a wooden bridge",
    "gathers dry kindling",
    "rests against a stone wall",
)
_PLACES = (
    "through a pine forest",
    "near a mill pond",
    "on a windy hill",
    "inside a thatched cottage",
    "at a village well",
    "along a muddy lane",
    "in a walled garden",
    "by a ruined chapel",
    "at a market square",
    "under a birch grove",
    "beside a frozen lake",
    "in a hay barn",
)
_LIGHT = (
    "soft morning light, wide shot",
    "golden dusk glow, close-up",
    "grey overcast noon, medium shot",
    "blue moonlight, low angle",
    "warm firelight, over the shoulder",
    "hazy sunrise, aerial view",
    "bright midday sun, full figure",
    "stormy twilight, dutch angle",
    "candle glow, tight framing",
    "pale winter light, long shot",
    "dappled shade, eye level",
    "red sunset, silhouette",
)


SHOTS = ("wide", "close-up", "medium", "establishing", "full", "extreme close-up")
CAMERAS = ("eye level", "low angle", "high angle", "over the shoulder", "bird's-eye")


def make_scenes(n: int) -> list[dict[str, Any]]:
    """``n`` valid scenes in the wire shape the provider asks for, each a different picture.

    Shot and camera come from the schema's vocabulary, as a strict model gives them; some image
    prompts also say a framing of their own, as models often do.
    """
    return [
        {
            "title": f"Scene {i}",
            "description": f"Something happens in part {i} of the story.",
            "image_prompt": f"Anna, a girl in a red cloak, {_ACTIONS[i % 12]} "
            f"{_PLACES[(i * 5) % 12]}, {_LIGHT[(i * 7) % 12]}",
            "shot": SHOTS[i % len(SHOTS)],
            "camera": CAMERAS[i % len(CAMERAS)],
            "characters": ["Anna"],
            "place": "pine forest",
            "time_of_day": "morning",
        }
        for i in range(1, n + 1)
    ]


ANALYSIS: dict[str, Any] = {
    "title": "The Walk",
    "characters": [
        {
            "name": "Anna",
            "look": "a girl of ten in a red wool cloak",
            "aliases": ["the girl"],
            "species": "",
            "age": "about ten",
            "build": "thin",
            "face": "freckled, grey eyes",
            "hair": "red braids",
            "clothes": "red wool cloak, brown boots",
            "colours": "red, brown",
        }
    ],
    "places": ["pine forest"],
    "themes": ["courage"],
    "mood": "quiet, hopeful",
    "complexity": 3,
    "recommended_scenes": 4,
}
