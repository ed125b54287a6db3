"""The one HTTP layer every provider uses: session, timeouts, retries, concurrency, rate limit.

Each provider builds one :class:`HttpClient` from its config. Requests go through one retry policy
(tenacity): exponential backoff with jitter, ``Retry-After`` from the latest failure honoured and
capped, bounded attempts and total time, and retries only for :class:`~storyframe.errors.Transient`
errors (timeouts, resets, 408/429/5xx). Auth, quota, bad-request and content-policy errors fail
at once.

A provider maps its service's answers onto the error hierarchy with a *classifier*: a function
that looks at an :class:`HttpResponse` and returns the error it means, or ``None`` for success.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from storyframe import __version__
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
from storyframe.providers import ProviderConfig
from storyframe.secrets import redact

log = logging.getLogger("storyframe.http")

USER_AGENT = f"storyframe/{__version__}"
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class HttpResponse:
    """A fully read HTTP response."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str = ""
    elapsed: float = 0.0

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self, *, provider: str | None = None) -> Any:
        """The body parsed as JSON (leading whitespace tolerated); ``BadResponse`` if it is not."""
        try:
            return json.loads(self.body.strip() or b"null")
        except ValueError as error:
            snippet = redact(self.text[:120])
            reason = getattr(error, "msg", str(error))
            raise BadResponse(
                f"HTTP {self.status} answer is not valid JSON ({reason}): {snippet!r}",
                provider=provider,
                status=self.status,
            ) from None


Classifier = Callable[[HttpResponse], ProviderError | None]


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), if any."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def error_for_status(
    status: int,
    message: str,
    *,
    provider: str | None = None,
    code: str | None = None,
    retry_after: float | None = None,
) -> ProviderError:
    """The error class an HTTP status means when a service says nothing more specific."""
    text = f"HTTP {status}: {message}" if message else f"HTTP {status}"
    kwargs: dict[str, Any] = {"provider": provider, "status": status, "code": code}
    if status == 401:
        return AuthError(text, hint="Check the API key.", **kwargs)
    if status == 402:
        return QuotaError(text, hint="Add credits to the account.", **kwargs)
    if status == 403:
        return ContentRejected(text, **kwargs)
    if status == 429:
        return RateLimited(text, retry_after=retry_after, **kwargs)
    if status == 408 or status >= 500:
        return Transient(text, retry_after=retry_after, **kwargs)
    return InvalidRequest(text, **kwargs)


def default_classifier(provider: str) -> Classifier:
    """A classifier that maps any status >= 400 with :func:`error_for_status`."""

    def classify(response: HttpResponse) -> ProviderError | None:
        if response.status < 400:
            return None
        return error_for_status(
            response.status,
            response.text[:200].strip(),
            provider=provider,
            retry_after=parse_retry_after(response.headers),
        )

    return classify


class _WaitRetryAfter:
    """Wait what the latest failure asked for (capped), else exponential backoff with jitter."""

    def __init__(self, base: float, maximum: float, cap: float) -> None:
        self._backoff = wait_exponential_jitter(multiplier=base, max=maximum, jitter=base)
        self._cap = cap

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, int | float):
            return float(min(max(retry_after, 0.0), self._cap))
        return float(self._backoff(state))


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, ProviderError) and error.retryable


class _StopPolicy:
    """Stop after the attempts or the time budget; stop at once when the service asks for a wait
    longer than ``retry_after_cap`` or than the budget has left, and mark the provider to rest
    for the run instead (the work moves to the next provider without waiting)."""

    def __init__(self, attempts: int, budget: float, cap: float) -> None:
        self._bounds = stop_after_attempt(attempts) | stop_before_delay(budget)
        self._budget = budget
        self._cap = cap

    def __call__(self, state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        if not isinstance(error, ProviderError):
            return bool(self._bounds(state))
        retry_after = getattr(error, "retry_after", None)
        elapsed = state.seconds_since_start or 0.0
        if isinstance(retry_after, int | float) and (
            retry_after > self._cap or elapsed + retry_after > self._budget
        ):
            error.cooldown = error.exhausted = True
            return True
        if self._bounds(state):
            error.exhausted = True
            return True
        return False


@dataclass
class RetryStats:
    """How many retries a client made, for logs and benchmarks."""

    retries: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class HttpClient:
    """An aiohttp session for one provider, with the shared retry, concurrency and rate policy.

    Create it inside a running event loop (in a provider's ``__init__`` or lazily); close it with
    :meth:`aclose`. ``classify`` maps responses onto the error hierarchy.
    """

    def __init__(
        self,
        provider: str,
        config: ProviderConfig,
        *,
        base_url: str = "",
        headers: Mapping[str, str] | None = None,
        classify: Classifier | None = None,
    ) -> None:
        self.provider = provider
        self.config = config
        self.base_url = base_url.rstrip("/")
        self.classify = classify or default_classifier(provider)
        self.stats = RetryStats()
        self._headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(config.concurrency)
        self._limiter: Any = None
        if config.requests_per_minute:
            from aiolimiter import AsyncLimiter

            self._limiter = AsyncLimiter(config.requests_per_minute, 60.0)

    @property
    def session(self) -> aiohttp.ClientSession:
        """The provider's session, created on first use."""
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(
                total=self.config.timeout, sock_connect=self.config.connect_timeout
            )
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=timeout, raise_for_status=False
            )
        return self._session

    def url(self, path: str) -> str:
        """``path`` joined to the base URL (absolute URLs are returned unchanged)."""
        if path.startswith(("http://", "https://")):
            return path
        if not path:
            return self.base_url
        return f"{self.base_url}/{path.lstrip('/')}"

    def retrying(self, *, attempts: int | None = None) -> AsyncRetrying:
        """The retry policy as a tenacity iterator, for work that is not a plain request.

        Use it as ``async for attempt in client.retrying(): with attempt: ...``.
        """
        cfg = self.config
        return AsyncRetrying(
            retry=retry_if_exception(_is_retryable),
            stop=_StopPolicy(
                attempts or cfg.max_attempts, cfg.max_retry_seconds, cfg.retry_after_cap
            ),
            wait=_WaitRetryAfter(cfg.backoff_base, cfg.backoff_max, cfg.retry_after_cap),
            before_sleep=self._log_retry,
            reraise=True,
        )

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        reason = type(error).__name__ if error else "?"
        self.stats.retries += 1
        self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + 1
        delay = state.next_action.sleep if state.next_action else 0.0
        log.info(
            "%s: %s; retrying in %.1f s (attempt %d)",
            self.provider,
            error,
            delay,
            state.attempt_number + 1,
        )

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the provider's concurrency slots (and a rate-limit token, if set)."""
        async with self._slots:
            if self._limiter is not None:
                await self._limiter.acquire()
            yield

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
        retry: bool = True,
    ) -> HttpResponse:
        """Send a request with the retry policy; return the response or raise a mapped error.

        ``retry=False`` makes one attempt only (for calls whose repeat would cost money twice).
        """
        attempts = None if retry else 1
        async for attempt in self.retrying(attempts=attempts):
            with attempt:
                return await self._send_once(method, path, json, headers, params, timeout)
        raise AssertionError("unreachable")  # pragma: no cover

    async def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Like :meth:`request`, and parse the body as JSON."""
        response = await self.request(method, path, **kwargs)
        return response.json(provider=self.provider)

    async def _send_once(
        self,
        method: str,
        path: str,
        body: Any,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        timeout: float | None,
    ) -> HttpResponse:
        url = self.url(path)
        # Passing timeout=None to aiohttp disables every timeout; omit it to keep the session's.
        extra: dict[str, Any] = {}
        if timeout:
            extra["timeout"] = aiohttp.ClientTimeout(
                total=timeout, sock_connect=self.config.connect_timeout
            )
        started = time.perf_counter()
        async with self.slot():
            try:
                async with self.session.request(
                    method, url, json=body, headers=headers, params=params, **extra
                ) as raw:
                    payload = await _read_capped(raw, MAX_RESPONSE_BYTES, self.provider)
                    response = HttpResponse(
                        status=raw.status,
                        headers=dict(raw.headers),
                        body=payload,
                        url=url,
                        elapsed=time.perf_counter() - started,
                    )
            except (TimeoutError, aiohttp.ClientError) as error:
                raise transport_error(error, f"{method} {url}", self.provider) from None
        log.debug("%s %s -> %d in %.2f s", method, url, response.status, response.elapsed)
        failure = self.classify(response)
        if failure is not None:
            if failure.provider is None:
                failure.provider = self.provider
            raise failure
        return response

    async def aclose(self) -> None:
        """Close the session. Safe to call more than once."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


def transport_error(error: BaseException, action: str, provider: str | None) -> Transient:
    """The retryable error a timeout, reset or cut-off body of ``action`` means.

    ``code`` says which: ``timeout``, ``truncated`` (the body ended early) or ``connection``.
    """
    if isinstance(error, TimeoutError):
        return Transient(f"{action} timed out", provider=provider, code="timeout")
    if isinstance(error, aiohttp.ClientPayloadError):
        return Transient(
            f"{action}: the body is truncated ({type(error).__name__})",
            provider=provider,
            code="truncated",
        )
    return Transient(
        f"{action} failed: {type(error).__name__}: {error}", provider=provider, code="connection"
    )


async def _read_capped(response: aiohttp.ClientResponse, limit: int, provider: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise BadResponse(
                f"response from {response.url.host} is larger than {limit} bytes",
                provider=provider,
                status=response.status,
            )
        chunks.append(chunk)
    return b"".join(chunks)


__all__ = [
    "USER_AGENT",
    "Classifier",
    "HttpClient",
    "HttpResponse",
    "RetryStats",
    "default_classifier",
    "error_for_status",
    "parse_retry_after",
    "transport_error",
]
