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

Behaviours include ``status`` (any HTTP error, e.g. 500/502/503/504), ``rate_limited`` (429 with
``Retry-After`` and/or ``X-RateLimit-Reset`` in epoch ms, also in ``error.metadata.headers``),
``reset``, ``slow`` (a late answer), ``slow_body`` (headers at once, body stalls), ``bad_json``,
``error_in_200`` (a top-level ``error`` or ``choices[0].error``), ``content`` (e.g. invalid
structured output), ``scenes`` (a wrong scene count) and ``empty``.

Image parts in a user message (``{"type": "image_url", ...}``) are accepted for models whose
``input_modalities`` include ``"image"`` (unlisted models too); a model listed without it gets the
documented 404 "No endpoints found that support image input". A part that is neither an http(s)
URL nor a base64 data URL of a PNG, JPEG, WEBP or GIF is a 400 (its exact body is unconfirmed).

Tests that use it must allow 127.0.0.1 through pytest-recording's network block:
``pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.openrouter.bodies import (
    ANALYSIS,
    INPUT_MODALITIES,
    MODELS,
    ModelSpec,
    completion,
    count_tokens,
    error_body,
    error_response,
    image_parts,
    make_scenes,
    prompt_tokens,
    request_kind,
    scene_count,
)
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
        self.input_modalities: dict[str, list[str]] = dict(INPUT_MODALITIES)
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
            refusal = self._image_input_failure(body) or self._limit_failure(body)
            if refusal is not None:
                return refusal
        if self.script:
            return await self.script.popleft()(self, request, body)
        if not isinstance(body, dict) or not body.get("messages"):
            return error_response(400, 'Input required: specify "prompt" or "messages"')
        return self.answer(body)

    def _image_input_failure(self, body: dict[str, Any]) -> web.Response | None:
        """Routing finds no endpoint for image parts on a model without image input (404), and
        refuses image parts that are not http(s) URLs or base64 data URLs of supported types."""
        parts = image_parts(body)
        if not parts:
            return None
        modalities = self.input_modalities.get(str(body.get("model")))
        if modalities is not None and "image" not in modalities:
            payload = {
                "error": {"message": "No endpoints found that support image input", "code": 404}
            }
            return web.json_response(payload, status=404)
        for part in parts:
            image_url = part.get("image_url")
            url = image_url.get("url") if isinstance(image_url, dict) else None
            if not isinstance(url, str) or not _valid_image_url(url):
                return error_response(
                    400,
                    "Invalid image URL: expected an http(s) URL or a "
                    "base64 data URL of a PNG, JPEG, WEBP or GIF image",
                )
        return None

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
                "architecture": {
                    "input_modalities": self.input_modalities.get(model, ["text"]),
                    "output_modalities": ["text"],
                },
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


_IMAGE_DATA_URL = re.compile(r"^data:image/(png|jpeg|webp|gif);base64,([A-Za-z0-9+/=]+)$")
_MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff", "gif": b"GIF8", "webp": b"RIFF"}


def _valid_image_url(url: str) -> bool:
    """An http(s) URL, or a base64 data URL whose bytes are the image type it names."""
    if url.startswith(("http://", "https://")):
        return True
    match = _IMAGE_DATA_URL.match(url)
    if match is None:
        return False
    try:
        data = base64.b64decode(match.group(2), validate=True)
    except ValueError:
        return False
    return data.startswith(_MAGIC[match.group(1)])


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


def slow_body(seconds: float) -> Behaviour:
    """A 200 whose headers come at once and whose body stalls for ``seconds`` half-way."""

    async def run(emu: OpenRouterEmulator, request: web.Request, body: Any) -> web.StreamResponse:
        payload = emu.answer(body).body
        assert isinstance(payload, bytes)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(payload)
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            await response.write(payload[: len(payload) // 2])
            await emu.sleep(seconds)
            await response.write(payload[len(payload) // 2 :])
        return response

    return run
