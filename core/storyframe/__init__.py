"""storyframe: turn a story into an illustrated storyboard.

The Python API is here, one import away (``storyframe.make_storyboard`` and the review flow);
it loads on first use, so ``import storyframe`` stays cheap. See ``docs/api.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("storyframe")
"""Marker for plugin hook implementations: decorate functions with ``@storyframe.hookimpl``."""

if TYPE_CHECKING:
    from storyframe.api import (
        adraw,
        amake_storyboard,
        aplan_scenes,
        draw,
        load_config,
        make_storyboard,
        plan_scenes,
        render_project,
    )
    from storyframe.api_characters import adraw_characters, draw_characters
    from storyframe.config import Config
    from storyframe.errors import StoryframeError
    from storyframe.models import Storyboard

_LAZY = {
    "make_storyboard": "storyframe.api",
    "amake_storyboard": "storyframe.api",
    "plan_scenes": "storyframe.api",
    "aplan_scenes": "storyframe.api",
    "draw": "storyframe.api",
    "adraw": "storyframe.api",
    "render_project": "storyframe.api",
    "load_config": "storyframe.api",
    "draw_characters": "storyframe.api_characters",
    "adraw_characters": "storyframe.api_characters",
    "Config": "storyframe.config",
    "Storyboard": "storyframe.models",
    "StoryframeError": "storyframe.errors",
}


def __getattr__(name: str) -> Any:
    """Import the public API on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'storyframe' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Config",
    "Storyboard",
    "StoryframeError",
    "__version__",
    "adraw",
    "adraw_characters",
    "amake_storyboard",
    "aplan_scenes",
    "draw",
    "draw_characters",
    "hookimpl",
    "load_config",
    "make_storyboard",
    "plan_scenes",
    "render_project",
]
