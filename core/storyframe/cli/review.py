"""Reviewing a project from the command line: ``show``, ``edit``, ``approve``, ``reject``.

Every change goes through ``Project.save`` (atomic) under the project lock, then rebuilds
``index.html``, so the page always matches the manifest.
"""

from __future__ import annotations

import json
import shlex
import shutil
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from storyframe.cli.base import cli, common, print_table, state_of

if TYPE_CHECKING:
    from storyframe.models import SceneRecord, Storyboard
    from storyframe.project import Project

_project_argument = click.argument(
    "project_dir", metavar="PROJECT", type=click.Path(path_type=Path)
)


def scene_range(board: Storyboard) -> str:
    """The scene numbers a project has, as ``1 to 8`` (or a list when there are gaps)."""
    numbers = sorted(r.scene.number for r in board.scenes)
    if not numbers:
        return "no scenes"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]} to {numbers[-1]}" if len(numbers) > 1 else f"only {numbers[0]}"
    return ", ".join(map(str, numbers))


def pick(board: Storyboard, project: Project, numbers: tuple[int, ...]) -> list[SceneRecord]:
    """The records of ``numbers``; one ``InputError`` naming the unknown ones and the range."""
    from storyframe.errors import InputError

    known = {r.scene.number: r for r in board.scenes}
    unknown = [n for n in dict.fromkeys(numbers) if n not in known]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise InputError(
            f"{project.folder} has no scene{plural} {', '.join(map(str, unknown))}; "
            f"its scenes are {scene_range(board)}.",
            hint="Pick a number from `storyframe show PROJECT`.",
        )
    return [known[n] for n in dict.fromkeys(numbers)]


def _save(project: Project, board: Storyboard) -> None:
    """Save the manifest and rebuild the page."""
    from storyframe.errors import ProjectError
    from storyframe.render import write_html

    project.save(board)
    try:
        write_html(board, project.folder)
    except OSError as error:
        raise ProjectError(f"cannot write {project.html_path}: {error}.") from None


def scene_dict(record: SceneRecord, project: Project) -> dict[str, Any]:
    """One scene as ``show --json`` prints it."""
    scene = record.scene
    image = str(project.folder / record.image.path) if record.image else None
    return {
        "number": scene.number,
        "title": scene.title,
        "description": scene.description,
        "image_prompt": scene.image_prompt,
        "shot": scene.shot,
        "camera": scene.camera,
        "characters": scene.characters,
        "place": scene.place,
        "time_of_day": scene.time_of_day,
        "approved": record.approved,
        "status": record.status,
        "prompt": record.prompt,
        "negative_prompt": record.negative_prompt,
        "provider": record.provider,
        "model": record.model,
        "cost": record.cost,
        "seed": record.seed,
        "seconds": record.seconds,
        "image": image,
        "error": record.error,
        "attempts": record.attempts,
        "variants": variant_dicts(record, project),
        "references": record.references,
    }


def variant_dicts(record: SceneRecord, project: Project) -> list[dict[str, Any]]:
    """Every image drawn for the scene, numbered from 1, and which one is chosen."""
    from storyframe.takes import chosen_number, ensure_variants

    ensure_variants(record)
    chosen = chosen_number(record)
    return [
        {
            "number": number,
            "chosen": number == chosen,
            "seed": variant.seed,
            "provider": variant.provider,
            "model": variant.model,
            "cost": variant.cost,
            "image": str(project.folder / variant.image.path),
            "prompt": variant.prompt,
            "created_at": variant.created_at.isoformat(),
        }
        for number, variant in enumerate(record.variants, 1)
    ]


def _cost(cost: float | None) -> str:
    if cost is None:
        return ""
    return f"${cost:.4f}" if cost else "$0"


def _width() -> int:
    return max(40, min(100, shutil.get_terminal_size((88, 24)).columns))


def _print_scene(record: SceneRecord, board: Storyboard, project: Project) -> None:
    data = scene_dict(record, project)
    status = data["status"] if record.approved else f"{data['status']}, not approved"
    click.echo(f"Scene {data['number']} of {len(board.scenes)}: {data['title']}")
    rows = [
        ("status", status),
        ("provider", " ".join(p for p in (data["provider"], data["model"]) if p)),
        ("cost", _cost(data["cost"])),
        ("seed", "" if data["seed"] is None else str(data["seed"])),
        ("image", data["image"] or ""),
        ("shot", data["shot"]),
        ("camera", data["camera"]),
        ("place", data["place"]),
        ("time", data["time_of_day"]),
        ("characters", ", ".join(data["characters"])),
        ("references", ", ".join(data["references"])),
        ("error", data["error"] or ""),
    ]
    for label, value in rows:
        if value:
            click.echo(f"  {label:<11}{value}")
    _print_variants(data["variants"])
    for label, text in (
        ("Description", data["description"]),
        ("Image prompt", data["image_prompt"]),
        ("Prompt sent", data["prompt"] if data["prompt"] != data["image_prompt"] else ""),
    ):
        if text:
            click.echo(f"\n{label}:")
            for paragraph in text.splitlines() or [""]:
                click.echo(
                    textwrap.fill(
                        paragraph, width=_width(), initial_indent="  ", subsequent_indent="  "
                    )
                )


def _print_variants(variants: list[dict[str, Any]]) -> None:
    """The scene's variants as a small table (only when it has more than one)."""
    if len(variants) < 2:
        return
    click.echo("\nVariants (`storyframe pick PROJECT SCENE VARIANT` chooses one):")
    cells = [["", "VARIANT", "SEED", "PROVIDER", "COST", "FILE"]] + [
        [
            "*" if v["chosen"] else "",
            str(v["number"]),
            "-" if v["seed"] is None else str(v["seed"]),
            " ".join(p for p in (v["provider"], v["model"]) if p) or "-",
            _cost(v["cost"]) or "-",
            v["image"],
        ]
        for v in variants
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    for row in cells:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo(f"  {line}".rstrip())
    click.echo("  (* chosen)")


@cli.command()
@_project_argument
@click.argument("number", type=int, required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common
@click.pass_context
def show(ctx: click.Context, project_dir: Path, number: int | None, as_json: bool) -> None:
    """Show scene NUMBER of PROJECT: text, prompt, status, provider, cost, seed, image.

    Without NUMBER, list the scenes.
    """
    from storyframe.project import Project

    state_of(ctx)
    project = Project(project_dir)
    board = project.load()
    if number is None:
        records = sorted(board.scenes, key=lambda r: r.scene.number)
        if as_json:
            click.echo(json.dumps([scene_dict(r, project) for r in records], indent=2))
            return
        rows = [
            {
                "scene": r.scene.number,
                "status": r.status,
                "approved": r.approved,
                "shot": r.scene.shot or "-",
                "title": r.scene.title,
            }
            for r in records
        ]
        print_table(rows, ["scene", "status", "approved", "shot", "title"])
        return
    (record,) = pick(board, project, (number,))
    if as_json:
        click.echo(json.dumps(scene_dict(record, project), indent=2))
    else:
        _print_scene(record, board, project)


_EDITABLE = ("title", "description", "image_prompt", "shot", "camera")


@cli.command()
@_project_argument
@click.argument("number", type=int, required=False)
@click.option("--title", help="The scene's title.")
@click.option("--description", help="The scene's text (caption).")
@click.option("--prompt", "image_prompt", help="The scene's image prompt.")
@click.option("--shot", help='Framing: "wide", "medium", "close-up", ... ("" to clear).')
@click.option("--camera", help='Camera angle: "low angle", "eye level", ... ("" to clear).')
@click.option("--character", help="Edit this character's look instead of a scene (name or alias).")
@click.option("--look", help="With --character: the look in free words.")
@click.option("--age", help="With --character: age.")
@click.option("--build", help="With --character: build.")
@click.option("--hair", help="With --character: hair.")
@click.option("--face", help="With --character: face.")
@click.option("--clothes", help="With --character: clothes.")
@click.option("--colours", help="With --character: colours.")
@click.option("--species", help="With --character: species (animals and other non-humans).")
@common
@click.pass_context
def edit(
    ctx: click.Context,
    /,
    project_dir: Path,
    number: int | None,
    character: str | None,
    **changes: str | None,
) -> None:
    """Change scene NUMBER of PROJECT; a changed prompt, shot or camera redraws it next time.

    With --character NAME instead of NUMBER, change that character's look (--look, --age,
    --hair, --clothes, ...) in the character bible.
    """
    from pydantic import ValidationError

    from storyframe.cli.characters import LOOK_OPTIONS, edit_character
    from storyframe.errors import InputError
    from storyframe.project import Project

    state = state_of(ctx)
    looks = {k: changes.pop(k) for k in LOOK_OPTIONS}
    if character is not None:
        scene_options = [f"--{k}" for k, v in changes.items() if v is not None]
        if number is not None or scene_options:
            raise InputError(
                "--character edits a character, not a scene.",
                hint="Leave out NUMBER and the scene options, or edit the scene on its own.",
            )
        from storyframe.registry import Registry

        wanted_looks = {k: v for k, v in looks.items() if v is not None}
        registry = Registry(state.config())
        edit_character(Project(project_dir), character, wanted_looks, registry)
        return
    if number is None or any(v is not None for v in looks.values()):
        raise InputError(
            "give a scene NUMBER, or --character NAME for the look options.",
            hint="See `storyframe edit --help`.",
        )
    wanted = {k: v for k, v in changes.items() if v is not None}
    if not wanted:
        raise InputError(
            "nothing to change.",
            hint="Give at least one of --title, --description, --prompt, --shot, --camera.",
        )
    project = Project(project_dir)
    project.load()  # a missing or broken project is refused before the lock makes a folder
    with project.lock():
        board = project.load()
        (record,) = pick(board, project, (number,))
        scene = record.scene
        changed = [k for k in _EDITABLE if k in wanted and getattr(scene, k) != wanted[k]]
        for key in changed:
            try:
                setattr(scene, key, wanted[key])
            except ValidationError as error:
                option = "--prompt" if key == "image_prompt" else f"--{key}"
                reason = error.errors()[0]["msg"].removeprefix("Value error, ")
                raise InputError(f"{option}: {reason}.", hint="Give some text.") from None
        if changed:
            _save(project, board)
    if not changed:
        click.echo(f"Scene {number} unchanged.")
        return
    names = ", ".join("prompt" if k == "image_prompt" else k for k in changed)
    click.echo(f"Scene {number}: changed {names}.")
    redraw = {"image_prompt", "shot", "camera"} & set(changed)
    if redraw and record.status == "done":
        click.echo(
            f"Its image no longer matches; `storyframe images {shlex.quote(str(project.folder))}` "
            "draws it again."
        )


def _set_approval(
    ctx: click.Context, project_dir: Path, numbers: tuple[int, ...], on: bool
) -> None:
    from storyframe.project import Project

    state_of(ctx)
    project = Project(project_dir)
    project.load()  # a missing or broken project is refused before the lock makes a folder
    with project.lock():
        board = project.load()
        records = pick(board, project, numbers)
        changed = [r.scene.number for r in records if r.approved != on]
        for record in records:
            record.approved = on
        if changed:
            _save(project, board)
    word = "approved" if on else "not approved"
    listed = ", ".join(str(r.scene.number) for r in records)
    plural = "s" if len(records) > 1 else ""
    click.echo(f"Scene{plural} {listed} {'are' if plural else 'is'} {word}.")
    folder = shlex.quote(str(project.folder))
    pending = [r.scene.number for r in records if on and r.status != "done"]
    if pending:
        click.echo(f"Draw {'them' if len(pending) > 1 else 'it'}: storyframe images {folder}")


@cli.command()
@_project_argument
@click.argument("numbers", metavar="NUMBER...", type=int, nargs=-1, required=True)
@common
@click.pass_context
def approve(ctx: click.Context, project_dir: Path, numbers: tuple[int, ...]) -> None:
    """Approve scenes of PROJECT, so `storyframe images` draws them."""
    _set_approval(ctx, project_dir, numbers, True)


@cli.command()
@_project_argument
@click.argument("numbers", metavar="NUMBER...", type=int, nargs=-1, required=True)
@common
@click.pass_context
def reject(ctx: click.Context, project_dir: Path, numbers: tuple[int, ...]) -> None:
    """Mark scenes of PROJECT as not approved: they are not drawn (a drawn image is kept)."""
    _set_approval(ctx, project_dir, numbers, False)
