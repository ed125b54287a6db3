"""The ``storyframe`` command line (click): one module per group of commands.

Errors are one line on stderr with a meaningful exit code; ``-v/--verbose`` adds tracebacks and
debug logs. ``asyncio.run`` is called once per command, at the edge.
"""

from __future__ import annotations

import gc

from storyframe.cli import (
    characters,
    export,
    images,
    info,
    install,
    keys,
    projects,
    review,
    takes,
)
from storyframe.cli.base import (
    EXIT_BUDGET,
    EXIT_DEGRADED,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PROJECT,
    EXIT_USAGE,
    cli,
)


def main() -> None:
    """Console-script entry point.

    Plugin commands are added by the group when first needed (see ``StoryframeGroup``), so
    commands that need no plugin start without loading any.
    """
    try:
        cli.main(prog_name="storyframe")
    finally:
        # The process ends here. Frozen objects are skipped by the interpreter's last garbage
        # collection, which would otherwise walk every module and pydantic schema (tens of ms,
        # longer than a listing command takes). Files are closed and journals written by now.
        gc.freeze()


__all__ = [
    "EXIT_BUDGET",
    "EXIT_DEGRADED",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_PROJECT",
    "EXIT_USAGE",
    "characters",
    "cli",
    "export",
    "images",
    "info",
    "install",
    "keys",
    "main",
    "projects",
    "review",
    "takes",
]
