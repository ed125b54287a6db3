"""One exception hierarchy for storyframe, in the style of httpx.

Retry and fallback are decided from the class alone:

- ``retryable`` errors (:class:`Transient`, :class:`RateLimited`) are retried by the HTTP layer
  with backoff, then handed to the next provider in the chain;
- every other :class:`ProviderError` is not retried, and the chain moves on at once;
- :class:`ConfigError`, :class:`InputError` and :class:`ProjectError` stop the command with a
  one-line message.

Messages and reprs never contain secrets: they pass through :func:`storyframe.secrets.redact`.
"""

from __future__ import annotations

from typing import ClassVar

from storyframe.secrets import redact


class StoryframeError(Exception):
    """Base of every error storyframe raises on purpose.

    ``hint`` is a short "what to do" sentence shown after the message.
    """

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = redact(message)
        self.hint = redact(hint) if hint else None
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def one_line(self) -> str:
        """The message and the hint as one line, for the CLI."""
        text = self.message.replace("\n", " ")
        return f"{text} {self.hint}" if self.hint else text


class ConfigError(StoryframeError):
    """Configuration is missing, malformed, or names something that does not exist."""

    exit_code = 2


class InputError(StoryframeError):
    """The story file or a command-line value cannot be used."""

    exit_code = 2


class ProjectError(StoryframeError):
    """The project folder cannot be created, read or resumed."""

    exit_code = 3


class PluginError(StoryframeError):
    """A plugin failed to load or one of its hooks raised."""


class ProviderError(StoryframeError):
    """A provider failed to do a piece of work.

    ``provider`` names the provider, ``status`` the HTTP status if any, ``code`` the service's
    own error code if any.
    """

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.provider = provider
        self.status = status
        self.code = code
        self.exhausted = False
        """Set when the HTTP layer already spent its retries on this error."""
        self.cooldown = False
        """Set when the provider should not be asked again this run (a wait past the cap)."""
        self.resubmit_safe = False
        """Set when the service confirmed the work failed, so sending it again cannot pay twice."""

    def __repr__(self) -> str:
        parts = [repr(self.message)]
        if self.provider:
            parts.append(f"provider={self.provider!r}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class NotConfigured(ProviderError):
    """The provider lacks what it needs to run (usually an API key)."""


class AuthError(ProviderError):
    """The service refused the credentials (missing, invalid or revoked key)."""


class QuotaError(ProviderError):
    """The account is out of credits or over a spending limit."""


class InvalidRequest(ProviderError):
    """The service rejected the request as malformed (HTTP 400/404/422 class); not retried."""


class ContentRejected(ProviderError):
    """The service refused the prompt or the output on content-policy grounds."""


class BadResponse(ProviderError):
    """The service answered with something that is not what its API promises."""


class Transient(ProviderError):
    """A failure that may pass: a timeout, a reset connection, a 5xx, an overloaded service.

    ``retry_after`` is the delay in seconds the service asked for, if it said.
    """

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        provider: str | None = None,
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, code=code, hint=hint)
        self.retry_after = retry_after


class RateLimited(Transient):
    """The service asked to slow down (HTTP 429); honour ``retry_after``."""


class DeadlineExceeded(ProviderError):
    """A provider call ran past its ``deadline`` (polling included) and was abandoned."""


class ProviderCrashed(ProviderError):
    """A provider raised something outside this hierarchy (a bug in it, or in its plugin)."""


__all__ = [
    "AuthError",
    "BadResponse",
    "ConfigError",
    "ContentRejected",
    "DeadlineExceeded",
    "InputError",
    "InvalidRequest",
    "NotConfigured",
    "PluginError",
    "ProjectError",
    "ProviderCrashed",
    "ProviderError",
    "QuotaError",
    "RateLimited",
    "StoryframeError",
    "Transient",
]
