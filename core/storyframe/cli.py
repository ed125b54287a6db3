"""The ``storyframe`` command line (click).

Errors are one line on stderr with a meaningful exit code; ``-v/--verbose`` adds tracebacks and
debug logs. ``asyncio.run`` is called once per command, here at the edge.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import click

from storyframe import __version__
from storyframe.errors import StoryframeError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PROJECT = 3
EXIT_PARTIAL = 4
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
    help="Config file (default: ./storyframe.toml, then the user config dir).",
)


def common(func: F) -> F:
    """Accept ``-v`` and ``--config`` after the command name too."""
    return _config_option(_verbose_option(func))


class StoryframeGroup(click.Group):
    """A click group that turns storyframe errors into one line and an exit code."""

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

            click.echo(
                f"Error: unexpected {type(error).__name__}: {redact(str(error))}. "
                "Run again with -v for the traceback.",
                err=True,
            )
            sys.exit(EXIT_ERROR)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _setup_logging(verbose: bool) -> None:
    from storyframe.secrets import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("storyframe: %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger("storyframe")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    root.propagate = False
    for name in ("storyframe_openrouter", "storyframe_runware"):
        other = logging.getLogger(name)
        other.handlers[:] = [handler]
        other.setLevel(root.level)


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
    _setup_logging(state.verbose)


def _state(ctx: click.Context) -> State:
    state = ctx.ensure_object(State)
    _setup_logging(state.verbose)
    return state


# run / scenes / images / render ----------------------------------------------------------------


def _parse_size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        width_text, height_text = value.lower().split("x")
        width, height = int(width_text), int(height_text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not WIDTHxHEIGHT, e.g. 1024x576.") from None
    if not (64 <= width <= 4096 and 64 <= height <= 4096):
        raise click.BadParameter(f"{value!r}: each side must be 64 to 4096 pixels.")
    return width, height


def _chain_option(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def story_options(func: F) -> F:
    """Options shared by ``run`` and ``scenes``."""
    decorators = [
        click.argument("story", type=click.Path(path_type=Path)),
        click.option("-n", "--scenes", type=click.IntRange(1, 200), help="Number of scenes."),
        click.option("--style", help="Visual style (see `storyframe styles`)."),
        click.option(
            "-o", "--out", type=click.Path(path_type=Path), help="Project folder to write."
        ),
        click.option(
            "--text-provider", "text_provider", help="Text providers to use, comma-separated."
        ),
        click.option("--seed", type=click.IntRange(0, 2**31 - 1), help="Story seed."),
        click.option("--size", help="Image size as WIDTHxHEIGHT (default: the style's)."),
        click.option("--encoding", help="The story file's text encoding (default utf-8)."),
        click.option("--force", is_flag=True, help="Start the project over."),
        click.option("-q", "--quiet", is_flag=True, help="No progress output."),
        click.option("--json", "as_json", is_flag=True, help="Print a JSON summary."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


class Prepared(NamedTuple):
    """What ``run`` and ``scenes`` need before any work starts."""

    config: Any
    registry: Any
    story: Any
    settings: Any
    project: Any


def _prepare(state: State, options: dict[str, Any]) -> Prepared:
    """Load config, story and settings for ``run`` and ``scenes``; every check before any work."""
    from storyframe.models import RunSettings
    from storyframe.project import Project
    from storyframe.prompts import story_seed
    from storyframe.registry import Registry
    from storyframe.story import read_story

    config = state.config()
    size = _parse_size(options.get("size"))
    story = read_story(
        options["story"],
        encoding=options.get("encoding") or config.run.encoding,
        max_bytes=config.run.max_story_bytes,
    )
    registry = Registry(config)
    style = registry.style(options.get("style") or config.run.style)
    width, height = size or (
        config.run.width or style.width,
        config.run.height or style.height,
    )
    image_chain = _chain_option(options.get("image_provider")) or config.image.providers
    settings = RunSettings(
        scenes=options.get("scenes") or config.run.scenes,
        style=style.name,
        seed=story_seed(
            story.sha256, options["seed"] if options.get("seed") is not None else config.run.seed
        ),
        width=width,
        height=height,
        text_providers=_chain_option(options.get("text_provider")) or config.text.providers,
        image_providers=image_chain,
    )
    registry.text_slots(settings.text_providers)
    registry.image_slots(settings.image_providers)
    folder = options.get("out") or Path(config.run.out_dir) / story.slug
    return Prepared(config, registry, story, settings, Project(folder))


def _finish(summary: Any, *, as_json: bool, quiet: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
    elif not quiet:
        drawn = len(summary.done) + len(summary.kept)
        line = f"{drawn} of {summary.total} scenes drawn"
        if summary.kept:
            line += f" ({len(summary.kept)} kept from before)"
        if summary.cost:
            line += f", cost ${summary.cost:.4f}"
        click.echo(f"{line}. Storyboard: {summary.project / 'index.html'}")
    if summary.failed:
        for number, error in sorted(summary.failed.items()):
            click.echo(f"Error: scene {number} failed: {error}", err=True)
        click.echo("Error: some scenes failed; run the same command again to retry them.", err=True)
        sys.exit(EXIT_PARTIAL)


@cli.command()
@story_options
@click.option("--image-provider", "image_provider", help="Image providers to use, comma-separated.")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Images drawn at once.")
@common
@click.pass_context
def run(ctx: click.Context, /, **options: Any) -> None:
    """Write the scenes of STORY and draw them: the whole job.

    Re-running the same command resumes: finished scenes are kept and cost nothing.
    """
    from storyframe.pipeline import Pipeline
    from storyframe.progress import make_reporter

    state = _state(ctx)
    config, registry, story, settings, project = _prepare(state, options)
    reporter = make_reporter(quiet=options["quiet"] or options["as_json"])
    pipeline = Pipeline(config, registry=registry, reporter=reporter)

    async def go() -> Any:
        board = await pipeline.write_scenes(story, project, settings, force=options["force"])
        return await pipeline.draw(
            project, board, concurrency=options.get("concurrency"), redraw=options["force"]
        )

    try:
        with project.lock():
            summary = _run(go())
    finally:
        reporter.close()
    _finish(summary, as_json=options["as_json"], quiet=options["quiet"])


@cli.command()
@story_options
@click.option(
    "--image-provider", "image_provider", help="Image providers the project will use later."
)
@common
@click.pass_context
def scenes(ctx: click.Context, /, **options: Any) -> None:
    """Write the scenes of STORY into a project for review, without drawing.

    Edit titles and prompts in storyboard.json (or set "approved": false), then run
    `storyframe images FOLDER`.
    """
    from storyframe.pipeline import Pipeline
    from storyframe.progress import make_reporter

    state = _state(ctx)
    config, registry, story, settings, project = _prepare(state, options)
    reporter = make_reporter(quiet=options["quiet"] or options["as_json"])
    pipeline = Pipeline(config, registry=registry, reporter=reporter)
    try:
        with project.lock():
            board = _run(pipeline.write_scenes(story, project, settings, force=options["force"]))
    finally:
        reporter.close()
    if options["as_json"]:
        click.echo(
            json.dumps(
                {
                    "project": str(project.folder),
                    "manifest": str(project.manifest_path),
                    "scenes": len(board.scenes),
                    "text_provider": board.text_provider,
                    "notes": board.notes,
                },
                indent=2,
            )
        )
    elif not options["quiet"]:
        click.echo(
            f"{len(board.scenes)} scenes written to {project.manifest_path}. Review them, then "
            f"run: storyframe images {project.folder}"
        )


@cli.command()
@click.argument("project_dir", metavar="PROJECT", type=click.Path(path_type=Path))
@click.option("--scene", "scene_numbers", type=int, multiple=True, help="Draw only scene N.")
@click.option("--force", is_flag=True, help="Redraw approved scenes that are already done.")
@click.option("--image-provider", "image_provider", help="Image providers to use, comma-separated.")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Images drawn at once.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@common
@click.pass_context
def images(
    ctx: click.Context,
    project_dir: Path,
    scene_numbers: tuple[int, ...],
    force: bool,
    image_provider: str | None,
    concurrency: int | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Draw the approved scenes of PROJECT that are not drawn yet (or --scene N to redraw one)."""
    from storyframe.pipeline import Pipeline
    from storyframe.progress import make_reporter
    from storyframe.project import Project

    state = _state(ctx)
    config = state.config()
    project = Project(project_dir)
    board = project.load()
    reporter = make_reporter(quiet=quiet or as_json)
    pipeline = Pipeline(config, reporter=reporter)
    try:
        with project.lock():
            summary = _run(
                pipeline.draw(
                    project,
                    board,
                    only=scene_numbers or None,
                    redraw=force,
                    image_providers=_chain_option(image_provider),
                    concurrency=concurrency,
                )
            )
    finally:
        reporter.close()
    _finish(summary, as_json=as_json, quiet=quiet)


@cli.command()
@click.argument("project_dir", metavar="PROJECT", type=click.Path(path_type=Path))
@common
@click.pass_context
def render(ctx: click.Context, project_dir: Path) -> None:
    """Rebuild PROJECT/index.html from its storyboard.json."""
    from storyframe.pipeline import Pipeline
    from storyframe.project import Project

    state = _state(ctx)
    project = Project(project_dir)
    board = project.load()
    path = Pipeline(state.config()).render(project, board)
    click.echo(str(path))


# providers / plugins / styles / check / config -----------------------------------------------


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common
@click.pass_context
def providers(ctx: click.Context, as_json: bool) -> None:
    """List the text and image providers, whether each is configured, and what it can do."""
    from storyframe.registry import Registry

    state = _state(ctx)
    registry = Registry(state.config())
    rows = []
    for table in (registry.host.text_providers, registry.host.image_providers):
        for name in sorted(table):
            slot = registry.slot(name)
            owner = registry.host.owner(name)
            rows.append(
                {
                    "name": name,
                    "kind": slot.cls.kind,
                    "configured": slot.configured,
                    "key_source": slot.key_source
                    or (f"unset ({slot.cls.key_env})" if slot.cls.needs_key else "not needed"),
                    "capabilities": slot.cls.capabilities.summary(),
                    "plugin": owner.name if owner else "?",
                    "description": slot.cls.description,
                }
            )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    _table(rows, ["name", "kind", "configured", "key_source", "capabilities", "plugin"])


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    cells = [[c.upper().replace("_", " ") for c in columns]] + [
        ["yes" if r[c] is True else "no" if r[c] is False else str(r[c]) for c in columns]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for row in cells:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@cli.command()
@common
@click.pass_context
def plugins(ctx: click.Context) -> None:
    """List installed plugins as JSON: distribution, version, hooks, what each adds."""
    from storyframe.plugins import get_host

    _state(ctx)
    host = get_host()
    click.echo(json.dumps([info.as_dict() for info in host.plugins.values()], indent=2))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common
@click.pass_context
def styles(ctx: click.Context, as_json: bool) -> None:
    """List the visual styles."""
    from storyframe.plugins import get_host

    _state(ctx)
    host = get_host()
    if as_json:
        click.echo(json.dumps([s.model_dump() for s in host.styles.values()], indent=2))
        return
    _table(
        [
            {"name": s.name, "size": f"{s.width}x{s.height}", "description": s.description}
            for s in host.styles.values()
        ],
        ["name", "size", "description"],
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common
@click.pass_context
def check(ctx: click.Context, as_json: bool) -> None:
    """Health-check the providers of both chains; exit 1 if a chain has no working provider."""
    from storyframe.registry import Registry

    state = _state(ctx)
    registry = Registry(state.config())
    chains: dict[str, list[Any]] = {
        "text": list(registry.text_slots()),
        "image": list(registry.image_slots()),
    }

    async def probe(slot: Any) -> dict[str, Any]:
        row: dict[str, Any] = {"name": slot.name, "kind": slot.cls.kind}
        if not slot.configured:
            return {**row, "ok": False, "status": "skipped", "detail": slot.reason}
        provider = slot.build()
        try:
            result = await provider.check()
        except Exception as error:  # a check must never take the command down
            from storyframe.secrets import redact

            return {**row, "ok": False, "status": "error", "detail": redact(str(error))}
        finally:
            await provider.aclose()
        detail = result.detail
        if result.balance is not None:
            detail = f"{detail} (balance ${result.balance:.2f})".strip()
        return {**row, "ok": result.ok, "status": "ok" if result.ok else "failed", "detail": detail}

    async def probe_all() -> list[dict[str, Any]]:
        slots = [s for chain in chains.values() for s in chain]
        return list(await asyncio.gather(*(probe(s) for s in slots)))

    rows = _run(probe_all())
    broken = [kind for kind in chains if not any(r["ok"] for r in rows if r["kind"] == kind)]
    if as_json:
        click.echo(json.dumps({"ok": not broken, "providers": rows}, indent=2))
    else:
        _table(rows, ["kind", "name", "status", "detail"])
    if broken:
        click.echo(f"Error: no working {' or '.join(broken)} provider.", err=True)
        sys.exit(EXIT_ERROR)


@cli.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("show")
@common
@click.pass_context
def config_show(ctx: click.Context) -> None:
    """Print the effective configuration as TOML, every default filled in, secrets left out."""
    import tomli_w

    from storyframe.registry import Registry

    state = _state(ctx)
    cfg = state.config()
    registry = Registry(cfg)
    data: dict[str, Any] = cfg.model_dump(mode="json", exclude={"providers"}, exclude_none=True)
    data["providers"] = {}
    lines = [f"# storyframe {__version__}; config: {cfg.origin()}"]
    for name in sorted({*registry.host.text_providers, *registry.host.image_providers}):
        slot = registry.slot(name)
        data["providers"][name] = slot.config.model_dump(mode="json", exclude_none=True)
        if slot.cls.needs_key:
            source = slot.key_source or f"not set ({slot.cls.key_env})"
            lines.append(f"# {name} key: {source}")
    click.echo("\n".join(lines))
    click.echo(tomli_w.dumps(data))


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
