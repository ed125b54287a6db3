"""The ``storyframe`` command line (click): one module per group of commands.

Errors are one line on stderr with a meaningful exit code; ``-v/--verbose`` adds tracebacks and
debug logs. ``asyncio.run`` is called once per command, at the edge.
"""

from __future__ import annotations

import sys

import click

from storyframe.cli import export, info, install, keys, projects, review
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
from storyframe.errors import StoryframeError


def _load_plugin_commands() -> None:
    try:
        from storyframe.plugins import get_host

        get_host().add_commands(cli)
    except StoryframeError as error:
        click.echo(f"Error: {error.one_line()}", err=True)
        sys.exit(error.exit_code)


def main() -> None:
    """Console-script entry point."""
    _load_plugin_commands()
    cli.main(prog_name="storyframe")


__all__ = [
    "EXIT_BUDGET",
    "EXIT_DEGRADED",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_PROJECT",
    "EXIT_USAGE",
    "cli",
    "export",
    "info",
    "install",
    "keys",
    "main",
    "projects",
    "review",
]
