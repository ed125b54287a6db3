"""Running a chain of providers: each piece of work goes to the first provider that does it.

Every provider, bundled or third-party, is untrusted: each call runs through :func:`guarded`,
under its deadline, and whatever it raises is that provider's failure for that piece of work,
never the run's. A provider that is not configured (no key) is skipped with a one-line note; one
that fails hands the work to the next; which provider did each piece of work is recorded, and a
later provider doing the work because an earlier one failed is recorded as a fallback.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from storyframe.errors import (
    AuthError,
    ConfigError,
    DeadlineExceeded,
    NotConfigured,
    ProviderCrashed,
    ProviderError,
    QuotaError,
)
from storyframe.models import (
    Fallback,
    Scene,
    StoryAnalysis,
    Style,
    Usage,
)
from storyframe.providers import Provider, TextProvider

if TYPE_CHECKING:
    from storyframe.registry import Slot

P = TypeVar("P", bound=Provider)
T = TypeVar("T")
Notify = Callable[[str], None]

log = logging.getLogger("storyframe.chains")

# How long a provider call that swallows its cancellation is waited for before it is abandoned.
ABANDON_AFTER = 1.0

# Errors after which a provider is not asked again in the same run.
_DISABLING = (AuthError, QuotaError, NotConfigured)


async def guarded(
    provider: Provider, what: str, call: Callable[[], Awaitable[T]], plugin: str | None = None
) -> T:
    """Run one provider call as untrusted code: under its deadline, isolated from its bugs.

    Whatever the call raises that is not a :class:`ProviderError` becomes
    :class:`ProviderCrashed` naming the provider and its plugin (the traceback goes to the debug
    log). Past ``config.deadline`` seconds the call is cancelled and :class:`DeadlineExceeded`
    raised; a call that swallows its cancellation is abandoned, never waited for.
    """
    deadline = float(getattr(provider.config, "deadline", 900.0))
    task = asyncio.ensure_future(call())
    try:
        done, _ = await asyncio.wait({task}, timeout=deadline)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=ABANDON_AFTER)
        _silence(task)
        raise DeadlineExceeded(
            f"{provider.name}: {what} took longer than its deadline of {deadline:g} s",
            provider=provider.name,
            code="deadline",
            hint=f"Raise [providers.{provider.name}] deadline if the service is only slow.",
        )
    try:
        return task.result()
    except ProviderError as error:
        error.provider = error.provider or provider.name
        raise
    except Exception as error:
        origin = f" (plugin {plugin})" if plugin and plugin != provider.name else ""
        log.debug("%s%s raised during %s", provider.name, origin, what, exc_info=error)
        raise ProviderCrashed(
            f"{provider.name}{origin} raised {type(error).__name__} during {what}: {error}",
            provider=provider.name,
            code="crash",
            hint="Run with -v for the traceback; report it to the plugin's authors.",
        ) from None


def _silence(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned call's outcome whenever it comes, so nothing is logged for it."""
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


class Chain(Generic[P]):
    """Built providers of one chain, in order, with the bookkeeping of fallback.

    A provider is not asked again in the run after an auth or quota error, after asking for a
    wait longer than its ``retry_after_cap`` (a cooldown), or after ``breaker_failures`` failed
    pieces of work in a row (a circuit breaker); each is said in a note.
    """

    def __init__(self, slots: Sequence[Slot[P]], notify: Notify | None = None) -> None:
        self.notes: list[str] = []
        self._notify = notify
        self.providers: list[P] = []
        self.plugins: dict[str, str | None] = {}
        self.disabled: dict[str, str] = {}
        self._failures_in_a_row: dict[str, int] = {}
        for slot in slots:
            if slot.configured:
                self.providers.append(slot.build())
                self.plugins[slot.name] = slot.plugin
            else:
                self.note(f"{slot.name}: skipped, {slot.reason}")
        if not self.providers:
            raise ConfigError(
                f"no provider in the chain [{', '.join(s.name for s in slots)}] is configured.",
                hint="Add a built-in provider (heuristic, placeholder) to the chain or set a key.",
            )

    def note(self, message: str) -> None:
        """Record a one-line note about the chain and pass it to the listener."""
        self.notes.append(message)
        if self._notify:
            self._notify(message)

    def active(self) -> list[P]:
        """The providers still worth asking, in order."""
        return [p for p in self.providers if p.name not in self.disabled]

    def disable(self, provider: P, reason: str, *, say: bool = True) -> None:
        """Ask ``provider`` nothing more in this run, saying why."""
        if provider.name not in self.disabled:
            self.disabled[provider.name] = reason
            if say:
                self.note(f"{provider.name}: disabled for this run ({reason})")

    def succeeded(self, provider: P) -> None:
        """Reset the provider's run of failures."""
        self._failures_in_a_row[provider.name] = 0

    def failed(self, provider: P, error: ProviderError, what: str, *, say: bool = True) -> None:
        """Count a failure; rest the provider for the run if it cannot recover soon.

        ``say`` notes the failure itself; resting the provider is always said.
        """
        count = self._failures_in_a_row.get(provider.name, 0) + 1
        self._failures_in_a_row[provider.name] = count
        if say:
            self.note(f"{provider.name}: {what} failed ({type(error).__name__}: {error})")
        limit = int(getattr(provider.config, "breaker_failures", 5))
        if isinstance(error, _DISABLING):
            self.disable(provider, f"{type(error).__name__}: {error.message}")
        elif error.cooldown:
            self.disable(provider, f"cooling down, it asked to wait past its limits: {error}")
        elif count >= limit:
            self.disable(provider, f"circuit open after {count} failures in a row")

    async def call(self, provider: P, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run one call of ``provider`` through :func:`guarded`."""
        return await guarded(provider, what, call, self.plugins.get(provider.name))

    async def aclose(self) -> None:
        """Close every provider, each under the same isolation as its calls."""

        async def close(provider: P) -> None:
            try:
                await self.call(provider, "closing", provider.aclose)
            except ProviderError as error:
                log.debug("%s: %s", provider.name, error)

        await asyncio.gather(*(close(p) for p in self.providers))


class TextChain(Chain[TextProvider]):
    """The text chain: each call goes to the first provider that succeeds."""

    def __init__(self, slots: Sequence[Slot[TextProvider]], notify: Notify | None = None):
        super().__init__(slots, notify)
        self.used: dict[str, str] = {}
        self.fallbacks: dict[str, Fallback] = {}

    async def _first(
        self, what: str, call: Callable[[TextProvider], Awaitable[T]]
    ) -> tuple[T, str]:
        last: ProviderError | None = None
        first_failure: tuple[str, str] | None = next(iter(self.disabled.items()), None)
        candidates = self.active()
        for index, provider in enumerate(candidates):
            try:
                result = await self.call(provider, what, functools.partial(call, provider))
            except ProviderError as error:
                last = error
                first_failure = first_failure or (provider.name, error.one_line())
                if what != "prompt enhancement":
                    # A provider that failed a whole step after its retries is not asked again.
                    self.disable(provider, f"{what} failed: {error.one_line()}", say=False)
                self.failed(provider, error, what)
                if index + 1 < len(candidates):
                    self.note(f"{what}: falling back to {candidates[index + 1].name}")
                continue
            self.succeeded(provider)
            self.used[what] = provider.name
            if first_failure is not None and what != "prompt enhancement":
                failed_name, reason = first_failure
                self.fallbacks[what] = Fallback(
                    provider=provider.name, after=failed_name, reason=reason
                )
            return result, provider.name
        if last is None:
            raise ConfigError("every text provider is disabled for this run.")
        raise last

    async def analyze(self, story: str) -> tuple[StoryAnalysis, str]:
        """Analyse the story; returns the analysis and the provider that made it."""
        return await self._first("analysis", lambda p: p.analyze(story))

    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None
    ) -> tuple[list[Scene], str]:
        """Write the scenes; returns them and the provider that wrote them."""
        return await self._first(
            "scene writing", lambda p: p.generate_scenes(story, n, style, analysis)
        )

    async def enhance_prompt(
        self, scene: Scene, analysis: StoryAnalysis | None, style: Style
    ) -> str:
        """Improve one scene's image prompt (falls back to the prompt unchanged)."""
        try:
            prompt, _ = await self._first(
                "prompt enhancement", lambda p: p.enhance_prompt(scene, analysis, style)
            )
        except ProviderError:
            return scene.image_prompt
        return prompt

    def fallback(self) -> Fallback | None:
        """The fallback that wrote the scenes (or the analysis), if one did."""
        return self.fallbacks.get("scene writing") or self.fallbacks.get("analysis")

    def usage(self) -> Usage:
        """Tokens and cost summed over the chain's providers."""
        total = Usage()
        for provider in self.providers:
            total.add(provider.usage)
        return total


__all__ = ["ABANDON_AFTER", "Chain", "TextChain", "guarded"]
