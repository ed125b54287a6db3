"""What ``run`` and ``images`` print when they end, and the exit code that says how it went."""

from __future__ import annotations

import json
import shlex
import sys
from typing import Any

import click

from storyframe.cli.base import EXIT_DEGRADED, EXIT_PARTIAL


def finish(
    summary: Any,
    *,
    as_json: bool,
    quiet: bool,
    asked: tuple[int, ...] = (),
) -> None:
    """Print the summary; exit 6 when the budget stopped it, 4 when scenes failed, 5 when
    fallbacks did work (degraded)."""
    unapproved = sorted(summary.unapproved)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
    elif not quiet:
        drawn = len(summary.done) + len(summary.kept)
        line = f"{drawn} of {summary.total} scenes drawn"
        if summary.degraded:
            line += f"; {summary.degradation()}"
        if summary.kept:
            line += f" ({len(summary.kept)} kept from before)"
        if unapproved:
            line += f", {len(unapproved)} not approved"

        if summary.recovered:
            line += f" ({len(summary.recovered)} recovered, paid for in an earlier run)"
        if summary.held:
            line += f", {len(summary.held)} left by the budget"
        if summary.cost_text:
            line += f"; {summary.cost_text}"
        click.echo(f"{line}. Storyboard: {summary.project / 'index.html'}")
    refused = [n for n in unapproved if n in asked]
    if refused:
        numbers = " ".join(map(str, refused))
        plural = "s" if len(refused) > 1 else ""
        click.echo(
            f"scene{plural} {', '.join(map(str, refused))} {'are' if plural else 'is'} not "
            f"approved; run `storyframe approve {shlex.quote(str(summary.project))} {numbers}` "
            "first.",
            err=True,
        )
    if summary.held:
        from storyframe.cli.costs import budget_stop

        for number, error in sorted(summary.failed.items()):
            click.echo(f"Error: scene {number} failed: {error}", err=True)
        budget_stop(summary)
    if summary.failed:
        for number, error in sorted(summary.failed.items()):
            click.echo(f"Error: scene {number} failed: {error}", err=True)
        click.echo("Error: some scenes failed; run the same command again to retry them.", err=True)
        sys.exit(EXIT_PARTIAL)
    if summary.degraded:
        if quiet and not as_json:
            click.echo(f"Warning: degraded run: {summary.degradation()}.", err=True)
        click.echo(
            "Warning: fallbacks did part of the work. Run the same command again to retry "
            "those scenes with the preferred providers, or add --keep-fallbacks to keep them.",
            err=True,
        )
        sys.exit(EXIT_DEGRADED)
