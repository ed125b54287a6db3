"""storyframe's bundled OpenRouter plugin: the ``openrouter`` text provider and the optional
``openrouter-image`` image provider.

Loaded through the ``storyframe`` entry-point group like any third-party plugin. This module
only holds the hook implementations; the providers (and aiohttp) are imported when a hook runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from storyframe import hookimpl

if TYPE_CHECKING:
    from storyframe.providers import ImageProvider, TextProvider


@hookimpl
def register_text_providers(register: Callable[[type[TextProvider]], None]) -> None:
    """Add the ``openrouter`` text provider."""
    from storyframe_openrouter.text import OpenRouterTextProvider

    register(OpenRouterTextProvider)


@hookimpl
def register_image_providers(register: Callable[[type[ImageProvider]], None]) -> None:
    """Add the ``openrouter-image`` image provider."""
    from storyframe_openrouter.image import OpenRouterImageProvider

    register(OpenRouterImageProvider)
