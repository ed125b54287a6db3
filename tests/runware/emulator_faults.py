"""The Runware emulator's scripted faults and the error answers it shares with the real API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

FaultKind = Literal["inference", "poll", "image"]
ImageFault = Literal["truncated", "corrupt", "html", "oversized", "oversized_chunked", "wrong_type"]


@dataclass
class Fault:
    """One scripted misbehaviour, used by the next request of its kind.

    - ``status``: answer with this HTTP status, ``body`` (JSON) and ``headers``; the tasks are
      not registered.
    - ``reset``: drop the connection without answering; with ``after_processing`` the tasks are
      registered first (the request "went through").
    - ``delay``: register the tasks, then answer only after ``delay`` seconds (a timeout); the
      results are ``processing`` until then.
    - ``image``: for image requests, one of ``truncated`` (the connection closes half-way),
      ``corrupt`` (a cut PNG with a matching Content-Length), ``html``, ``oversized`` (with
      Content-Length), ``oversized_chunked`` (without), ``wrong_type`` (PNG bytes, image/jpeg).
    - ``raw``: for API requests, register and run the tasks (they are charged), then answer 200
      with these bytes as an ``application/json`` body (an unreadable 2xx).
    - ``redirect_host``: for image requests, a 302 to the same path on this host.
    """

    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False
    after_processing: bool = False
    delay: float = 0.0
    image: ImageFault | None = None
    size: int = 4 * 1024 * 1024
    raw: bytes | None = None
    redirect_host: str | None = None


def auth_error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "parameter": "apiKey", "taskType": "authentication"}


def error_response(status: int, errors: list[dict[str, Any]]) -> web.Response:
    return web.json_response({"errors": errors}, status=status)


def reset(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=500)
