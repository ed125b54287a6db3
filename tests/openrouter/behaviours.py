"""Scripted behaviours of the OpenRouter look-alike, queued with
:meth:`~tests.openrouter.emulator.OpenRouterEmulator.push`: each answers one request in place of
the default answer."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.openrouter.bodies import completion, error_body, error_response, make_scenes

if TYPE_CHECKING:
    from tests.openrouter.emulator import OpenRouterEmulator

Behaviour = Callable[["OpenRouterEmulator", web.Request, Any], Awaitable[web.StreamResponse]]


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
