"""Another take of a scene, candidates per scene, and choosing among them.

``images --scene N --reseed | --seed S | --prompt TEXT`` draws a new take of scene N (kept
beside the earlier images, and chosen); ``--variants K`` on ``run`` and ``images`` draws K
candidates per scene; ``storyframe pick PROJECT N V`` chooses variant V of scene N.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from storyframe.cli.base import cli, common, state_of

if TYPE_CHECKING:
    from storyframe.models import Storyboard
    from storyframe.takes import Take

F = TypeVar("F", bound=Callable[..., Any])

MAX_VARIANTS = 16
MAX_SEED = 2**31 - 1  # storyframe.prompts.MAX_SEED (not imported: it loads the models)

variants_option = click.option(
    "--variants",
    type=click.IntRange(1, MAX_VARIANTS),
    metavar="K",
    help="Draw K candidate images per scene, each with its own seed (default: [run] variants). "
    "The first drawn is chosen; `storyframe pick` chooses another. Drawn ones are not drawn "
    "again.",
)


def take_options(func: F) -> F:
    """``--reseed``, ``--seed`` and ``--prompt`` of ``images``."""
    decorators = [
        click.option(
            "--reseed",
            is_flag=True,
            help="Draw a new take of --scene N with a seed none of its images has; the "
            "current image is kept as a variant.",
        ),
        click.option(
            "--seed",
            "take_seed",
            type=click.IntRange(0, MAX_SEED),
            help="Draw a new take of --scene N with this seed.",
        ),
        click.option(
            "--prompt",
            "take_prompt",
            metavar="TEXT",
            help="Give --scene N this image prompt and draw a new take of it.",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def asked_takes(
    scenes: tuple[int, ...],
    *,
    reseed: bool,
    seed: int | None,
    prompt: str | None,
    variants: int | None,
) -> dict[int, Take]:
    """The takes the options ask for (none without them); ``InputError`` when they clash."""
    from storyframe.errors import InputError
    from storyframe.takes import Take

    given = [name for name, on in (("--reseed", reseed), ("--seed", seed is not None)) if on]
    if prompt is not None:
        given.append("--prompt")
    if not given:
        return {}
    named = " and ".join(given)
    if not scenes:
        raise InputError(
            f"{named} draw{'s' if len(given) == 1 else ''} a new take of one scene: say which.",
            hint="Add --scene N (see `storyframe show PROJECT`).",
        )
    if reseed and seed is not None:
        raise InputError("--reseed and --seed both choose the seed.", hint="Give only one.")
    if prompt is not None and len(set(scenes)) > 1:
        raise InputError("--prompt is the prompt of one scene.", hint="Give one --scene N.")
    if variants is not None:
        raise InputError(
            f"--variants does not go with {named}: a take is one new image.",
            hint="Draw the take, then run `storyframe images PROJECT --variants K` apart.",
        )
    return {number: Take(seed=seed, reseed=reseed) for number in scenes}


def set_prompt(board: Storyboard, number: int, prompt: str) -> None:
    """Give scene ``number`` a new image prompt; ``InputError`` if it is blank."""
    from pydantic import ValidationError

    from storyframe.errors import InputError

    try:
        board.record(number).scene.image_prompt = prompt
    except ValidationError as error:
        reason = error.errors()[0]["msg"].removeprefix("Value error, ")
        raise InputError(f"--prompt: {reason}.", hint="Give some text.") from None


def echo_takes(board: Storyboard, numbers: list[int], folder: Path) -> None:
    """Say which take each scene now shows, and how to choose another."""
    from storyframe.takes import chosen_number

    for number in numbers:
        record = board.record(number)
        chosen = chosen_number(record)
        if record.status != "done" or chosen is None or len(record.variants) < 2:
            continue
        seed = "" if record.seed is None else f" (seed {record.seed})"
        click.echo(
            f"Scene {number}: variant {chosen} of {len(record.variants)} chosen{seed}; "
            f"`storyframe pick {folder} {number} V` chooses another."
        )


@cli.command("pick")
@click.argument("project_dir", metavar="PROJECT", type=click.Path(path_type=Path))
@click.argument("number", type=int)
@click.argument("variant", type=int)
@common
@click.pass_context
def pick_variant(ctx: click.Context, project_dir: Path, number: int, variant: int) -> None:
    """Choose image VARIANT of scene NUMBER of PROJECT (see `storyframe show PROJECT NUMBER`)."""
    from storyframe.cli.review import _save, pick
    from storyframe.errors import InputError
    from storyframe.project import Project
    from storyframe.takes import choose

    state_of(ctx)
    project = Project(project_dir)
    project.load()  # a missing or broken project is refused before the lock makes a folder
    with project.lock():
        board = project.load()
        (record,) = pick(board, project, (number,))
        if record.status != "done" and record.job is not None:
            raise InputError(
                f"scene {number} has a take in flight (paid for at {record.job.provider}).",
                hint=f"Run `storyframe images {project.folder}` to finish it, then pick.",
            )
        chosen = choose(record, variant)
        if not project.image_intact(chosen.image):
            raise InputError(
                f"variant {variant} of scene {number} is missing or damaged ({chosen.image.path}).",
                hint="Pick another one.",
            )
        record.status, record.error, record.fallback = "done", None, None
        _save(project, board)
    seed = "" if chosen.seed is None else f", seed {chosen.seed}"
    click.echo(f"Scene {number}: variant {variant} chosen ({chosen.image.path}{seed}).")


__all__ = [
    "MAX_VARIANTS",
    "asked_takes",
    "echo_takes",
    "pick_variant",
    "set_prompt",
    "take_options",
]
