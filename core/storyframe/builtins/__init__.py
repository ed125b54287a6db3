"""storyframe's own plugin: the offline providers and the built-in styles.

It is registered with the plugin manager directly, the way pytest registers its own plugins, and
implements the same hooks a third-party plugin does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from storyframe import hookimpl

if TYPE_CHECKING:  # imported by the hooks that need them: `storyframe --help` needs none
    from storyframe.models import Style
    from storyframe.providers import ImageProvider, TextProvider


@hookimpl
def register_text_providers(register: Callable[[type[TextProvider]], None]) -> None:
    """The offline scene extractor."""
    from storyframe.builtins.heuristic import HeuristicTextProvider

    register(HeuristicTextProvider)


@hookimpl
def register_image_providers(register: Callable[[type[ImageProvider]], None]) -> None:
    """The offline placeholder cards."""
    from storyframe.builtins.placeholder import PlaceholderImageProvider

    register(PlaceholderImageProvider)


@hookimpl
def register_styles(register: Callable[[Style], None]) -> None:
    """cinematic, cartoon, realistic, watercolor, comic, noir."""
    from storyframe.styles import BUILTIN_STYLES

    for style in BUILTIN_STYLES:
        register(style)
