"""The commands that describe the installation: ``providers``, ``plugins``, ``styles``,
``check`` and ``config show``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from storyframe import __version__
from storyframe.cli.base import EXIT_ERROR, cli, common, print_table, run_sync, state_of


def _check_chains(registry: Any) -> None:
    """Refuse an unknown name in ``[text]``/``[image]`` providers, as ``run`` does."""
    registry.text_slots()
    registry.image_slots()


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common
@click.pass_context
def providers(ctx: click.Context, as_json: bool) -> None:
    """List the providers and named instances: class, whether configured, key source."""
    from storyframe.registry import Registry

    state = state_of(ctx)
    registry = Registry(state.config())
    _check_chains(registry)
    rows = []
    for name in registry.names():
        slot = registry.slot(name)
        owner = registry.host.owner(slot.cls.name)
        rows.append(
            {
                "name": name,
                "use": slot.cls.name,
                "kind": slot.cls.kind,
                "configured": slot.configured,
                "key_source": slot.key_label,
                "capabilities": slot.cls.capabilities.summary(),
                "plugin": owner.name if owner else "?",
                "description": slot.cls.description,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    print_table(rows, ["name", "use", "kind", "configured", "key_source", "capabilities", "plugin"])


@cli.command()
@common
@click.pass_context
def plugins(ctx: click.Context) -> None:
    """List installed plugins as JSON: distribution, version, hooks, what each adds."""
    from storyframe.plugins import get_host

    state_of(ctx)
    host = get_host()
    click.echo(json.dumps([info.as_dict() for info in host.plugins.values()], indent=2))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common
@click.pass_context
def styles(ctx: click.Context, as_json: bool) -> None:
    """List the visual styles and where each comes from: built-in, a plugin, or the config."""
    from storyframe.registry import Registry

    state = state_of(ctx)
    registry = Registry(state.config())
    rows = [
        {**style.model_dump(), "source": registry.style_sources[name]}
        for name, style in registry.styles.items()
    ]
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
