"""Instruments for the checks: log capture, error texts, a loop-lag probe, session tracking."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import aiohttp

from storyframe.testing.samples import FAKE_SECRET


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.texts.append(text)


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Every log record (debug included) emitted inside the block, as text."""
    handler = _Collect()
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and (logger.level or not logger.propagate)
    ]
    saved = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        if logger is logging.getLogger() or not logger.propagate:
            logger.addHandler(handler)
    try:
        yield handler.texts
    finally:
        for logger, level in saved:
            logger.setLevel(level)
            logger.removeHandler(handler)


def error_texts(error: BaseException) -> list[str]:
    """Everything an error shows: message, repr, hint, arguments, and its causes'."""
    texts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), str(getattr(current, "hint", "") or "")]
        texts += [str(argument) for argument in current.args]
        current = current.__cause__ or current.__context__
    return texts


def assert_no_secret(texts: Sequence[str], where: str, secret: str = FAKE_SECRET) -> None:
    """No text shows the API key."""
    for text in texts:
        assert secret not in text, f"the API key shows in {where}: {text[:200]!r}"


@asynccontextmanager
async def loop_lag(interval: float = 0.005) -> AsyncIterator[list[float]]:
    """Measure, while the block runs, the longest time the event loop was late (seconds)."""
    worst = [0.0]
    last = [time.perf_counter()]

    async def probe() -> None:
        while True:
            await asyncio.sleep(interval)
            now = time.perf_counter()
            worst[0] = max(worst[0], now - last[0] - interval)
            last[0] = now

    task = asyncio.ensure_future(probe())
    try:
        yield worst
    finally:
        # Count a stall the probe had no chance to see (one at the very end of the block).
        worst[0] = max(worst[0], time.perf_counter() - last[0] - interval)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@contextmanager
def tracked_sessions() -> Iterator[list[aiohttp.ClientSession]]:
    """Every aiohttp ``ClientSession`` created inside the block."""
    sessions: list[aiohttp.ClientSession] = []
    original = aiohttp.ClientSession.__init__

    def init(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        sessions.append(self)

    aiohttp.ClientSession.__init__ = init  # type: ignore[method-assign]
    try:
        yield sessions
    finally:
        aiohttp.ClientSession.__init__ = original  # type: ignore[method-assign]


__all__ = [
    "assert_no_secret",
    "captured_logs",
    "error_texts",
    "loop_lag",
    "tracked_sessions",
]
