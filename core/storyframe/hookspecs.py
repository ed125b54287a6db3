"""The hooks a storyframe plugin can implement.

A plugin is a module (or object) with functions decorated by ``@storyframe.hookimpl`` whose names
are the hooks below. Each registration hook receives a ``register`` callback; call it once per
thing the plugin adds. Hooks run when storyframe first needs them, never at import time, and a
plugin module should do no work at import time either: import heavy libraries inside the
provider's methods or ``__init__``.

storyframe calls each plugin's implementations one by one (``STORYFRAME_TRACE_PLUGINS=1`` prints
each call). A plugin whose hook raises, or registers something invalid or a name already taken,
is unregistered whole: what it registered in earlier hooks is removed too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from storyframe.models import Style
    from storyframe.providers import ImageProvider, TextProvider

hookspec = pluggy.HookspecMarker("storyframe")


@hookspec
def register_text_providers(register: Callable[[type[TextProvider]], None]) -> None:
    """Add text providers.

    Call ``register(ProviderClass)`` for each :class:`storyframe.providers.TextProvider`
    subclass the plugin offers. The class's ``name`` is what users put in
    ``[text] providers = [...]`` and under ``[providers.NAME]``; it must be unique.
    """


@hookspec
def register_image_providers(register: Callable[[type[ImageProvider]], None]) -> None:
    """Add image providers.

    Call ``register(ProviderClass)`` for each :class:`storyframe.providers.ImageProvider`
    subclass the plugin offers. The class's ``name`` is what users put in
    ``[image] providers = [...]`` and under ``[providers.NAME]``; it must be unique.
    """


@hookspec
def register_styles(register: Callable[[Style], None]) -> None:
    """Add visual styles.

    Call ``register(Style(...))`` for each :class:`storyframe.models.Style`. Its ``name`` is what
    users pass to ``--style``. A plugin may not replace a style another plugin registered.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add CLI commands.

    ``cli`` is the ``storyframe`` click group: decorate functions with ``@cli.command()`` or call
    ``cli.add_command``. If the hook raises, the commands it added are removed, with the
    plugin's providers and styles.
    """


HOOK_NAMES: tuple[str, ...] = (
    "register_text_providers",
    "register_image_providers",
    "register_styles",
    "register_commands",
)

Registrar = Callable[[Any], None]
