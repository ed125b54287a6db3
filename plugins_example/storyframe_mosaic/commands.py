"""``storyframe mosaic-palette STYLE``: show the colours the mosaic provider paints a style with."""

from __future__ import annotations

import json

import click


@click.command(name="mosaic-palette")
@click.argument("style")
@click.option("--json", "as_json", is_flag=True, help="Print the palette as JSON.")
def mosaic_palette(style: str, as_json: bool) -> None:
    """Print the palette of STYLE: the lead colour, then the glass colours."""
    from storyframe.plugins import get_host

    from storyframe_mosaic.provider import split_palette

    styles = get_host().styles
    found = styles.get(style)
    if found is None:
        raise click.BadParameter(
            f"unknown style {style!r} (available: {', '.join(sorted(styles))})",
            param_hint="STYLE",
        )
    lead, glass = split_palette(found.palette)
    if as_json:
        click.echo(json.dumps({"style": found.name, "lead": lead, "glass": glass}))
        return
    for role, colour in [("lead", lead)] + [("glass", colour) for colour in glass]:
        value = int(colour[1:], 16)
        swatch = click.style("    ", bg=(value >> 16, (value >> 8) & 255, value & 255))
        click.echo(f"{swatch} {colour}  {role}")
