"""The ``storyframe`` command group and what every command shares: options, errors, logging.

Errors are one line on stderr with a meaningful exit code; ``-v/--verbose`` adds tracebacks and
debug logs. ``asyncio.run`` is called once per command, here at the edge.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from storyframe import __version__
from storyframe.errors import StoryframeError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PROJECT = 3
EXIT_PARTIAL = 4
EXIT_DEGRADED = 5
EXIT_BUDGET = 6
"""``--max-cost`` stopped the run: what was drawn is saved, the rest is left to draw."""
EXIT_INTERRUPTED = 130

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class State:
    """Options shared by every command."""

    def __init__(self) -> None:
        self.verbose = False
        self.config_path: Path | None = None

    def config(self) -> Any:
        """The loaded configuration."""
        from storyframe.config import load_config

        return load_config(self.config_path)


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(State).verbose = True


def _set_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.ensure_object(State).config_path = value


_verbose_option = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_verbose,
    help="Show debug logs and tracebacks.",
)
_config_option = click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    expose_value=False,
    callback=_set_config,
    help="Config file (default: $STORYFRAME_CONFIG, then ./storyframe.toml, then the user "
    "config dir).",
)


def common(func: F) -> F:
    """Accept ``-v`` and ``--config`` after the command name too."""
    return _config_option(_verbose_option(func))


class StoryframeGroup(click.Group):
    """A click group that turns storyframe errors into one line and an exit code.

    Plugin commands are added on first need: when a name is not a built-in command, or when
    the commands are listed (``--help``). Only the entry-point modules load then; no provider.
    """

    _plugin_host: object = None
    _plugin_commands: frozenset[str] = frozenset()

    def _add_plugin_commands(self) -> None:
        from storyframe.plugins import get_host

        host = get_host(collect=False)
        if host is self._plugin_host:
            return
        for name in self._plugin_commands:  # another host's (tests reload plugins)
            self.commands.pop(name, None)
        before = set(self.commands)
        host.add_commands(self)
        self._plugin_host = host
        self._plugin_commands = frozenset(set(self.commands) - before)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self._add_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def main(  # type: ignore[override]
        self, args: list[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> None:
        extra.pop("standalone_mode", None)
        arguments = sys.argv[1:] if args is None else list(args)
        verbose = "-v" in arguments or "--verbose" in arguments
        try:
            result = super().main(arguments, prog_name, standalone_mode=False, **extra)
            sys.exit(result if isinstance(result, int) else EXIT_OK)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.UsageError as error:
            click.echo(f"Error: {_usage_line(error)}", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except (click.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            click.echo(
                "storyframe: interrupted; finished scenes are saved. Run the same command "
                "again to continue.",
                err=True,
            )
            sys.exit(EXIT_INTERRUPTED)
        except StoryframeError as error:
            if verbose:
                traceback.print_exc()
            click.echo(f"Error: {error.one_line()}", err=True)
            sys.exit(error.exit_code)
        except Exception as error:
            if verbose:
                traceback.print_exc()
            from storyframe.secrets import redact

            hint = "" if verbose else " Run again with -v for the traceback."
            click.echo(
                f"Error: unexpected {type(error).__name__}: {redact(str(error))}.{hint}",
                err=True,
            )
            sys.exit(EXIT_ERROR)


def _usage_line(error: click.UsageError) -> str:
    """A usage error as one line: the message and the help command to read."""
    message = " ".join(error.format_message().split()).rstrip(".")
    path = error.ctx.command_path if error.ctx is not None else "storyframe"
    return f"{message} (see '{path} --help')"


def run_sync(coro: Coroutine[Any, Any, T], *, grace: float = 5.0) -> T:
    """Run a coroutine to the end: the one event loop of a command (see ``cli.runner``)."""
    from storyframe.cli.runner import run_sync as run

    return run(coro, grace=grace)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (tests swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _VerboseFilter(logging.Filter):
    """Debug records of storyframe and of every loaded plugin; info and up from anyone."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.INFO:
            return True
        from storyframe.plugins import plugin_packages

        return record.name.split(".")[0] in {"storyframe", *plugin_packages()}


def setup_logging(verbose: bool) -> None:
    """Send log records to stderr, redacted: warnings and up; with ``-v``, debug records too.

    The handler sits on the root logger, so plugins' own loggers (any name) are shown; at
    ``-v`` the debug records of libraries that are not plugins are left out.
    """
    from storyframe.secrets import RedactingFilter

    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("storyframe: %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    if verbose:
        handler.addFilter(_VerboseFilter())
    handler.set_name("storyframe")
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "storyframe"] + [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    for name in ("storyframe", "storyframe_openrouter", "storyframe_runware"):
        own = logging.getLogger(name)
        own.handlers.clear()
        own.setLevel(logging.NOTSET)
        own.propagate = True


@click.group(cls=StoryframeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="storyframe")
@common
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Turn a story into an illustrated storyboard.

    Works offline with no API key (heuristic scenes, placeholder images); set
    OPENROUTER_API_KEY and RUNWARE_API_KEY to use real models.
    """
    state = ctx.ensure_object(State)
    setup_logging(state.verbose)


def state_of(ctx: click.Context) -> State:
    """The shared options, with logging set up for them."""
    state = ctx.ensure_object(State)
    setup_logging(state.verbose)
    return state


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Print rows as aligned columns with a header."""
    cells = [[c.upper().replace("_", " ") for c in columns]] + [
        ["yes" if r[c] is True else "no" if r[c] is False else str(r[c]) for c in columns]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for row in cells:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
