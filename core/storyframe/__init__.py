"""storyframe: turn a story into an illustrated storyboard."""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("storyframe")
"""Marker for plugin hook implementations: decorate functions with ``@storyframe.hookimpl``."""

__all__ = ["__version__", "hookimpl"]
