"""``storyframe install`` / ``uninstall``: pip, run in storyframe's own environment.

Plugins must land where storyframe runs, so pip is run as ``sys.executable -m pip`` in a
subprocess (never inside this process), and its exit code is passed through.
"""

from __future__ import annotations

import subprocess
import sys

import click

from storyframe.cli.base import cli, common, state_of
from storyframe.errors import InputError, StoryframeError

GROUP = "storyframe"


def _plugin_names() -> set[str]:
    import importlib
    from importlib.metadata import entry_points

    importlib.invalidate_caches()
    return {ep.name for ep in entry_points(group=GROUP)}


def _pip(*arguments: str) -> int:
    """Run pip with ``arguments`` in this interpreter's environment; its exit code."""
    import importlib.util

    if importlib.util.find_spec("pip") is None:
        raise StoryframeError(
            f"pip is not installed in storyframe's environment ({sys.executable}).",
            hint="With uv, add plugins this way: uv tool install storyframe --with PACKAGE",
        )
    argv = [sys.executable, "-m", "pip", *arguments]
    return subprocess.run(argv, check=False).returncode


@cli.command()
@click.argument("packages", nargs=-1)
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade the packages to the newest version.")
@click.option(
    "-e",
    "--editable",
    "editable",
    multiple=True,
    metavar="PATH",
    help="Install the project at PATH in editable mode (repeatable).",
)
@click.option("--pre", is_flag=True, help="Include pre-release versions.")
@click.option("--no-cache-dir", is_flag=True, help="Do not use pip's cache.")
@common
@click.pass_context
def install(
    ctx: click.Context,
    packages: tuple[str, ...],
    upgrade: bool,
    editable: tuple[str, ...],
    pre: bool,
    no_cache_dir: bool,
) -> None:
    """Install PACKAGES (plugins) into storyframe's environment with pip."""
    state_of(ctx)
    if not packages and not editable:
        raise click.UsageError("name at least one package, or -e PATH", ctx=ctx)
    arguments = ["install"]
    arguments += ["--upgrade"] if upgrade else []
    arguments += ["--pre"] if pre else []
    arguments += ["--no-cache-dir"] if no_cache_dir else []
    for path in editable:
        arguments += ["--editable", path]
    before = _plugin_names()
    code = _pip(*arguments, *packages)
    if code != 0:
        sys.exit(code)
    added = sorted(_plugin_names() - before)
    if added:
        click.echo(f"Added storyframe plugin(s): {', '.join(added)}.", err=True)
    elif not upgrade:
        click.echo(
            "storyframe: warning: installed, but it adds no new storyframe plugin "
            "(already installed, or not a storyframe plugin).",
            err=True,
        )


@cli.command()
@click.argument("packages", nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@common
@click.pass_context
def uninstall(ctx: click.Context, packages: tuple[str, ...], yes: bool) -> None:
    """Uninstall PACKAGES (plugins) from storyframe's environment with pip."""
    state_of(ctx)
    if any(p.strip().lower().replace("_", "-") == "storyframe" for p in packages):
        raise InputError(
            "storyframe install/uninstall does not remove storyframe itself.",
            hint=f"Run: {sys.executable} -m pip uninstall storyframe",
        )
    code = _pip("uninstall", *packages, *(["--yes"] if yes else []))
    if code != 0:
        sys.exit(code)


__all__ = ["install", "uninstall"]
