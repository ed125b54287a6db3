"""``storyframe export``: a project as PDF, comic-book archive, zip, or contact sheet."""

from __future__ import annotations

from pathlib import Path

import click

from storyframe.cli.base import cli, common, state_of

_FORMATS = ("pdf", "cbz", "zip", "contact-sheet")


@cli.command()
@click.argument("project_dir", metavar="PROJECT", type=click.Path(path_type=Path))
@click.option(
    "-f", "--format", "fmt", type=click.Choice(_FORMATS), default="pdf", show_default=True,
    help="pdf: a page a scene; cbz: comic-book archive; zip: the folder; contact-sheet: a PNG.",
)  # fmt: skip
@click.option(
    "--per-page", type=int, default=1, show_default=True,
    help="PDF only: scenes a page, 1, 4 or 6 (storyboard sheets).",
)  # fmt: skip
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    help="File to write (default PROJECT/<slug>.<ext>).",
)
@common
@click.pass_context
def export(
    ctx: click.Context, project_dir: Path, fmt: str, per_page: int, out: Path | None
) -> None:
    """Export PROJECT offline: scenes with no image get a plain "not drawn" page."""
    from storyframe.export import export as write_export
    from storyframe.project import Project

    state_of(ctx)
    project = Project(project_dir)
    project.load()  # refuse a missing project before the lock makes its folder
    with project.lock():
        path, count = write_export(project, fmt, out=out, per_page=per_page)
    click.echo(f"{fmt}: {count} scenes -> {path}")
