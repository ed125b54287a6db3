"""The commands that describe the installation: ``providers``, ``plugins``, ``styles``,
``check`` and ``config show``."""

from __future__ import annotations

import json
import sys
from pathlib import Path, PurePath
from typing import Any

import click

from storyframe import __version__
from storyframe.cli.base import EXIT_ERROR, cli, common, print_table, run_sync, state_of


def _check_chains(registry: Any) -> None:
    """Refuse an unknown name in ``[text]``/``[image]`` providers, as ``run`` does."""
    registry.text_slots()
    registry.image_slots()


PROVIDER_COLUMNS = ["name", "use", "kind", "configured", "key_source", "capabilities", "plugin"]


def _provider_row(recipe: dict[str, Any], key_source: str) -> dict[str, Any]:
    """A ``providers`` row from what the registry says of a name and where its key is."""
    if key_source:
        label = key_source
    elif not recipe["needs_key"]:
        label = "not needed"
    elif recipe["keyless"]:
        label = "none (keyless instance: no key_env)"
    else:
        name = recipe["name"]
        label = f"unset ({recipe['key_env'] or f'storyframe keys set {name}'})"
    return {
        "name": recipe["name"],
        "use": recipe["use"],
        "kind": recipe["kind"],
        "configured": bool(key_source) or not recipe["needs_key"] or recipe["keyless"],
        "key_source": label,
        "capabilities": recipe["capabilities"],
        "plugin": recipe["plugin"],
        "description": recipe["description"],
    }


def _cached_provider_rows(explicit: Path | None) -> list[dict[str, Any]] | None:
    """The rows from the plugin cache, with keys looked up now; ``None`` if not cached."""
    from storyframe import infocache

    cached = infocache.listing("providers", explicit)
    if cached is None:
        return None
    data, recipes = cached
    keys = infocache.KeySources()
    try:
        rows = []
        for recipe in recipes:
            if not infocache.paths_unchanged(recipe["paths"]):
                return None
            source = keys.source(recipe["name"], recipe["key_env"], recipe["key_file"])
            rows.append(_provider_row(recipe, source))
    except (infocache.Stale, KeyError, TypeError, ValueError):
        return None
    infocache.replay_warnings(data)
    return rows


def _provider_rows(state: Any) -> list[dict[str, Any]]:
    """The rows, from the plugins themselves (and kept in the cache for the next run)."""
    from storyframe import infocache
    from storyframe.registry import Registry

    key = infocache.config_key("providers", state.config_path)
    registry = Registry(state.config())
    _check_chains(registry)
    rows, recipes = [], []
    for name in registry.names():
        slot = registry.slot(name)
        owner = registry.host.owner(slot.cls.name)
        key_file = slot.config.api_key_file
        recipe = {
            "name": name,
            "use": slot.cls.name,
            "kind": slot.cls.kind,
            "capabilities": slot.cls.capabilities.summary(),
            "plugin": owner.name if owner else "?",
            "description": slot.cls.description,
            "needs_key": slot.cls.needs_key,
            "key_env": slot.key_env,
            "keyless": slot.keyless,
            "key_file": None if key_file is None else str(key_file),
            "paths": [[p, infocache.path_kind(p)] for p in _paths(slot.config.model_dump())],
        }
        recipes.append(recipe)
        rows.append(_provider_row(recipe, slot.key_source))
    if key == infocache.config_key("providers", state.config_path):
        infocache.remember(registry.host, key, recipes)
    return rows


def _paths(value: Any) -> list[str]:
    """Every path in a validated provider config (their existence was part of validating it)."""
    if isinstance(value, PurePath):
        return [str(value)]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return [path for item in value for path in _paths(item)]
    return []


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common
@click.pass_context
def providers(ctx: click.Context, as_json: bool) -> None:
    """List the providers and named instances: class, whether configured, key source."""
    state = state_of(ctx)
    rows = _cached_provider_rows(state.config_path)
    if rows is None:
        rows = _provider_rows(state)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    print_table(rows, PROVIDER_COLUMNS)


@cli.command()
@common
@click.pass_context
def plugins(ctx: click.Context) -> None:
    """List installed plugins as JSON: distribution, version, hooks, what each adds."""
    from storyframe import infocache

    state_of(ctx)
    cached = infocache.plugin_listing()
    if cached is not None:
        data, listing = cached
        infocache.replay_warnings(data)
    else:
        from storyframe.plugins import get_host

        listing = [info.as_dict() for info in get_host().plugins.values()]
    click.echo(json.dumps(listing, indent=2))


def _style_rows(state: Any) -> list[dict[str, Any]]:
    from storyframe import infocache

    cached = infocache.listing("styles", state.config_path)
    if cached is not None:
        data, rows = cached
        infocache.replay_warnings(data)
        return rows
    from storyframe.registry import Registry

    key = infocache.config_key("styles", state.config_path)
    registry = Registry(state.config())
    rows = [
        {**style.model_dump(), "source": registry.style_sources[name]}
        for name, style in registry.styles.items()
    ]
    if key == infocache.config_key("styles", state.config_path):
        infocache.remember(registry.host, key, rows)
    return rows


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common
@click.pass_context
def styles(ctx: click.Context, as_json: bool) -> None:
    """List the visual styles and where each comes from: built-in, a plugin, or the config."""
    rows = _style_rows(state_of(ctx))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        row["size"] = f"{row['width']}x{row['height']}"
    print_table(rows, ["name", "size", "source", "description"])


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common
@click.pass_context
def check(ctx: click.Context, as_json: bool) -> None:
    """Health-check the providers of both chains; exit 1 if a chain has no working provider."""
    from storyframe.registry import Registry

    state = state_of(ctx)
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
        import asyncio

        slots = [s for chain in chains.values() for s in chain]
        return list(await asyncio.gather(*(probe(s) for s in slots)))

    rows = run_sync(probe_all())
    broken = [kind for kind in chains if not any(r["ok"] for r in rows if r["kind"] == kind)]
    if as_json:
        click.echo(json.dumps({"ok": not broken, "providers": rows}, indent=2))
    else:
        print_table(rows, ["kind", "name", "status", "detail"])
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
    """Print the effective configuration as TOML: every key, each with where it comes from.

    Keys without a value are shown as comments ("# seed = (unset)"); secrets never appear.
    """
    from storyframe.cli.showconfig import render_config
    from storyframe.registry import Registry

    state = state_of(ctx)
    cfg = state.config()
    registry = Registry(cfg)
    _check_chains(registry)
    click.echo(render_config(registry, version=__version__), nl=False)
