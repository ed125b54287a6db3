"""Behaviour checks: what a provider does under errors, cancellation, load and inspection.

Each check is a plain ``async`` function that raises ``AssertionError`` naming what went wrong,
so the pytest suites in :mod:`storyframe.testing` call them and a project can call them directly.
HTTP checks build the provider with an :data:`HttpFactory` pointed at a :class:`FakeService`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import SecretStr

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
from storyframe.models import GeneratedImage, ImageRequest, Scene
from storyframe.providers import ImageProvider, Provider, TextProvider
from storyframe.testing.fake import FOREVER, Answer, FakeService, Reply, error_body
from storyframe.testing.probes import (
    assert_no_secret,
    captured_logs,
    error_texts,
    loop_lag,
    tracked_sessions,
)
from storyframe.testing.samples import FAKE_SECRET, image_size


class HttpFactory(Protocol):
    """Builds the provider under test against ``base_url`` with ``api_key`` and ``settings``.

    ``settings`` are :class:`~storyframe.providers.ProviderConfig` fields (timeouts, attempts,
    backoff) the kit sets to keep the checks fast; pass them into the provider's config.
    """

    def __call__(self, base_url: str, api_key: SecretStr | None, **settings: Any) -> Provider: ...


Call = Callable[[Provider], Awaitable[Any]]
"""The piece of work a check asks of the provider (``generate`` or ``generate_scenes``)."""

FAST_SETTINGS: dict[str, Any] = {
    "max_attempts": 1,
    "timeout": 0.5,
    "connect_timeout": 0.5,
    "backoff_base": 0.0,
    "backoff_max": 0.0,
    "max_retry_seconds": 5.0,
}
"""The config the HTTP checks build providers with: one attempt, short timeouts."""

CALL_BOUND = 10.0
"""Seconds any single call may take in a check before the check fails as hung."""


@dataclass(frozen=True)
class ErrorCase:
    """A failure the fake service stages and the error classes it must map onto."""

    name: str
    reply: Reply
    expected: tuple[type[ProviderError], ...]
    retry_after: float | None = None


def _status(status: int, message: str, **headers: str) -> Reply:
    return Reply(status, json=error_body(message, status), headers=headers)


ERROR_CASES: tuple[ErrorCase, ...] = (
    ErrorCase("401", _status(401, "invalid API key"), (AuthError,)),
    ErrorCase("402", _status(402, "insufficient credits"), (QuotaError,)),
    ErrorCase("403", _status(403, "flagged by moderation"), (ContentRejected, AuthError)),
    ErrorCase("404", _status(404, "no such model"), (InvalidRequest,)),
    ErrorCase("408", _status(408, "request timeout"), (Transient,)),
    ErrorCase(
        "429", _status(429, "slow down", **{"Retry-After": "3"}), (RateLimited,), retry_after=3.0
    ),
    ErrorCase("500", _status(500, "internal error"), (Transient,)),
    ErrorCase("503", _status(503, "overloaded"), (Transient,)),
    ErrorCase(
        "malformed-json",
        Reply(200, body=b'{"data": [{"answer": ', headers={"Content-Type": "application/json"}),
        (BadResponse, Transient),
    ),
    ErrorCase("unexpected-json", Reply(200, json={"unexpected": ["shape"]}), (BadResponse,)),
    ErrorCase("timeout", Reply(200, json={}, delay=FOREVER), (Transient,)),
    ErrorCase("reset", Reply(drop=True), (Transient,)),
)
"""The failures every HTTP provider is put through, by name."""


# Building ----------------------------------------------------------------------------------------


@asynccontextmanager
async def serving(
    factory: HttpFactory, answer: Answer | Reply | None, **settings: Any
) -> AsyncIterator[tuple[Provider, FakeService]]:
    """A fake service answering with ``answer``, and a provider pointed at it (closed after)."""
    async with FakeService(answer) as service:
        provider = factory(service.url, SecretStr(FAKE_SECRET), **{**FAST_SETTINGS, **settings})
        try:
            yield provider, service
        finally:
            await provider.aclose()


async def _outcome(awaitable: Awaitable[Any], bound: float = CALL_BOUND) -> Any:
    """What ``awaitable`` returned, or the exception it raised, failing if it hangs."""
    try:
        async with asyncio.timeout(bound):
            return await awaitable
    except TimeoutError:
        raise AssertionError(
            f"the call did not end within {bound} s; does the provider's config get the "
            "settings (timeout, max_attempts) the kit passes to the factory?"
        ) from None
    except Exception as error:
        return error


# HTTP checks -------------------------------------------------------------------------------------


async def check_error_mapping(
    factory: HttpFactory, call: Call, case: ErrorCase, bound: float = CALL_BOUND
) -> None:
    """The staged failure raises one of the documented classes, without showing the key."""
    with captured_logs() as logs:
        async with serving(factory, case.reply) as (provider, service):
            result = await _outcome(call(provider), bound)
            made = len(service.requests)
            assert_no_secret([repr(provider), str(provider)], "the provider's repr")
    assert made >= 1, f"{case.name}: the provider sent no request to the service"
    wanted = " or ".join(cls.__name__ for cls in case.expected)
    assert isinstance(result, BaseException), (
        f"{case.name}: expected {wanted}, but the call returned {result!r:.200}"
    )
    assert isinstance(result, case.expected), (
        f"{case.name}: expected {wanted}, got {type(result).__name__}: {result}"
    )
    if case.retry_after is not None:
        got = getattr(result, "retry_after", None)
        assert got == case.retry_after, (
            f"{case.name}: Retry-After was {case.retry_after:g} s but retry_after is {got!r}"
        )
    assert_no_secret(error_texts(result), f"the {case.name} error")
    assert_no_secret(logs, "the logs")


async def check_retries_transient(factory: HttpFactory, call: Call, answer: Answer) -> None:
    """A 503 then a good answer succeeds: ``Transient`` failures go through the retry policy."""
    async with serving(factory, answer, max_attempts=3) as (provider, service):
        service.queue(_status(503, "overloaded"))
        result = await _outcome(call(provider))
    assert not isinstance(result, BaseException), (
        f"a 503 followed by a good answer ended in {type(result).__name__}: {result}; "
        "Transient errors should be retried (use HttpClient or its retrying())"
    )
    assert len(service.requests) >= 2, "the 503 was not retried"


async def check_cancellation(factory: HttpFactory, call: Call, bound: float = 1.0) -> None:
    """Cancelling a call waiting on the service ends it, as cancelled, within ``bound`` s."""
    async with serving(factory, Reply(delay=FOREVER), timeout=30.0) as (provider, service):
        task = asyncio.ensure_future(call(provider))
        try:
            await service.wait_for_requests(1, timeout=CALL_BOUND)
        except TimeoutError:
            task.cancel()
            raise AssertionError("the provider sent no request to the service") from None
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=bound)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=bound)
            raise AssertionError(f"the call was still running {bound} s after it was cancelled")
    if not task.cancelled():
        error = task.exception()
        outcome = f"raised {type(error).__name__}" if error else f"returned {task.result()!r:.80}"
        raise AssertionError(
            f"the call swallowed its cancellation and {outcome}; let CancelledError propagate"
        )


# Any provider ------------------------------------------------------------------------------------


async def check_loop_not_blocked(provider: Provider, call: Call, bound: float = 0.25) -> None:
    """The call never holds the event loop for more than ``bound`` s at a stretch."""
    async with loop_lag() as worst:
        result = await _outcome(call(provider))
    if isinstance(result, BaseException):
        raise AssertionError(f"the call failed: {type(result).__name__}: {result}")
    assert worst[0] <= bound, (
        f"the call blocked the event loop for {worst[0]:.2f} s (bound {bound} s); run blocking "
        "work with asyncio.to_thread and use aiohttp (HttpClient) for HTTP"
    )


async def check_aclose_closes_sessions(provider: Provider, call: Call) -> None:
    """After a call and ``aclose()``, every aiohttp session the provider opened is closed."""
    with tracked_sessions() as sessions:
        result = await _outcome(call(provider))
        await provider.aclose()
    if isinstance(result, BaseException):
        raise AssertionError(f"the call failed: {type(result).__name__}: {result}")
    unclosed = [session for session in sessions if not session.closed]
    for session in unclosed:  # clean up, so the failure is the only noise
        await session.close()
    assert not unclosed, f"aclose() left {len(unclosed)} aiohttp session(s) open"


# Images ------------------------------------------------------------------------------------------


def _mentions(payload: Any, *values: str) -> bool:
    text = repr(payload)
    return all(re.search(rf"(?<![0-9]){re.escape(value)}(?![0-9])", text) for value in values)


async def check_size_and_seed(
    provider: ImageProvider, request: ImageRequest, service: FakeService | None = None
) -> None:
    """The image has the requested size; the seed is used when the capabilities say so."""
    caps = type(provider).capabilities
    result = await _outcome(provider.generate(request))
    if isinstance(result, BaseException):
        raise AssertionError(f"generate failed: {type(result).__name__}: {result}")
    assert isinstance(result, GeneratedImage), f"generate returned {result!r}"
    size: tuple[int, int] | None = None
    data = result.data
    if data is None and result.url and service is not None:
        data = service.file(result.url)
    if data is not None:
        size = image_size(data)
    elif result.width and result.height:
        size = (result.width, result.height)
    wanted = (request.width, request.height)
    if not caps.exact_size:
        return _check_seed(result, request, caps.seed, service)
    assert size is not None, "cannot tell the image's size: return data, or set width and height"
    assert size == wanted, (
        f"asked for {wanted[0]}x{wanted[1]}, got {size[0]}x{size[1]}; honour the size or "
        "narrow Capabilities(min_size, max_size, size_multiple)"
    )
    if service is not None:
        sent = [r.json() if r.body else r.query for r in service.requests]
        assert any(_mentions(body, str(request.width), str(request.height)) for body in sent), (
            f"no request to the service carried the size {wanted[0]}x{wanted[1]}"
        )
    _check_seed(result, request, caps.seed, service)


def _check_seed(
    image: GeneratedImage, request: ImageRequest, honoured: bool, service: FakeService | None
) -> None:
    if not honoured:
        return
    assert image.seed == request.seed, (
        f"the capabilities say seed=True but the image's seed is {image.seed!r}, "
        f"not the requested {request.seed}"
    )
    if service is not None:
        sent = [r.json() if r.body else r.query for r in service.requests]
        assert any(_mentions(body, str(request.seed)) for body in sent), (
            f"the capabilities say seed=True but no request carried the seed {request.seed}"
        )


# Text --------------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z]{4,}")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.casefold()))


def check_scenes_distinct(scenes: Sequence[Scene], suffix: str) -> None:
    """Scenes differ from each other, and each prompt draws on its own scene, without the suffix."""
    descriptions = [" ".join(s.description.casefold().split()) for s in scenes]
    prompts = [" ".join(s.image_prompt.casefold().split()) for s in scenes]
    assert len(set(descriptions)) == len(scenes), "two or more scenes have the same description"
    assert len(set(prompts)) == len(scenes), "two or more scenes have the same image prompt"
    for scene in scenes:
        assert _words(scene.image_prompt) & _words(f"{scene.title} {scene.description}"), (
            f"scene {scene.number}'s image prompt shares no word with its title or description"
        )
        if suffix.strip():
            assert suffix.strip().casefold() not in scene.image_prompt.casefold(), (
                f"scene {scene.number}'s image prompt contains the style's prompt_suffix; the "
                "pipeline appends it, so leave it out"
            )


def check_usage_reported(provider: TextProvider, requests: int) -> None:
    """A text provider that called a service counted the calls and the tokens or cost."""
    usage = provider.usage
    assert requests >= 1, "the provider sent no request to the service"
    assert usage.calls >= 1, f"usage.calls is {usage.calls} after {requests} request(s)"
    assert usage.prompt_tokens + usage.completion_tokens > 0 or usage.cost > 0, (
        "usage has no tokens and no cost although the service reported them"
    )


__all__ = [
    "CALL_BOUND",
    "ERROR_CASES",
    "FAST_SETTINGS",
    "Call",
    "ErrorCase",
    "HttpFactory",
    "assert_no_secret",
    "captured_logs",
    "check_aclose_closes_sessions",
    "check_cancellation",
    "check_error_mapping",
    "check_loop_not_blocked",
    "check_retries_transient",
    "check_scenes_distinct",
    "check_size_and_seed",
    "check_usage_reported",
    "error_texts",
    "loop_lag",
    "serving",
    "tracked_sessions",
]
