"""storyframe-mosaic: an example storyframe plugin.

It adds an offline image provider (``mosaic``), a style (``stained-glass``) and a command
(``storyframe mosaic-palette STYLE``). This module holds only the hook implementations; each
imports what it registers when it is called, so importing the plugin costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from storyframe import hookimpl

if TYPE_CHECKING:
    import click
    from storyframe.models import Style
    from storyframe.providers import ImageProvider

__version__ = "0.1.0"


@hookimpl
def register_image_providers(register: Callable[[type[ImageProvider]], None]) -> None:
    """The ``mosaic`` image provider."""
    from storyframe_mosaic.provider import MosaicImageProvider

    register(MosaicImageProvider)


@hookimpl
def register_styles(register: Callable[[Style], None]) -> None:
    """The ``stained-glass`` style."""
    from storyframe_mosaic.styles import STAINED_GLASS

    register(STAINED_GLASS)


@hookimpl
def register_commands(cli: click.Group) -> None:
    """The ``storyframe mosaic-palette`` command."""
    from storyframe_mosaic.commands import mosaic_palette

    cli.add_command(mosaic_palette)
