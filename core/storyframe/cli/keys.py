"""``storyframe keys``: store, list and remove API keys. A key is never printed."""

from __future__ import annotations

import json
import sys

import click

from storyframe.cli.base import EXIT_ERROR, State, cli, common, state_of


@cli.group(invoke_without_command=True)
@click.pass_context
def keys(ctx: click.Context) -> None:
    """Manage stored API keys (alone: list their names).

    A key is looked up in this order: the provider's environment variable, then the key
    stored under the provider's (or instance's) name, then its api_key_file.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(keys_list)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common
@click.pass_context
def keys_list(ctx: click.Context, as_json: bool = False) -> None:
    """List the names that have a stored key (never the keys)."""
    from storyframe.keys import KeyStore

    state_of(ctx)
    names = KeyStore().names()
    if as_json:
        click.echo(json.dumps(names))
    elif names:
        click.echo("\n".join(names))
    else:
        click.echo("No stored keys. Add one with: storyframe keys set NAME", err=True)


@keys.command("path")
@common
@click.pass_context
def keys_path(ctx: click.Context) -> None:
    """Print where the keys are stored ($STORYFRAME_KEYS_FILE overrides it)."""
    from storyframe.keys import keys_path as path

    state_of(ctx)
    click.echo(str(path()))


@keys.command("set")
@click.argument("name")
@common
@click.pass_context
def keys_set(ctx: click.Context, name: str) -> None:
    """Store the key of provider or instance NAME (e.g. runware, local-llama).

    Prompts without echo on a terminal; otherwise reads the key from stdin.
    """
    from storyframe.config import NAME_PATTERN
    from storyframe.keys import KeyStore

    state = state_of(ctx)
    if not NAME_PATTERN.match(name):
        raise click.BadParameter(
            f"{name!r} is not a provider or instance name (lower-case letters, digits, '-', '_', "
            "'.')",
            param_hint="NAME",
        )
    if _interactive():
        value = str(click.prompt(f"Key for {name}", hide_input=True, err=True))
    else:
        value = sys.stdin.read()
    KeyStore().set(name, value)
    if name not in _known_names(state):
        click.echo(
            f"storyframe: warning: no provider or instance is named {name!r} yet; the key is "
            "stored anyway (see `storyframe providers`).",
            err=True,
        )
    click.echo(f"Stored the key for {name}.", err=True)


@keys.command("remove")
@click.argument("name")
@common
@click.pass_context
def keys_remove(ctx: click.Context, name: str) -> None:
    """Forget the stored key of NAME."""
    from storyframe.keys import KeyStore

    state_of(ctx)
    if not KeyStore().remove(name):
        click.echo(f"Error: no stored key for {name!r}. See `storyframe keys list`.", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(f"Removed the key for {name}.", err=True)


def _interactive() -> bool:
    """Whether stdin is a terminal (then the key is prompted for, without echo)."""
    return sys.stdin.isatty()


def _known_names(state: State) -> set[str]:
    """Provider and instance names, for the unknown-name warning (empty if config is broken)."""
    from storyframe.errors import StoryframeError
    from storyframe.registry import Registry

    try:
        registry = Registry(state.config())
    except StoryframeError:
        return set()
    return set(registry.names())
