"""The commands that describe the installation: ``providers``, ``plugins``, ``styles``,
``check`` and ``config show``."""

from __future__ import annotations

import asyncio
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
    """List the text and image providers, whether each is configured, and what it can do."""
    from storyframe.registry import Registry

    state = state_of(ctx)
    registry = Registry(state.config())
    _check_chains(registry)
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
    print_table(rows, ["name", "kind", "configured", "key_source", "capabilities", "plugin"])


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
    """List the visual styles."""
    from storyframe.plugins import get_host

    state_of(ctx)
    host = get_host()
    if as_json:
        click.echo(json.dumps([s.model_dump() for s in host.styles.values()], indent=2))
        return
    print_table(
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
    """Print the effective configuration as TOML, every default filled in, secrets left out."""
    import tomli_w

    from storyframe.registry import Registry

    state = state_of(ctx)
    cfg = state.config()
    registry = Registry(cfg)
    _check_chains(registry)
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
