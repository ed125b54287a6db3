"""Running a command's coroutine: the one event loop, and what Ctrl-C does to it.

The first Ctrl-C stops new work and cancels the calls in flight; the command then saves and
exits 130. A provider that swallows its cancellation cannot hold the run: after
``[run] interrupt_grace`` seconds, or at a second Ctrl-C, storyframe saves what it holds and exits
130 at once. Tasks a provider abandoned past its deadline are not waited for at the end either.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

from storyframe import shutdown

T = TypeVar("T")

EXIT_INTERRUPTED = 130
LEFTOVER_WAIT = 1.0


def run_sync(coro: Coroutine[Any, Any, T], *, grace: float = 5.0) -> T:
    """Run ``coro`` to the end in a new event loop; Ctrl-C as described above."""
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet)
    main = loop.create_task(coro)
    interrupts = 0

    def on_interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            _exit_now("interrupted again")
        _say("stopping: cancelling the work in flight (Ctrl-C again to quit at once)")
        main.cancel()
        loop.call_later(grace, _exit_now, f"the work in flight did not stop within {grace:g} s")

    installed = True
    try:
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
        installed = False
    try:
        return loop.run_until_complete(main)
    except asyncio.CancelledError:
        if interrupts:
            raise KeyboardInterrupt from None
        raise
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
        _close(loop)


def _close(loop: asyncio.AbstractEventLoop) -> None:
    leftovers = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        # A task that swallows its cancellation is left behind, never waited for.
        loop.run_until_complete(asyncio.wait(leftovers, timeout=LEFTOVER_WAIT))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def _quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # Abandoned provider calls are destroyed pending at exit: expected, not worth a warning.
    if "Task was destroyed but it is pending" in str(context.get("message", "")):
        return
    loop.default_exception_handler(context)


def _say(message: str) -> None:
    sys.stderr.write(f"storyframe: {message}\n")
    sys.stderr.flush()


def _exit_now(why: str) -> None:
    shutdown.save_all()
    _say(f"interrupted ({why}); finished scenes are saved. Run the same command again to continue.")
    sys.stdout.flush()
    os._exit(EXIT_INTERRUPTED)


__all__ = ["run_sync"]
