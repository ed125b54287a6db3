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

The scripted behaviours are in ``behaviours.py`` (re-exported here), the refusals before an
answer (image inputs, context and output limits) in ``refusals.py``, the bodies in ``bodies.py``.

Tests that use it must allow 127.0.0.1 through pytest-recording's network block:
``pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.openrouter.behaviours import (
    Behaviour,
    bad_json,
    content,
    empty,
    error_in_200,
    ok,
    rate_limited,
    reset,
    scenes,
    slow,
    slow_body,
    status,
)
from tests.openrouter.bodies import (
    ANALYSIS,
    INPUT_MODALITIES,
    MODELS,
    ModelSpec,
    completion,
    count_tokens,
    error_response,
    make_scenes,
    prompt_tokens,
    request_kind,
    scene_count,
)
from tests.openrouter.literal_model import derive_answer
from tests.openrouter.refusals import image_input_failure, limit_failure

__all__ = [
    "ANALYSIS",
    "DEFAULT_KEY",
    "TINY_PNG",
    "Behaviour",
    "OpenRouterEmulator",
    "Recorded",
    "bad_json",
    "completion",
    "content",
    "empty",
    "error_in_200",
    "make_scenes",
    "ok",
    "rate_limited",
    "request_kind",
    "reset",
    "scene_count",
    "scenes",
    "slow",
    "slow_body",
    "status",
]

DEFAULT_KEY = "emulator-test-key-0000"
"""The key the emulator accepts unless told otherwise (not shaped like a real key)."""

# A valid 1x1 PNG.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


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
            refusal = image_input_failure(body, self.input_modalities) or limit_failure(
                body, self.models, self.upstream
            )
            if refusal is not None:
                return refusal
        if self.script:
            return await self.script.popleft()(self, request, body)
        if not isinstance(body, dict) or not body.get("messages"):
            return error_response(400, 'Input required: specify "prompt" or "messages"')
        return self.answer(body)

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
