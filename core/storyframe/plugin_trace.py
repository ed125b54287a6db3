"""Hook tracing (``STORYFRAME_TRACE_PLUGINS=1``): every hook call on stderr with the
implementations it runs, what it registered or raised, and how long it took."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pluggy


class HookTracer:
    """Prints trace lines for a :class:`~storyframe.plugins.PluginHost` when ``enabled``."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.added: list[str] = []
        """What the hook being called registered so far (set by the host)."""
        self._started = 0.0

    def say(self, message: str, started: float | None = None) -> None:
        """Print one trace line, with the time since ``started`` if given."""
        if self.enabled:
            took = f" in {(time.perf_counter() - started) * 1000:.2f} ms" if started else ""
            print(f"storyframe: trace: {message}{took}", file=sys.stderr)

    def before(
        self, hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]
    ) -> None:
        """pluggy's hook-call monitor, before the call."""
        names = ", ".join(f"{i.plugin_name} ({i.function.__module__})" for i in impls)
        self.say(f"{hook_name}({', '.join(kwargs)}) -> {names or 'no implementation'}")
        self._started = time.perf_counter()

    def after(
        self,
        outcome: pluggy.Result[Any],
        hook_name: str,
        impls: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, Any],
    ) -> None:
        """pluggy's hook-call monitor, after the call."""
        error = outcome.exception
        if error is not None:
            result = f"raised {type(error).__name__}: {error}"
        else:
            result = f"returned {outcome.get_result()!r}"
        if self.added:
            result += f", registered {', '.join(self.added)}"
        self.say(f"{hook_name} {result}", self._started)


__all__ = ["HookTracer"]
