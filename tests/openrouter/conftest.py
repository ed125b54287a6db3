"""Fixtures for the OpenRouter provider tests: keys, fast retry settings, the emulator, cassettes.

``OPENROUTER_API_KEY`` is read here, at import, because the suite-wide fixture removes it from
the environment before each test. With a real key, ``pytest tests/openrouter -m vcr
--record-mode=rewrite`` re-records the cassettes that can be recorded (see
docs/providers/openrouter.md); without one, a dummy key is used and cassettes replay.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from storyframe_openrouter.config import OpenRouterConfig, OpenRouterImageConfig
from storyframe_openrouter.image import OpenRouterImageProvider
from storyframe_openrouter.text import OpenRouterTextProvider
from tests.openrouter.emulator import OpenRouterEmulator

REAL_KEY = os.environ.get("OPENROUTER_API_KEY")
DUMMY_KEY = "dummy-openrouter-key"

FAST: dict[str, Any] = {
    "timeout": 5.0,
    "max_attempts": 4,
    "backoff_base": 0.01,
    "backoff_max": 0.02,
    "retry_after_cap": 0.05,
    "max_retry_seconds": 10.0,
}
"""Retry settings that keep fault tests fast (tiny backoff, tiny Retry-After cap)."""


@pytest.fixture
def api_key() -> SecretStr:
    """The real key when one was in the environment at start-up, else a dummy."""
    return SecretStr(REAL_KEY or DUMMY_KEY)


@pytest.fixture
async def emulator() -> AsyncIterator[OpenRouterEmulator]:
    """A running OpenRouter emulator on 127.0.0.1."""
    emu = OpenRouterEmulator()
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
async def make_text(
    emulator: OpenRouterEmulator,
) -> AsyncIterator[Callable[..., OpenRouterTextProvider]]:
    """Build text providers pointed at the emulator (fast retries); closed at teardown."""
    built: list[OpenRouterTextProvider] = []

    def make(key: str | None = None, **overrides: Any) -> OpenRouterTextProvider:
        config = OpenRouterConfig(base_url=emulator.base_url, **{**FAST, **overrides})
        provider = OpenRouterTextProvider(config, SecretStr(key or emulator.api_key))
        built.append(provider)
        return provider

    yield make
    for provider in built:
        await provider.aclose()


@pytest.fixture
async def make_image(
    emulator: OpenRouterEmulator,
) -> AsyncIterator[Callable[..., OpenRouterImageProvider]]:
    """Build image providers pointed at the emulator (fast retries); closed at teardown."""
    built: list[OpenRouterImageProvider] = []

    def make(**overrides: Any) -> OpenRouterImageProvider:
        config = OpenRouterImageConfig(base_url=emulator.base_url, **{**FAST, **overrides})
        provider = OpenRouterImageProvider(config, SecretStr(emulator.api_key))
        built.append(provider)
        return provider

    yield make
    for provider in built:
        await provider.aclose()


# --- cassettes ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vcr_config(vcr_config: dict[str, Any]) -> dict[str, Any]:
    """The suite's settings, matching on method, URI and the body fields that matter."""
    return {
        **vcr_config,
        "match_on": ["method", "uri", "openrouter_body"],
        "before_record_response": _scrub_response,
    }


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    vcr.register_matcher("openrouter_body", match_openrouter_body)


def body_fingerprint(body: Any) -> Any:
    """What must agree between a request and a cassette: everything but the prompt wording."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            return body
    if not isinstance(body, dict):
        return body
    fmt = body.get("response_format") or {}
    schema = fmt.get("json_schema") or {}
    return {
        "model": body.get("model"),
        "models": body.get("models"),
        "max_tokens": body.get("max_tokens"),
        "temperature": body.get("temperature"),
        "provider": body.get("provider"),
        "modalities": body.get("modalities"),
        "response_format": [fmt.get("type"), schema.get("name"), schema.get("strict")],
        "roles": [m.get("role") for m in body.get("messages") or []],
    }


def match_openrouter_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: raises AssertionError when the bodies' fingerprints differ."""
    left, right = body_fingerprint(r1.body), body_fingerprint(r2.body)
    assert left == right, f"{left} != {right}"


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """Drop cookies and Cloudflare ids from recorded responses."""
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in {"set-cookie", "cf-ray", "report-to", "nel"}:
            del headers[name]
    return response
