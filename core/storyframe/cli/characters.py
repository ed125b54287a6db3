"""``storyframe characters``: the reference sheets of a project's main characters.

Also what ``edit --character`` uses to change a character's look (see ``cli/review.py``).
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from storyframe.cli.base import (
    EXIT_DEGRADED,
    EXIT_PARTIAL,
    cli,
    common,
    print_table,
    run_sync,
    state_of,
)

if TYPE_CHECKING:
    from storyframe.models import Character, Storyboard, Style
    from storyframe.project import Project

LOOK_OPTIONS = ("look", "age", "build", "hair", "face", "clothes", "colours", "species")
"""The character fields ``edit --character`` can change, one option each."""

references_option = click.option(
    "--references/--no-references",
    "references",
    default=None,
    help="Draw a reference sheet per main character first and send the sheets with each "
    "scene (default: [image] references).",
)


def pick_character(board: Storyboard, project: Project, name: str) -> Character:
    """The character called ``name`` (or with that alias); a one-line error listing the names."""
    from storyframe.characters import require_character

    return require_character(board, name, project.folder)


def reseed_command(project: Project, name: str) -> str:
    """The command that redraws one character's sheet."""
    folder = shlex.quote(str(project.folder))
    return f"storyframe characters {folder} --character {shlex.quote(name)} --reseed"


def sheet_rows(board: Storyboard, project: Project, style: Style) -> list[dict[str, Any]]:
    """Each sheet as ``characters --json`` prints it."""
    from storyframe.characters import find_character, out_of_date
    from storyframe.prompts import look_text

    rows = []
    for sheet in board.sheets:
        character = find_character(board, sheet.name)
        rows.append(
            {
                "name": sheet.name,
                "status": sheet.status,
                "out_of_date": out_of_date(sheet, character, style),
                "look": look_text(character) if character else "",
                "image": str(project.folder / sheet.image.path) if sheet.image else None,
                "provider": sheet.provider,
                "model": sheet.model,
                "seed": sheet.seed,
                "cost": sheet.cost,
                "uploads": dict(sheet.uploads),
                "fallback": sheet.fallback.model_dump() if sheet.fallback else None,
                "error": sheet.error,
            }
        )
    return rows


@cli.command()
@click.argument("project_dir", metavar="PROJECT", type=click.Path(path_type=Path))
@click.option("--character", "name", help="Only this character (a name or an alias).")
@click.option("--reseed", is_flag=True, help="Redraw --character's sheet with a new seed.")
@click.option("--image-provider", "image_provider", help="Image providers to use, comma-separated.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option("--json", "as_json", is_flag=True, help="Print the sheets as JSON.")
@common
@click.pass_context
def characters(
    ctx: click.Context,
    project_dir: Path,
    name: str | None,
    reseed: bool,
    image_provider: str | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Draw the missing reference sheets of PROJECT's main characters and list them.

    A sheet is a neutral full-figure portrait on a plain background, in the story's style; with
    `--references` (or [image] references = true) scenes are drawn with the sheets of the
    characters in them. A re-run draws only missing sheets.
    """
    from storyframe.cli.options import open_project
    from storyframe.errors import InputError
    from storyframe.pipeline import Pipeline
    from storyframe.progress import make_reporter
    from storyframe.sheets import draw_sheets

    if reseed and not name:
        raise InputError("--reseed redraws one sheet.", hint="Add --character NAME.")
    state = state_of(ctx)
    config, registry, chain, project, board = open_project(state, project_dir, image_provider)
    only = pick_character(board, project, name) if name else None
    reporter = make_reporter(quiet=quiet or as_json)
    pipeline = Pipeline(config, registry=registry, reporter=reporter)
    try:
        with project.lock():
            board = project.load()
            result = run_sync(
                draw_sheets(
                    pipeline, project, board, image_providers=chain, only=only, reseed=reseed
                ),
                grace=config.run.interrupt_grace,
            )
    finally:
        reporter.close()
    style = registry.style(board.settings.style)
    rows = sheet_rows(board, project, style)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "project": str(project.folder),
                    "drawn": result.done,
                    "kept": result.kept,
                    "recovered": result.recovered,
                    "failed": result.failed,
                    "fallbacks": {k: v.model_dump() for k, v in result.fallbacks.items()},
                    "spent": result.spent,
                    "sheets": rows,
                },
                indent=2,
            )
        )
    elif not quiet:
        if rows:
            print_table(
                [
                    {
                        "character": r["name"],
                        "status": r["status"]
                        + (", fallback" if r["fallback"] else "")
                        + (", out of date" if r["out_of_date"] else ""),
                        "provider": r["provider"] or "-",
                        "seed": "-" if r["seed"] is None else r["seed"],
                        "image": Path(r["image"]).name if r["image"] else "-",
                    }
                    for r in rows
                ],
                ["character", "status", "provider", "seed", "image"],
            )
        else:
            click.echo("No main characters: the story's analysis names none that a scene shows.")
        click.echo(f"{len(result.done)} sheet(s) drawn, {len(result.kept)} kept.")
    for row in rows:
        if row["out_of_date"] and not quiet:
            click.echo(
                f"The sheet of {row['name']} is out of date (its look changed); redraw it: "
                f"{reseed_command(project, row['name'])}",
                err=True,
            )
    if result.failed:
        for who, error in result.failed.items():
            click.echo(f"Error: the sheet of {who} failed: {error}", err=True)
        sys.exit(EXIT_PARTIAL)
    if result.fallbacks:
        for who, fallback in result.fallbacks.items():
            click.echo(
                f"Warning: the sheet of {who} was drawn by {fallback.provider} after "
                f"{fallback.after} failed: {fallback.reason}. Redraw it with "
                f"{reseed_command(project, who)}.",
                err=True,
            )
        sys.exit(EXIT_DEGRADED)


def edit_character(project: Project, name: str, changes: dict[str, str], registry: Any) -> None:
    """``edit --character NAME --look ...``: change the character bible; say when a drawn
    sheet no longer matches the look and how to redraw it."""
    from storyframe.characters import out_of_date
    from storyframe.cli.review import _save
    from storyframe.errors import InputError

    if not changes:
        raise InputError(
            "nothing to change.",
            hint="Give at least one of " + ", ".join(f"--{k}" for k in LOOK_OPTIONS) + ".",
        )
    project.load()  # a missing or broken project is refused before the lock makes a folder
    with project.lock():
        board = project.load()
        character = pick_character(board, project, name)
        changed = [k for k in LOOK_OPTIONS if k in changes and getattr(character, k) != changes[k]]
        for key in changed:
            setattr(character, key, changes[key].strip())
        if changed:
            _save(project, board)
    if not changed:
        click.echo(f"{character.name} unchanged.")
        return
    click.echo(f"{character.name}: changed {', '.join(changed)}.")
    sheet = next((s for s in board.sheets if s.name == character.name), None)
    if sheet is None or sheet.image is None:
        return
    if out_of_date(sheet, character, registry.style(board.settings.style)):
        click.echo(
            f"The sheet of {character.name} is now out of date; redraw it: "
            f"{reseed_command(project, character.name)}"
        )
