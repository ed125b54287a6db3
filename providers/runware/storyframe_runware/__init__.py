"""storyframe's bundled Runware image provider, registered through the ``storyframe`` entry point.

Importing this package does nothing else: the provider module (and aiohttp, Pillow) load only
when storyframe asks for image providers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import storyframe

if TYPE_CHECKING:
    from storyframe.providers import ImageProvider


@storyframe.hookimpl
def register_image_providers(register: Callable[[type[ImageProvider]], None]) -> None:
    """The ``runware`` image provider."""
    from storyframe_runware.provider import RunwareImageProvider

    register(RunwareImageProvider)
