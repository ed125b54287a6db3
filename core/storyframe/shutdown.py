"""Last-moment saves: what must be written if storyframe has to exit before its work ends.

A command that holds unsaved state registers a saver for as long as it holds it; when a stuck
provider keeps the run from stopping after Ctrl-C, the CLI calls every saver, then exits.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

log = logging.getLogger("storyframe.shutdown")

_savers: list[Callable[[], None]] = []


@contextlib.contextmanager
def saving(saver: Callable[[], None]) -> Iterator[None]:
    """Keep ``saver`` registered for the length of the block."""
    _savers.append(saver)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            _savers.remove(saver)


def save_all() -> None:
    """Call every registered saver; one failing does not stop the others."""
    for saver in list(_savers):
        try:
            saver()
        except Exception as error:  # exiting anyway: say what could not be saved
            log.warning("could not save on exit: %s", error)


__all__ = ["save_all", "saving"]
