"""A scripted fake HTTP service on 127.0.0.1, so a plugin's tests need no server of their own.

A test queues the replies the service gives, in order; when the queue is empty the service
answers with its ``default`` (a :class:`Reply`, or a function of the request that returns one).
Every request is recorded. A reply can wait before answering (``delay``; :data:`FOREVER` waits
until the service closes) or drop the connection instead of answering (``drop``)::

    async with FakeService() as service:
        service.queue(Reply(429, headers={"Retry-After": "1"}), Reply(json={"ok": True}))
        provider = MyProvider(MyConfig(base_url=service.url), key)
        ...
        assert service.requests[0].json()["model"] == "m"
"""

from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

FOREVER = math.inf
"""A ``Reply.delay`` that lasts until the service closes (for timeouts and cancellation)."""


@dataclass
class Reply:
    """One scripted answer: status, headers, JSON or raw body, a delay, or a dropped connection."""

    status: int = 200
    json: Any = None
    body: bytes | str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False

    def payload(self) -> tuple[bytes, str]:
        """The body bytes and their content type."""
        if self.body is not None:
            raw = self.body.encode() if isinstance(self.body, str) else self.body
            return raw, "application/octet-stream"
        if self.json is None:
            return b"", "text/plain"
        return jsonlib.dumps(self.json).encode(), "application/json"


@dataclass
class RecordedRequest:
    """A request the fake service received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    service: FakeService = field(repr=False)
    """The service that received it (an answer may :meth:`~FakeService.add_file` there)."""

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when empty)."""
        return jsonlib.loads(self.body or b"null")


Answer = Callable[[RecordedRequest], Reply]
"""A function that answers a request the way the real service would on success."""


def error_body(message: str, code: str | int | None = None) -> dict[str, Any]:
    """An error body in the common ``{"error": {"message", "code"}}`` shape."""
    return {"error": {"message": message, "code": code}}


class FakeService:
    """An aiohttp app on 127.0.0.1 that answers with scripted :class:`Reply` objects."""

    def __init__(self, default: Reply | Answer | None = None) -> None:
        self.default = default
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._files: dict[str, tuple[bytes, str]] = {}
        self._closing = asyncio.Event()
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order."""
        self._queue.extend(replies)

    @property
    def pending(self) -> list[Reply]:
        """Queued replies no request has used yet."""
        return list(self._queue)

    def add_file(self, data: bytes, media_type: str = "image/png") -> str:
        """Serve ``data`` (say, an image a reply links to) and return its URL."""
        name = f"file-{len(self._files) + 1}"
        self._files[name] = (data, media_type)
        return f"{self.url}/_files/{name}"

    def file(self, url: str) -> bytes | None:
        """The bytes behind a URL :meth:`add_file` returned, or ``None``."""
        prefix = f"{self.url}/_files/"
        if not url.startswith(prefix):
            return None
        found = self._files.get(url.removeprefix(prefix))
        return found[0] if found else None

    async def wait_for_requests(self, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until at least ``count`` requests arrived; ``TimeoutError`` after ``timeout``."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.path.removeprefix("/_files/")
        if request.path.startswith("/_files/") and name in self._files:
            data, media_type = self._files[name]
            return web.Response(body=data, content_type=media_type)
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=await request.read(),
            service=self,
        )
        async with self._arrived:
            self.requests.append(recorded)
            self._arrived.notify_all()
        reply = self._next(recorded)
        if reply.delay:
            timeout = None if math.isinf(reply.delay) else reply.delay
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout)
        if reply.drop or self._closing.is_set():
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=499)
        body, content_type = reply.payload()
        headers = {"Content-Type": content_type, **reply.headers}
        return web.Response(status=reply.status, body=body, headers=headers)

    def _next(self, request: RecordedRequest) -> Reply:
        if self._queue:
            return self._queue.popleft()
        if isinstance(self.default, Reply):
            return self.default
        if self.default is not None:
            return self.default(request)
        message = f"fake service: nothing scripted for {request.method} {request.path}"
        return Reply(501, json=error_body(message))

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1; ``url`` is then ``http://127.0.0.1:PORT``."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def close(self) -> None:
        """End every pending delay and stop listening."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeService:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


__all__ = ["FOREVER", "Answer", "FakeService", "RecordedRequest", "Reply", "error_body"]
