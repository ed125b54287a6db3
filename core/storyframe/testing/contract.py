"""The checks every provider must pass, text or image: its contract and its behaviour.

See :mod:`storyframe.testing` for how a plugin's tests use them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr, ValidationError

from storyframe.errors import ProviderError
from storyframe.providers import (
    Capabilities,
    CheckResult,
    Provider,
    ProviderConfig,
    ProviderKind,
)
from storyframe.testing import checks
from storyframe.testing.checks import ERROR_CASES, ErrorCase, HttpFactory
from storyframe.testing.fake import FakeService, RecordedRequest, Reply
from storyframe.testing.samples import FAKE_SECRET, assert_identifier

ProviderFactory = Callable[[], Provider]


class _ProviderConformance:
    """Checks every provider must pass, text or image."""

    kind: ClassVar[ProviderKind]
    base: ClassVar[type[Provider]]
    provider_class: ClassVar[type[Provider] | None] = None
    """The provider under test, built with its default config and no key."""
    answer: Callable[[RecordedRequest], Reply] | None = None
    """For an HTTP provider: a method answering a request as the service does on success."""
    expected_errors: ClassVar[dict[str, tuple[type[ProviderError], ...]]] = {}
    """Error classes to accept instead of the default ones, by :data:`ERROR_CASES` name."""
    max_loop_lag: ClassVar[float] = 0.25
    """Seconds a call may hold the event loop at a stretch."""
    cancel_bound: ClassVar[float] = 1.0
    """Seconds a cancelled call may take to end."""

    @pytest.fixture
    def allowed_hosts(self, request: pytest.FixtureRequest) -> list[str]:
        """Under pytest-recording's ``--block-network``, the kit's fake service stays reachable."""
        extra = request.config.getoption("--allowed-hosts", default=None)
        return [r"^127\.0\.0\.1$", *(extra.split(",") if extra else [])]

    @pytest.fixture
    def http_factory(self) -> HttpFactory | None:
        """For a provider that talks HTTP: ``(base_url, api_key, **settings) -> provider``."""
        return None

    @pytest.fixture
    def provider_factory(
        self, request: pytest.FixtureRequest, http_factory: HttpFactory | None
    ) -> ProviderFactory:
        """A zero-argument callable that builds a fresh provider; override it as needed.

        By default: ``provider_class`` with its default config, else ``http_factory`` pointed
        at the ``fake_service`` fixture answering with :attr:`answer`.
        """
        cls = self.provider_class
        if cls is not None:
            return cls
        if http_factory is not None and self.answer is not None:
            try:
                service: FakeService = request.getfixturevalue("fake_service")
            except pytest.FixtureLookupError:
                pytest.fail(
                    'add pytest_plugins = ["storyframe.testing.plugin"] to the root conftest.py'
                )
            service.default = self.answer
            key = SecretStr(FAKE_SECRET)
            return lambda: http_factory(service.url, key, **checks.FAST_SETTINGS)
        pytest.fail(
            f"{type(self).__name__}: set provider_class, define http_factory and answer, or "
            "override the provider_factory fixture"
        )

    async def call(self, provider: Provider) -> Any:
        """The main piece of work the behaviour checks ask of a provider."""
        raise NotImplementedError

    def _http(self, http_factory: HttpFactory | None, *, answer: bool = False) -> HttpFactory:
        if http_factory is None:
            pytest.skip("not an HTTP provider (no http_factory fixture)")
        if answer and self.answer is None:
            pytest.skip("needs the service's success answer (define answer)")
        return http_factory

    @asynccontextmanager
    async def working(
        self, provider_factory: ProviderFactory, http_factory: HttpFactory | None
    ) -> AsyncIterator[tuple[Provider, FakeService | None]]:
        """A provider ready to work: against the fake service when it talks HTTP."""
        if http_factory is not None and self.answer is not None:
            async with checks.serving(http_factory, self.answer) as (provider, service):
                yield provider, service
            return
        provider = self.build(provider_factory)
        try:
            yield provider, None
        finally:
            await provider.aclose()

    def build(self, factory: ProviderFactory) -> Provider:
        """Build a provider with ``factory`` and check it is of the suite's kind."""
        provider = factory()
        assert isinstance(provider, self.base), (
            f"provider_factory returned {provider!r}, not a {self.base.__name__}"
        )
        return provider

    async def provider_type(self, factory: ProviderFactory) -> type[Provider]:
        """The class of the providers ``factory`` builds."""
        provider = self.build(factory)
        await provider.aclose()
        return type(provider)

    @pytest.mark.asyncio
    async def test_identity(self, provider_factory: ProviderFactory) -> None:
        """``name`` is a lowercase identifier, ``kind`` matches the base class."""
        cls = await self.provider_type(provider_factory)
        assert_identifier(getattr(cls, "name", None), f"{cls.__name__}.name")
        assert cls.kind == self.kind, f"{cls.__name__}.kind is {cls.kind!r}, not {self.kind!r}"
        assert isinstance(cls.description, str), "description must be a str"

    @pytest.mark.asyncio
    async def test_key_declaration(self, provider_factory: ProviderFactory) -> None:
        """A provider that needs a key names the environment variable that holds it."""
        cls = await self.provider_type(provider_factory)
        if cls.needs_key:
            assert isinstance(cls.key_env, str) and re.fullmatch(r"[A-Z][A-Z0-9_]*", cls.key_env), (
                f"{cls.__name__} needs a key, so key_env must name an upper-case variable"
            )
        else:
            assert cls.key_env is None or isinstance(cls.key_env, str)

    @pytest.mark.asyncio
    async def test_config_model_defaults(self, provider_factory: ProviderFactory) -> None:
        """``config_model`` subclasses ProviderConfig and every field has a valid default."""
        cls = await self.provider_type(provider_factory)
        model = cls.config_model
        assert isinstance(model, type) and issubclass(model, ProviderConfig), (
            f"{cls.__name__}.config_model must be a ProviderConfig subclass"
        )
        try:
            defaults = model.model_validate({})
        except ValidationError as error:
            pytest.fail(f"{model.__name__} does not validate with no keys set: {error}")
        assert model.model_validate(defaults.model_dump()) == defaults, (
            f"{model.__name__}'s defaults do not survive a dump and re-validation"
        )

    @pytest.mark.asyncio
    async def test_config_model_rejects_unknown_keys(
        self, provider_factory: ProviderFactory
    ) -> None:
        """A misspelt key in ``[providers.NAME]`` is an error, not silently ignored."""
        cls = await self.provider_type(provider_factory)
        with pytest.raises(ValidationError):
            cls.config_model.model_validate({"no_such_setting_xyz": 1})

    @pytest.mark.asyncio
    async def test_capabilities(self, provider_factory: ProviderFactory) -> None:
        """``capabilities`` is a Capabilities with a sensible size range."""
        cls = await self.provider_type(provider_factory)
        caps = cls.capabilities
        assert isinstance(caps, Capabilities), f"{cls.__name__}.capabilities is {caps!r}"
        assert 1 <= caps.min_size <= caps.max_size, f"bad size range in {caps!r}"
        assert caps.size_multiple >= 1, f"bad size_multiple in {caps!r}"
        assert isinstance(caps.summary(), str)

    @pytest.mark.asyncio
    async def test_model_name(self, provider_factory: ProviderFactory) -> None:
        """``model_name`` is a str (the manifest records it)."""
        provider = self.build(provider_factory)
        try:
            assert isinstance(provider.model_name, str), "model_name must be a str"
        finally:
            await provider.aclose()

    @pytest.mark.asyncio
    async def test_check(self, provider_factory: ProviderFactory) -> None:
        """``check()`` returns a CheckResult rather than raising."""
        provider = self.build(provider_factory)
        try:
            result = await provider.check()
        except Exception as error:
            pytest.fail(f"check() raised {type(error).__name__}: {error}; it must never raise")
        finally:
            await provider.aclose()
        assert isinstance(result, CheckResult), f"check() returned {result!r}"

    @pytest.mark.asyncio
    async def test_check_without_key(self, provider_factory: ProviderFactory) -> None:
        """Without its key, a provider that needs one reports ``ok=False`` and does not raise."""
        provider = self.build(provider_factory)
        cls = type(provider)
        await provider.aclose()
        if not cls.needs_key:
            pytest.skip(f"{cls.__name__} needs no key")
        keyless = cls(provider.config, None)
        try:
            result = await keyless.check()
        except Exception as error:
            pytest.fail(f"check() without a key raised {type(error).__name__}: {error}")
        finally:
            await keyless.aclose()
        assert isinstance(result, CheckResult), f"check() returned {result!r}"
        assert not result.ok, "check() without a key must not report ok"

    @pytest.mark.asyncio
    async def test_aclose_is_idempotent(self, provider_factory: ProviderFactory) -> None:
        """``aclose()`` may be called any number of times, and the provider is a context manager."""
        provider = self.build(provider_factory)
        await provider.aclose()
        await provider.aclose()
        async with self.build(provider_factory) as entered:
            assert isinstance(entered, self.base), "__aenter__ must return the provider"
        await entered.aclose()

    @pytest.mark.asyncio
    async def test_repr_hides_secret(self, provider_factory: ProviderFactory) -> None:
        """Neither ``repr()`` nor ``str()`` of a provider shows its API key."""
        provider = self.build(provider_factory)
        cls = type(provider)
        await provider.aclose()
        keyed = cls(provider.config, SecretStr(FAKE_SECRET))
        try:
            for text in (repr(keyed), str(keyed), repr(keyed.config)):
                assert FAKE_SECRET not in text, f"the API key shows in {text!r}"
        finally:
            await keyed.aclose()

    # Behaviour ---------------------------------------------------------------------------------

    @pytest.mark.asyncio
    @pytest.mark.parametrize("case", ERROR_CASES, ids=[case.name for case in ERROR_CASES])
    async def test_http_errors(self, http_factory: HttpFactory | None, case: ErrorCase) -> None:
        """Each staged HTTP failure raises its documented error class, never showing the key."""
        factory = self._http(http_factory)
        if case.name in self.expected_errors:
            case = dataclasses.replace(case, expected=self.expected_errors[case.name])
        await checks.check_error_mapping(factory, self.call, case)

    @pytest.mark.asyncio
    async def test_http_retries_transient(self, http_factory: HttpFactory | None) -> None:
        """A 503 followed by a good answer succeeds."""
        factory = self._http(http_factory, answer=True)
        assert self.answer is not None
        await checks.check_retries_transient(factory, self.call, self.answer)

    @pytest.mark.asyncio
    async def test_http_cancellation(self, http_factory: HttpFactory | None) -> None:
        """A call waiting on the service ends promptly, as cancelled, when it is cancelled."""
        factory = self._http(http_factory)
        await checks.check_cancellation(factory, self.call, self.cancel_bound)

    @pytest.mark.asyncio
    async def test_loop_not_blocked(
        self, provider_factory: ProviderFactory, http_factory: HttpFactory | None
    ) -> None:
        """A call never blocks the event loop for long."""
        async with self.working(provider_factory, http_factory) as (provider, _):
            await checks.check_loop_not_blocked(provider, self.call, self.max_loop_lag)

    @pytest.mark.asyncio
    async def test_work_hides_secret(
        self, provider_factory: ProviderFactory, http_factory: HttpFactory | None
    ) -> None:
        """Logs written during a successful call never show the key."""
        with checks.captured_logs() as logs:
            async with self.working(provider_factory, http_factory) as (provider, _):
                await self.call(provider)
                checks.assert_no_secret([repr(provider), str(provider)], "the provider's repr")
        checks.assert_no_secret(logs, "the logs")

    @pytest.mark.asyncio
    async def test_aclose_closes_sessions(
        self, provider_factory: ProviderFactory, http_factory: HttpFactory | None
    ) -> None:
        """After ``aclose()`` no aiohttp session the provider opened is left open."""
        async with self.working(provider_factory, http_factory) as (provider, _):
            await checks.check_aclose_closes_sessions(provider, self.call)


__all__ = ["ProviderFactory"]
