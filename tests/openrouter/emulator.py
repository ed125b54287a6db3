"""A local OpenRouter look-alike for reliability and end-to-end tests.

It serves ``POST /api/v1/chat/completions``, ``GET /api/v1/key`` (and the legacy
``/api/v1/auth/key``) and ``GET /api/v1/models`` on 127.0.0.1, checks the bearer key like the
real service (401 "No auth credentials found" / "User not found."), and answers with bodies shaped
like the real ones (``gen-<unix>-<rand>`` ids, ``provider``, ``native_finish_reason``, full
``usage`` with ``cost``).

It knows the limits of the models in :data:`MODELS` (served by ``GET /models`` with
``context_length`` and ``top_provider.max_completion_tokens``) and enforces them like the real
service: a prompt plus ``max_tokens`` over the context is the pre-flight HTTP 400 "maximum context
length", ``max_tokens`` over the output limit is the upstream's 400, and an answer longer than
``max_tokens`` is cut off with ``finish_reason: "length"``. Tokens are counted as UTF-8 bytes / 4.

By default it answers like a (very literal) model, from the text it is sent: whole-story
requests (analysis plus scenes) and beat requests pick evenly spaced paragraphs of the
``<story>`` block, batch requests write one scene per ``<item>`` from its passage, so answers
are deterministic and every scene differs. The older scene requests get N valid scenes (N read
from "exactly N scenes"), analysis requests a fixed analysis, image requests (``modalities``
with "image") a tiny PNG data URL, and anything else a short plain-text prompt. ``latency``
delays every chat answer. Scripted behaviours, queued with :meth:`OpenRouterEmulator.push`,
replace the default for the next authenticated requests, one each, in order::

    emulator = OpenRouterEmulator()
    base_url = await emulator.start()          # http://127.0.0.1:PORT/api/v1
    emulator.push(status(503), rate_limited(retry_after=0), empty())
    ...
    await emulator.stop()

Tests that use it must allow 127.0.0.1 through pytest-recording's network block:
``pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import secrets
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.openrouter.literal_model import derive_answer

DEFAULT_KEY = "emulator-test-key-0000"
"""The key the emulator accepts unless told otherwise (not shaped like a real key)."""

# A valid 1x1 PNG.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

Behaviour = Callable[["OpenRouterEmulator", web.Request, Any], Awaitable[web.StreamResponse]]


@dataclass
class Recorded:
    """One request the emulator received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes = field(repr=False, default=b"")


class OpenRouterEmulator:
    """A scriptable stand-in for the OpenRouter API on 127.0.0.1 (port chosen by the OS)."""

    def __init__(
        self, api_key: str = DEFAULT_KEY, *, upstream: str = "OpenAI", latency: float = 0.0
    ) -> None:
        self.api_key = api_key
        self.upstream = upstream
        self.latency = latency
        self.models: dict[str, ModelSpec] = dict(MODELS)
        self.requests: list[Recorded] = []
        self.script: deque[Behaviour] = deque()
        self.key_data: dict[str, Any] = {
            "label": "sk-or-v1-emu...000",
            "limit": 10,
            "limit_remaining": 7.25,
            "limit_reset": "monthly",
            "include_byok_in_limit": False,
            "usage": 2.75,
            "usage_daily": 0.5,
            "usage_weekly": 1.0,
            "usage_monthly": 2.75,
            "is_free_tier": False,
            "is_management_key": False,
            "is_provisioning_key": False,
            "expires_at": None,
        }
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> str:
        """Start serving; returns the base URL (``http://127.0.0.1:PORT/api/v1``)."""
        app = web.Application()
        app.router.add_post("/api/v1/chat/completions", self._chat)
        app.router.add_get("/api/v1/key", self._key)
        app.router.add_get("/api/v1/auth/key", self._key)
        app.router.add_get("/api/v1/models", self._models)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/v1"
        return self.base_url

    async def stop(self) -> None:
        """Stop serving; slow handlers still sleeping are released at once."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> OpenRouterEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def push(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next authenticated requests, one per request."""
        self.script.extend(behaviours)

    @property
    def chat_requests(self) -> list[Recorded]:
        """The requests made to ``/chat/completions``, in order."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    async def sleep(self, seconds: float) -> None:
        """Sleep, but wake up early when the emulator stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    # --- handlers ----------------------------------------------------------------------------

    async def _record(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.requests.append(
            Recorded(request.method, request.path, dict(request.headers), body, raw)
        )
        return body

    def _auth_failure(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            return error_response(401, "No auth credentials found")
        if header[7:].strip() != self.api_key:
            return error_response(401, "User not found.")
        return None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        failure = self._auth_failure(request)
        if failure is not None:
            return failure
        if self.latency:
            await self.sleep(self.latency)
        if isinstance(body, dict):
            refusal = self._limit_failure(body)
            if refusal is not None:
                return refusal
        if self.script:
            return await self.script.popleft()(self, request, body)
        if not isinstance(body, dict) or not body.get("messages"):
            return error_response(400, 'Input required: specify "prompt" or "messages"')
        return self.answer(body)

    def _limit_failure(self, body: dict[str, Any]) -> web.Response | None:
        spec = self.models.get(str(body.get("model")))
        if spec is None:
            return None
        asked = body.get("max_tokens") or body.get("max_completion_tokens")
        prompt = prompt_tokens(body)
        output = asked if isinstance(asked, int) else 0
        if prompt + output > spec.context_length:
            detail = f"{prompt} of text input" + (f", {output} in the output" if output else "")
            message = (
                f"This endpoint's maximum context length is {spec.context_length} tokens. "
                f"However, you requested about {prompt + output} tokens ({detail}). Please "
                "reduce the length of either one, or use the context-compression plugin to "
                "compress your prompt automatically."
            )
            payload = {
                "error": {"message": message, "code": 400, "metadata": {"provider_name": None}}
            }
            return web.json_response(payload, status=400)
        if output > spec.max_output:
            raw = json.dumps(
                {
                    "error": {
                        "message": f"max_tokens is too large: {output}. This model supports at "
                        f"most {spec.max_output} completion tokens, whereas you provided {output}.",
                        "type": "invalid_request_error",
                    }
                }
            )
            return error_response(
                400, "Provider returned error", raw=raw, provider_name=self.upstream
            )
        return None

    async def _key(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        failure = self._auth_failure(request)
        if failure is not None:
            return failure
        if self.script:
            return await self.script.popleft()(self, request, body)
        return web.json_response({"data": self.key_data})

    async def _models(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        data = [
            {
                "id": model,
                "context_length": spec.context_length,
                "pricing": {"prompt": str(spec.prompt_price), "completion": str(spec.output_price)},
                "top_provider": {
                    "context_length": spec.context_length,
                    "max_completion_tokens": spec.max_output,
                    "is_moderated": True,
                },
                "supported_parameters": ["structured_outputs", "max_tokens", "response_format"],
            }
            for model, spec in self.models.items()
        ]
        return web.json_response({"data": data, "total_count": len(data)})

    # --- default answers ---------------------------------------------------------------------

    def answer(
        self, body: dict[str, Any], *, content: str | None = None, finish_reason: str = "stop"
    ) -> web.Response:
        """The default successful answer to ``body`` (or one with the given ``content``)."""
        images = None
        if content is None:
            kind = request_kind(body)
            derived = derive_answer(kind, body)
            if derived is not None:
                content = json.dumps(derived)
            elif kind == "scenes":
                content = json.dumps({"scenes": make_scenes(scene_count(body))})
            elif kind == "analysis":
                content = json.dumps(ANALYSIS)
            elif kind == "image":
                content = "Here is your image."
                data = base64.b64encode(TINY_PNG).decode()
                images = [
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}
                ]
            else:
                content = (
                    "A young woman in a green cloak stands at the edge of a misty pine forest at "
                    "dawn, golden light through the trees, wide shot."
                )
        spec = self.models.get(str(body.get("model")))
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        if content is not None and isinstance(limit, int) and count_tokens(content) > limit:
            content, finish_reason = content[: limit * 4], "length"
        payload = completion(
            body, content, finish_reason=finish_reason, images=images, upstream=self.upstream
        )
        usage = payload["usage"]
        usage["prompt_tokens"] = prompt_tokens(body)
        usage["completion_tokens"] = count_tokens(content or "")
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if spec is not None:
            usage["cost"] = round(
                usage["prompt_tokens"] * spec.prompt_price
                + usage["completion_tokens"] * spec.output_price,
                10,
            )
        return web.json_response(payload)


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


def count_tokens(text: str) -> int:
    """The emulator's token count: UTF-8 bytes / 4, rounded up."""
    return -(-len(text.encode()) // 4)


def prompt_tokens(body: dict[str, Any]) -> int:
    """The prompt's tokens: every message's content plus the response format."""
    parts = [str(m.get("content") or "") for m in body.get("messages") or []]
    parts.append(json.dumps(body.get("response_format") or {}))
    return sum(count_tokens(p) for p in parts)


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


def make_scenes(n: int) -> list[dict[str, Any]]:
    """``n`` valid scenes in the wire shape the provider asks for, each a different picture."""
    return [
        {
            "title": f"Scene {i}",
            "description": f"Something happens in part {i} of the story.",
            "image_prompt": f"Anna, a girl in a red cloak, {_ACTIONS[i % 12]} "
            f"{_PLACES[(i * 5) % 12]}, {_LIGHT[(i * 7) % 12]}",
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
            "look": "a girl of ten, thin, freckled, red braids, red wool cloak, brown boots",
            "aliases": ["the girl"],
        }
    ],
    "places": ["pine forest"],
    "themes": ["courage"],
    "mood": "quiet, hopeful",
    "complexity": 3,
    "recommended_scenes": 4,
}


# --- scripted behaviours --------------------------------------------------------------------


def ok() -> Behaviour:
    """The default answer (useful to interleave with faults)."""

    async def run(emu: OpenRouterEmulator, request: web.Request, body: Any) -> web.StreamResponse:
        return emu.answer(body)

    return run


def reset() -> Behaviour:
    """Drop the connection without answering."""

    async def run(emu: OpenRouterEmulator, request: web.Request, body: Any) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.Response(status=500)

    return run


def slow(seconds: float) -> Behaviour:
    """Answer normally, after ``seconds`` (longer than the client's timeout, for timeouts)."""

    async def run(emu: OpenRouterEmulator, request: web.Request, body: Any) -> web.StreamResponse:
        await emu.sleep(seconds)
        return emu.answer(body)

    return run


def status(
    code: int,
    message: str = "",
    *,
    headers: dict[str, str] | None = None,
    headers_in_body: dict[str, str] | None = None,
    availability: dict[str, Any] | None = None,
    **metadata: Any,
) -> Behaviour:
    """Answer HTTP ``code`` with an OpenRouter error body.

    ``headers`` are HTTP headers; ``headers_in_body`` go to ``error.metadata.headers``,
    ``availability`` to ``error.availability`` and other keywords to ``error.metadata``.
    """
    if headers_in_body is not None:
        metadata["headers"] = headers_in_body
    text = message or {
        400: "Invalid request",
        401: "User not found.",
        402: "Insufficient credits. Add more using https://openrouter.ai/credits",
        403: "Request blocked: prompt injection patterns detected",
        404: "No endpoints found that support the requested parameters",
        408: "Operation timed out. Please try again later.",
        500: "Internal Server Error",
        502: "Provider returned error",
        503: "No available provider meets your routing requirements",
        524: "Edge network timeout",
        529: "Provider overloaded",
    }.get(code, "error")

    async def run(emu: OpenRouterEmulator, request: web.Request, body: Any) -> web.StreamResponse:
        return error_response(
            code, text, http_headers=headers, availability=availability, **metadata
        )

    return run


def rate_limited(retry_after: float | None = 0, *, reset_ms: int | None = None) -> Behaviour:
    """A 429 with ``Retry-After`` and/or ``X-RateLimit-*`` headers (also in metadata.headers)."""
    limits = {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0"}
    if reset_ms is not None:
        limits["X-RateLimit-Reset"] = str(reset_ms)
    wire = dict(limits)
    if retry_after is not None:
        wire["Retry-After"] = str(retry_after)
    message = "Rate limit exceeded: free-models-per-min. "
    return status(429, message, headers=wire, headers_in_body=limits)


def bad_json() -> Behaviour:
    """A 200 whose body is not JSON (a broken proxy answer)."""

    async def run(emu: OpenRouterEmulator, request: web.Request, body: Any) -> web.StreamResponse:
        return web.Response(
            text='{"id": "gen-broken", "choices": [', content_type="application/json"
        )

    return run


def content(text: str | None, *, finish_reason: str = "stop") -> Behaviour:
    """A 200 whose message content is ``text`` (fenced JSON, prose, wrong counts, ...)."""

    async def run(emu: OpenRouterEmulator, request: web.Request, body: Any) -> web.StreamResponse:
        return web.json_response(
            completion(body, text, finish_reason=finish_reason, upstream=emu.upstream)
        )

    return run


def empty(*, finish_reason: str = "stop", value: str | None = None) -> Behaviour:
    """A 200 with null (or "") content, as reasoning models and cold starts produce."""
    return content(value, finish_reason=finish_reason)


def scenes(n: int, *, fenced: bool = False) -> Behaviour:
    """A 200 with exactly ``n`` scenes (to answer a request for a different count)."""
    text = json.dumps({"scenes": make_scenes(n)}, indent=2)
    return content(f"Here are the scenes:\n```json\n{text}\n```" if fenced else text)


def error_in_200(
    code: int | str | None = 502,
    message: str = "Provider returned error",
    *,
    in_choice: bool = False,
) -> Behaviour:
    """A 200 carrying an error: a top-level ``error``, or ``choices[0].error`` + partial content."""

    async def run(emu: OpenRouterEmulator, request: web.Request, body: Any) -> web.StreamResponse:
        if in_choice:
            payload = completion(
                body, "partial output...", finish_reason="error", upstream=emu.upstream
            )
            error: dict[str, Any] = {
                "message": message,
                "metadata": {"error_type": "provider_unavailable"},
            }
            if code is not None:
                error["code"] = code
            payload["choices"][0]["error"] = error
        else:
            payload = error_body(code, message, provider_name=emu.upstream)
        return web.json_response(payload)

    return run
