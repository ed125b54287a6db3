"""HttpClient against a local aiohttp server: retries, Retry-After, errors, limits, redaction."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from storyframe import http as sf_http
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
from storyframe.http import HttpClient, HttpResponse, error_for_status, parse_retry_after
from storyframe.providers import ProviderConfig

# --block-network (addopts) blocks 127.0.0.1 too unless it is allowed explicitly.
pytestmark = pytest.mark.block_network(allowed_hosts=[r"127\.0\.0\.1$"])

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Server:
    """A local service whose handler the test supplies; counts the requests that reach it."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.hits = 0
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.url = ""

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        self.requests.append({"method": request.method, "path": request.path})
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self.handler(request)
        finally:
            self.in_flight -= 1


Serve = Callable[[Handler], Awaitable[Server]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start a server on 127.0.0.1 (port 0) for a handler; all are stopped after the test."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> Server:
        server = Server(handler)
        app = web.Application()

        async def handle(request: web.Request) -> web.StreamResponse:
            return await server(request)

        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        server.url = f"http://{host}:{port}"
        return server

    yield start
    for runner in runners:
        await runner.cleanup()


def fast(**overrides: Any) -> ProviderConfig:
    """A config with tiny delays so retry tests run in milliseconds."""
    values: dict[str, Any] = {
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "retry_after_cap": 0.2,
        "max_attempts": 4,
        "max_retry_seconds": 5.0,
        "timeout": 0.3,
        "connect_timeout": 0.3,
    }
    values.update(overrides)
    return ProviderConfig(**values)


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., HttpClient]]:
    """Build HttpClients that are closed after the test."""
    made: list[HttpClient] = []

    def make(server: Server, config: ProviderConfig | None = None, **kwargs: Any) -> HttpClient:
        client = HttpClient("test", config or fast(), base_url=server.url, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


def sequence(*responses: Callable[[], web.StreamResponse]) -> Handler:
    """A handler that answers with each response in turn, repeating the last one."""
    calls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        index = min(calls, len(responses) - 1)
        calls += 1
        return responses[index]()

    return handler


def status(code: int, body: str = "nope", headers: dict[str, str] | None = None):
    return lambda: web.Response(status=code, text=body, headers=headers)


def ok(data: Any = None):
    return lambda: web.json_response(data if data is not None else {"ok": True})


def retry_delays(caplog: pytest.LogCaptureFixture) -> list[float]:
    """The delays HttpClient logged before each retry."""
    return [
        float(r.args[2])  # type: ignore[index]
        for r in caplog.records
        if r.name == "storyframe.http" and "retrying in" in r.msg
    ]


# Success ---------------------------------------------------------------------------------------


async def test_success_json(serve: Serve, clients) -> None:
    server = await serve(sequence(ok({"answer": 42})))
    client = clients(server)
    assert await client.request_json("POST", "/v1/thing", json={"q": 1}) == {"answer": 42}
    assert server.hits == 1
    assert server.requests[0] == {"method": "POST", "path": "/v1/thing"}
    assert client.stats.retries == 0


async def test_response_fields_and_user_agent(serve: Serve, clients) -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response(
            {"ua": request.headers.get("User-Agent"), "x": dict(request.query)}
        )

    server = await serve(echo)
    response = await clients(server).request("GET", "/echo", params={"a": "b"})
    assert isinstance(response, HttpResponse)
    assert response.status == 200
    assert response.url == f"{server.url}/echo"
    assert response.elapsed > 0
    data = response.json()
    assert data["ua"] == sf_http.USER_AGENT
    assert data["x"] == {"a": "b"}


# Retries ---------------------------------------------------------------------------------------


async def test_5xx_burst_then_success(serve: Serve, clients) -> None:
    server = await serve(sequence(status(500), status(502), status(503), ok({"n": 1})))
    client = clients(server, fast(max_attempts=4))
    assert await client.request_json("GET", "/") == {"n": 1}
    assert server.hits == 4
    assert client.stats.retries == 3
    assert client.stats.by_reason == {"Transient": 3}


async def test_408_is_retried(serve: Serve, clients) -> None:
    server = await serve(sequence(status(408), ok()))
    client = clients(server)
    await client.request("GET", "/")
    assert server.hits == 2


async def test_429_retry_after_seconds_honoured(
    serve: Serve, clients, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="storyframe.http")
    server = await serve(sequence(status(429, headers={"Retry-After": "0.1"}), ok()))
    # Backoff alone would wait 5 s: a quick success proves the header was used.
    client = clients(server, fast(backoff_base=5, backoff_max=5, retry_after_cap=1.0))
    started = time.perf_counter()
    await client.request("GET", "/")
    elapsed = time.perf_counter() - started
    assert server.hits == 2
    assert 0.1 <= elapsed < 1.0
    assert retry_delays(caplog) == [0.1]
    assert client.stats.by_reason == {"RateLimited": 1}


async def test_a_wait_past_the_cap_gives_up_at_once_and_asks_for_a_cooldown(
    serve: Serve, clients
) -> None:
    server = await serve(sequence(status(429, headers={"Retry-After": "3600"}), ok()))
    client = clients(server, fast(backoff_base=5, backoff_max=5, retry_after_cap=0.2))
    started = time.perf_counter()
    with pytest.raises(RateLimited) as caught:
        await client.request("GET", "/")
    assert time.perf_counter() - started < 0.5
    assert server.hits == 1
    assert caught.value.cooldown and caught.value.exhausted


async def test_a_wait_past_the_retry_budget_gives_up_at_once(serve: Serve, clients) -> None:
    server = await serve(sequence(status(503, headers={"Retry-After": "2"}), ok()))
    client = clients(server, fast(retry_after_cap=5, max_retry_seconds=1.0))
    started = time.perf_counter()
    with pytest.raises(Transient) as caught:
        await client.request("GET", "/")
    assert time.perf_counter() - started < 0.5
    assert server.hits == 1
    assert caught.value.cooldown


async def test_retry_after_http_date(
    serve: Serve, clients, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="storyframe.http")
    soon = email.utils.formatdate(time.time() + 2, usegmt=True)
    past = email.utils.formatdate(time.time() - 600, usegmt=True)
    server = await serve(
        sequence(
            status(503, headers={"Retry-After": soon}),
            status(429, headers={"Retry-After": past}),
            ok(),
        )
    )
    client = clients(server, fast(backoff_base=5, backoff_max=5, retry_after_cap=3))
    await client.request("GET", "/")
    assert server.hits == 3
    # A date two seconds ahead is waited for; a date in the past means "now"; backoff would be 5 s.
    first, second = retry_delays(caplog)
    assert 0.0 < first <= 2.0
    assert second == 0.0


async def test_bounded_attempts(serve: Serve, clients) -> None:
    server = await serve(sequence(status(500, "down")))
    client = clients(server, fast(max_attempts=3))
    with pytest.raises(Transient) as caught:
        await client.request("GET", "/")
    assert server.hits == 3
    assert caught.value.status == 500
    assert caught.value.provider == "test"
    assert "down" in str(caught.value)
    assert client.stats.retries == 2


async def test_rate_limited_exhausted_raises_rate_limited(serve: Serve, clients) -> None:
    server = await serve(sequence(status(429, headers={"Retry-After": "0"})))
    client = clients(server, fast(max_attempts=2))
    with pytest.raises(RateLimited) as caught:
        await client.request("GET", "/")
    assert server.hits == 2
    assert caught.value.retry_after == 0.0


async def test_bounded_total_time(serve: Serve, clients) -> None:
    server = await serve(sequence(status(503)))
    config = fast(max_attempts=20, backoff_base=0.1, backoff_max=0.1, max_retry_seconds=0.35)
    client = clients(server, config)
    started = time.perf_counter()
    with pytest.raises(Transient):
        await client.request("GET", "/")
    elapsed = time.perf_counter() - started
    assert 2 <= server.hits < 20
    assert elapsed < 0.35 + 0.3


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (400, InvalidRequest),
        (401, AuthError),
        (402, QuotaError),
        (403, ContentRejected),
        (404, InvalidRequest),
        (422, InvalidRequest),
    ],
)
async def test_no_retry_on_client_errors(
    serve: Serve, clients, code: int, error: type[ProviderError]
) -> None:
    server = await serve(sequence(status(code, "refused"), ok()))
    client = clients(server, fast(max_attempts=5))
    with pytest.raises(error) as caught:
        await client.request("POST", "/")
    assert type(caught.value) is error
    assert server.hits == 1
    assert caught.value.status == code
    assert caught.value.provider == "test"
    assert not caught.value.retryable
    assert client.stats.retries == 0


async def test_retry_false_makes_one_attempt(serve: Serve, clients) -> None:
    server = await serve(sequence(status(503), ok()))
    client = clients(server, fast(max_attempts=5))
    with pytest.raises(Transient):
        await client.request("POST", "/", retry=False)
    assert server.hits == 1


async def test_connection_reset_is_transient_and_retried(serve: Serve, clients) -> None:
    calls = 0

    async def flaky(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            assert request.transport is not None
            request.transport.close()
            return web.Response(text="never sent")
        return web.json_response({"ok": True})

    server = await serve(flaky)
    client = clients(server)
    # POST: aiohttp itself silently retries idempotent methods once on a dropped connection.
    assert await client.request_json("POST", "/") == {"ok": True}
    assert server.hits == 2
    assert client.stats.retries == 1


async def test_truncated_body_is_transient(serve: Serve, clients) -> None:
    async def truncated(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b"x" * 10)
        assert request.transport is not None
        request.transport.close()
        return response

    server = await serve(truncated)
    client = clients(server, fast(max_attempts=2))
    with pytest.raises(Transient) as caught:
        await client.request("POST", "/")
    assert caught.value.code == "truncated"
    assert "truncated" in str(caught.value)
    assert server.hits == 2


async def test_timeout_is_transient(serve: Serve, clients) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    server = await serve(slow)
    # The session timeout from config applies when the call passes none.
    client = clients(server, fast(timeout=0.2, max_attempts=2))
    started = time.perf_counter()
    with pytest.raises(Transient) as caught:
        await client.request("GET", "/")
    assert caught.value.code == "timeout"
    assert server.hits == 2
    assert time.perf_counter() - started < 2


async def test_per_call_timeout(serve: Serve, clients) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    server = await serve(slow)
    client = clients(server, fast(timeout=30))
    with pytest.raises(Transient) as caught:
        await client.request("GET", "/", timeout=0.2, retry=False)
    assert caught.value.code == "timeout"


async def test_connection_refused_is_transient(clients) -> None:
    # A port that was just free: nothing listens there.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = Server(sequence(ok()))
    dead.url = f"http://127.0.0.1:{port}"
    client = clients(dead, fast(max_attempts=2))
    with pytest.raises(Transient) as caught:
        await client.request("GET", "/")
    assert caught.value.code == "connection"


# Limits ----------------------------------------------------------------------------------------


async def test_concurrency_limit(serve: Serve, clients) -> None:
    async def slowish(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)
        return web.json_response({"ok": True})

    server = await serve(slowish)
    client = clients(server, fast(concurrency=2))
    results = await asyncio.gather(*(client.request_json("GET", f"/{i}") for i in range(6)))
    assert results == [{"ok": True}] * 6
    assert server.hits == 6
    assert server.max_in_flight == 2


async def test_requests_per_minute_limiter(serve: Serve, clients) -> None:
    server = await serve(sequence(ok()))
    client = clients(server, fast(requests_per_minute=120))
    assert client._limiter is not None
    assert client._limiter.max_rate == 120
    assert client._limiter.time_period == 60
    await asyncio.gather(*(client.request("GET", "/") for _ in range(3)))
    assert server.hits == 3
    assert clients(server)._limiter is None


# Bad answers -----------------------------------------------------------------------------------


async def test_bad_json_is_bad_response(serve: Serve, clients) -> None:
    server = await serve(sequence(status(200, "{not json")))
    client = clients(server)
    with pytest.raises(BadResponse) as caught:
        await client.request_json("GET", "/")
    assert caught.value.provider == "test"
    assert caught.value.status == 200
    assert "not valid JSON" in str(caught.value)
    assert server.hits == 1


async def test_oversized_response_is_bad_response(
    serve: Serve, clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sf_http, "MAX_RESPONSE_BYTES", 100)
    server = await serve(sequence(status(200, "x" * 1000)))
    client = clients(server)
    with pytest.raises(BadResponse) as caught:
        await client.request("GET", "/")
    assert "larger than 100 bytes" in str(caught.value)
    assert caught.value.provider == "test"
    assert server.hits == 1


async def test_custom_classifier(serve: Serve, clients) -> None:
    server = await serve(sequence(ok({"error": {"code": "nsfw"}}), ok({"data": 1})))
    seen: list[int] = []

    def classify(response: HttpResponse) -> ProviderError | None:
        seen.append(response.status)
        body = response.json()
        if "error" in body:
            return ContentRejected("refused", code=body["error"]["code"])
        return None

    client = clients(server, classify=classify)
    with pytest.raises(ContentRejected) as caught:
        await client.request("POST", "/")
    assert caught.value.code == "nsfw"
    assert caught.value.provider == "test"  # filled in by the client
    assert await client.request_json("POST", "/") == {"data": 1}
    assert seen == [200, 200]


async def test_custom_classifier_transient_is_retried(serve: Serve, clients) -> None:
    server = await serve(sequence(ok({"busy": True}), ok({"busy": False})))

    def classify(response: HttpResponse) -> ProviderError | None:
        return Transient("busy", retry_after=0.0) if response.json()["busy"] else None

    client = clients(server, classify=classify)
    assert await client.request_json("GET", "/") == {"busy": False}
    assert server.hits == 2


async def test_authorization_header_never_in_errors(serve: Serve, clients) -> None:
    key = "sk-or-v1-" + "0123456789abcdef" * 2 + "01234567"
    assert len(key) == len("sk-or-v1-") + 40

    async def echo_auth(request: web.Request) -> web.Response:
        return web.Response(
            status=401, text=f"bad credentials: {request.headers.get('Authorization')}"
        )

    server = await serve(echo_auth)
    client = clients(server, headers={"Authorization": f"Bearer {key}"})
    with pytest.raises(AuthError) as caught:
        await client.request("GET", "/")
    error = caught.value
    assert "bad credentials" in str(error)
    for text in (str(error), repr(error), error.one_line(), *map(str, error.args)):
        assert key not in text
        assert key[-20:] not in text


async def test_aclose_idempotent(serve: Serve) -> None:
    server = await serve(sequence(ok()))
    client = HttpClient("test", fast(), base_url=server.url)
    await client.aclose()  # never opened
    await client.request("GET", "/")
    session = client._session
    assert session is not None
    await client.aclose()
    await client.aclose()
    assert session.closed
    # A closed client opens a new session on next use.
    await client.request("GET", "/")
    await client.aclose()


def test_url_joining() -> None:
    client = HttpClient("test", fast(), base_url="https://api.example.com/v1/")
    assert client.url("/tasks") == "https://api.example.com/v1/tasks"
    assert client.url("tasks") == "https://api.example.com/v1/tasks"
    assert client.url("") == "https://api.example.com/v1"
    assert client.url("https://other.example/x") == "https://other.example/x"


# parse_retry_after and error_for_status --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("5", 5.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("", None),
        ("soon", None),
    ],
)
def test_parse_retry_after_seconds(value: str, expected: float | None) -> None:
    assert parse_retry_after({"Retry-After": value}) == expected


def test_parse_retry_after_missing_and_lowercase() -> None:
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "7"}) == 7.0


def test_parse_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": header}, now=now) == pytest.approx(30.0)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after({"Retry-After": past}, now=now) == 0.0


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (400, InvalidRequest),
        (401, AuthError),
        (402, QuotaError),
        (403, ContentRejected),
        (404, InvalidRequest),
        (408, Transient),
        (409, InvalidRequest),
        (422, InvalidRequest),
        (429, RateLimited),
        (500, Transient),
        (502, Transient),
        (503, Transient),
        (504, Transient),
    ],
)
def test_error_for_status(code: int, error: type[ProviderError]) -> None:
    result = error_for_status(code, "why", provider="p", retry_after=1.5)
    assert type(result) is error
    assert result.status == code
    assert result.provider == "p"
    assert str(result) == f"HTTP {code}: why"
    if isinstance(result, Transient):
        assert result.retry_after == 1.5
