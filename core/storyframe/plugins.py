"""The plugin manager: built-in plugins, entry-point plugins, and what they register.

storyframe's own offline providers and styles are registered directly (like pytest's built-in
plugins); everything else, the bundled OpenRouter and Runware providers included, comes from the
``storyframe`` entry-point group, loaded lazily and once.

- ``STORYFRAME_LOAD_PLUGINS``: a comma-separated list of distribution (or entry-point) names to
  load; unset loads all, an empty string loads none. Built-ins always load.
- ``STORYFRAME_STRICT_PLUGINS=1``: a plugin that fails to load or whose hook raises is a hard
  error (for plugin authors); otherwise it is reported on stderr and skipped.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from storyframe import hookspecs
from storyframe.errors import PluginError
from storyframe.models import Style
from storyframe.providers import ImageProvider, Provider, TextProvider

if TYPE_CHECKING:
    import click

ENTRY_POINT_GROUP = "storyframe"
LOAD_ENV = "STORYFRAME_LOAD_PLUGINS"
STRICT_ENV = "STORYFRAME_STRICT_PLUGINS"
BUILTIN_NAME = "storyframe.builtins"

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class PluginInfo:
    """What one plugin is and what it added."""

    name: str
    distribution: str
    version: str
    module: str
    builtin: bool = False
    hooks: list[str] = field(default_factory=list)
    text_providers: list[str] = field(default_factory=list)
    image_providers: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description, for ``storyframe plugins``."""
        data: dict[str, Any] = {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "builtin": self.builtin,
            "hooks": self.hooks,
            "providers": {"text": self.text_providers, "image": self.image_providers},
            "styles": self.styles,
        }
        if self.error:
            data["error"] = self.error
        return data


class PluginHost:
    """One pluggy ``PluginManager`` and the providers and styles its plugins registered."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("storyframe")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.errors: list[str] = []
        self.text_providers: dict[str, type[TextProvider]] = {}
        self.image_providers: dict[str, type[ImageProvider]] = {}
        self.styles: dict[str, Style] = {}
        self.strict = os.environ.get(STRICT_ENV, "").strip() not in ("", "0", "false", "no")
        self._commands_added: set[int] = set()
        self._current: PluginInfo | None = None

    # Loading -----------------------------------------------------------------------------

    def load(self) -> None:
        """Register the built-ins, load the allowed entry points, and collect registrations."""
        from storyframe import __version__, builtins

        self.pm.register(builtins, name=BUILTIN_NAME)
        self.plugins[BUILTIN_NAME] = PluginInfo(
            BUILTIN_NAME, "storyframe", __version__, builtins.__name__, builtin=True
        )
        allowed = self._allowed()
        for entry_point in sorted(
            metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name
        ):
            distribution = entry_point.dist.name if entry_point.dist else "?"
            version = entry_point.dist.version if entry_point.dist else "?"
            if allowed is not None and not (
                _normalize(distribution) in allowed or _normalize(entry_point.name) in allowed
            ):
                continue
            if entry_point.name in self.plugins:
                continue
            info = PluginInfo(entry_point.name, distribution, version, entry_point.value)
            self.plugins[entry_point.name] = info
            try:
                module = entry_point.load()
                self.pm.register(module, name=entry_point.name)
            except Exception as error:  # a broken plugin must not break storyframe
                self._fail(info, "failed to load", error)
        for info in self.plugins.values():
            plugin = self.pm.get_plugin(info.name)
            if plugin is not None:
                info.hooks = sorted(hook.name for hook in self.pm.get_hookcallers(plugin) or [])
        self._collect()

    def _allowed(self) -> set[str] | None:
        raw = os.environ.get(LOAD_ENV)
        if raw is None:
            return None
        return {_normalize(part.strip()) for part in raw.split(",") if part.strip()}

    def _fail(self, info: PluginInfo, what: str, error: BaseException) -> None:
        message = (
            f"plugin {info.name!r} ({info.distribution}) {what}: {type(error).__name__}: {error}"
        )
        info.error = message
        self.errors.append(message)
        if self.strict:
            raise PluginError(message, hint=f"Unset {STRICT_ENV} to skip broken plugins.")
        print(f"storyframe: warning: {message}", file=sys.stderr)

    def _call_each(self, hook_name: str, argument: str, value: Any) -> None:
        """Call every implementation of a hook on its own, so one failure spares the rest."""
        caller = getattr(self.pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            info = self.plugins.get(impl.plugin_name)
            try:
                _invoke(impl, {argument: value})
            except PluginError:
                raise
            except Exception as error:
                if info is None:
                    raise
                self._fail(info, f"hook {hook_name} raised", error)

    def _collect(self) -> None:
        """Run the registration hooks plugin by plugin, built-ins first so they keep their names."""
        hooks = (
            ("register_text_providers", self._register_text),
            ("register_image_providers", self._register_image),
            ("register_styles", self._register_style),
        )
        for info in list(self.plugins.values()):
            plugin = self.pm.get_plugin(info.name)
            if plugin is None:
                continue
            self._current = info
            for hook_name, register in hooks:
                for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                    if impl.plugin is not plugin:
                        continue
                    try:
                        _invoke(impl, {"register": register})
                    except PluginError as error:
                        if self.strict:
                            raise
                        self._fail(info, f"hook {hook_name} registered something invalid", error)
                    except Exception as error:
                        self._fail(info, f"hook {hook_name} raised", error)
        self._current = None

    def _check_provider(self, cls: Any, base: type[Provider], table: dict[str, Any]) -> str:
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise PluginError(f"{cls!r} is not a subclass of {base.__name__}")
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise PluginError(f"{cls.__name__}.name must be a lowercase identifier, not {name!r}")
        if name in table or name in self.text_providers or name in self.image_providers:
            raise PluginError(f"a provider named {name!r} is already registered")
        return name

    def _register_text(self, cls: type[TextProvider]) -> None:
        name = self._check_provider(cls, TextProvider, self.text_providers)
        self.text_providers[name] = cls
        if self._current:
            self._current.text_providers.append(name)

    def _register_image(self, cls: type[ImageProvider]) -> None:
        name = self._check_provider(cls, ImageProvider, self.image_providers)
        self.image_providers[name] = cls
        if self._current:
            self._current.image_providers.append(name)

    def _register_style(self, style: Style) -> None:
        if not isinstance(style, Style):
            raise PluginError(f"{style!r} is not a storyframe.models.Style")
        if style.name in self.styles:
            raise PluginError(f"a style named {style.name!r} is already registered")
        self.styles[style.name] = style
        if self._current:
            self._current.styles.append(style.name)

    # Queries -----------------------------------------------------------------------------

    def provider_class(self, name: str) -> type[Provider] | None:
        """The text or image provider class registered as ``name``."""
        return self.text_providers.get(name) or self.image_providers.get(name)

    def owner(self, provider_name: str) -> PluginInfo | None:
        """The plugin that registered a provider."""
        for info in self.plugins.values():
            if provider_name in info.text_providers or provider_name in info.image_providers:
                return info
        return None

    def add_commands(self, cli: click.Group) -> None:
        """Let plugins add CLI commands (once per group)."""
        if id(cli) in self._commands_added:
            return
        self._commands_added.add(id(cli))
        self._call_each("register_commands", "cli", cli)


def _invoke(impl: Any, arguments: dict[str, Any]) -> None:
    """Call a hook implementation with the arguments it asks for (pluggy allows fewer)."""
    impl.function(**{name: arguments[name] for name in impl.argnames if name in arguments})


_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide plugin host, loaded on first use."""
    global _host
    if _host is None:
        host = PluginHost()
        _host = host
        try:
            host.load()
        except BaseException:
            _host = None
            raise
    return _host


def reset() -> None:
    """Forget loaded plugins (tests use it to load again under other settings)."""
    global _host
    _host = None


Register = Callable[[Any], None]

__all__ = [
    "BUILTIN_NAME",
    "ENTRY_POINT_GROUP",
    "LOAD_ENV",
    "STRICT_ENV",
    "PluginHost",
    "PluginInfo",
    "get_host",
    "reset",
]
