"""storyframe-openai-compat: storyframe providers for any OpenAI-compatible server.

``openai-chat`` writes scenes through ``POST {base_url}/chat/completions`` and
``openai-images`` draws through ``POST {base_url}/images/generations``. This module holds only
the hooks; each imports its provider when storyframe calls it, so importing the plugin is free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from storyframe import hookimpl

if TYPE_CHECKING:
    from storyframe.providers import ImageProvider, TextProvider


@hookimpl
def register_text_providers(register: Callable[[type[TextProvider]], None]) -> None:
    """The ``openai-chat`` text provider."""
    from storyframe_openai_compat.chat import OpenAIChatProvider

    register(OpenAIChatProvider)


@hookimpl
def register_image_providers(register: Callable[[type[ImageProvider]], None]) -> None:
    """The ``openai-images`` image provider."""
    from storyframe_openai_compat.images import OpenAIImagesProvider

    register(OpenAIImagesProvider)
