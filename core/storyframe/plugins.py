"""The plugin manager: built-in plugins, entry-point plugins, and what they register.

storyframe's own offline providers and styles are registered directly (like pytest's built-in
plugins); everything else, the bundled OpenRouter and Runware providers included, comes from the
``storyframe`` entry-point group, loaded lazily and once.

- ``STORYFRAME_LOAD_PLUGINS``: a comma-separated list of distribution (or entry-point) names to
  load; unset loads all, an empty string loads none. Built-ins always load.
- ``STORYFRAME_STRICT_PLUGINS=1``: a plugin that fails to load or whose hook raises is a hard
  error (for plugin authors); otherwise it is reported on stderr and unregistered whole: nothing
  it registered (providers, styles, commands) remains.
- ``STORYFRAME_TRACE_PLUGINS=1``: every hook call is printed on stderr with the implementation
  it runs, what it registered or raised, and how long it took.

What the plugins registered is written to the plugin cache (:mod:`storyframe.infocache`) once
they are collected, for the listing commands to answer from without loading them.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from storyframe import hookspecs, infocache
from storyframe.entrypoints import ENTRY_POINT_GROUP, EntryPoint, entry_points, normalize
from storyframe.errors import PluginError
from storyframe.plugin_trace import HookTracer

if TYPE_CHECKING:
    import click

    from storyframe.models import Style
    from storyframe.providers import ImageProvider, Provider, TextProvider

LOAD_ENV = "STORYFRAME_LOAD_PLUGINS"
STRICT_ENV = "STORYFRAME_STRICT_PLUGINS"
TRACE_ENV = "STORYFRAME_TRACE_PLUGINS"
BUILTIN_NAME = "storyframe.builtins"

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


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
    commands: list[str] = field(default_factory=list)
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
            "commands": self.commands,
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
        self.strict = _flag(STRICT_ENV)
        self.trace = _flag(TRACE_ENV)
        self._commands_added: set[int] = set()
        self._groups: list[click.Group] = []
        self._loaded = False
        self.collected = False
        self._current: PluginInfo | None = None
        self.tracer = HookTracer(self.trace)
        self.warnings: list[str] = []
        """The warnings printed while loading (kept with the plugin cache, to print again)."""
        self.cache_fingerprint: list[Any] | None = None
        """The installation's fingerprint, taken before loading, if the cache is in use."""
        if self.trace:
            self.pm.add_hookcall_monitoring(self.tracer.before, self.tracer.after)

    # Loading -----------------------------------------------------------------------------

    def load(self) -> None:
        """Register the built-ins, load the allowed entry points, and collect registrations."""
        self.load_plugins()
        self.collect()

    def load_plugins(self) -> None:
        """Register the built-ins and load the allowed entry points, running no hook yet.

        Cheap: entry-point modules only define hooks. Enough for ``add_commands``, so
        ``storyframe --help`` needs no provider, style or pydantic model.
        """
        if self._loaded:
            return
        self._loaded = True
        from storyframe import __version__, builtins

        self.pm.register(builtins, name=BUILTIN_NAME)
        self.plugins[BUILTIN_NAME] = PluginInfo(
            BUILTIN_NAME, "storyframe", __version__, builtins.__name__, builtin=True
        )
        allowed = self._allowed()
        installed = sorted(entry_points(ENTRY_POINT_GROUP), key=lambda ep: ep.name)
        if infocache.enabled():  # before anything loads: an edit from now on is seen next time
            self.cache_fingerprint = infocache.fingerprint(installed)
        matched: set[str] = set()
        for entry_point in installed:
            distribution, version = entry_point.distribution, entry_point.version
            names = {normalize(distribution), normalize(entry_point.name)}
            if allowed is not None and not names & allowed:
                continue
            matched |= names
            if entry_point.name in self.plugins:
                continue
            info = PluginInfo(entry_point.name, distribution, version, entry_point.value)
            self.plugins[entry_point.name] = info
            started = time.perf_counter()
            try:
                module = entry_point.load()
                self.pm.register(module, name=entry_point.name)
            except Exception as error:  # a broken plugin must not break storyframe
                self._fail(info, "failed to load", error)
            else:
                self.tracer.say(
                    f"loaded {info.name} ({distribution} {version}) from {info.module}", started
                )
        if allowed is not None:
            self._check_selection(allowed - matched - {"storyframe"}, installed)
        for info in self.plugins.values():
            plugin = self.pm.get_plugin(info.name)
            if plugin is not None:
                info.hooks = sorted(hook.name for hook in self.pm.get_hookcallers(plugin) or [])

    def _allowed(self) -> set[str] | None:
        raw = os.environ.get(LOAD_ENV)
        if raw is None:
            return None
        return {normalize(part.strip()) for part in raw.split(",") if part.strip()}

    def _check_selection(self, unknown: set[str], installed: list[EntryPoint]) -> None:
        """Warn about names in ``STORYFRAME_LOAD_PLUGINS`` that match no installed plugin."""
        if not unknown:
            return
        choices = ", ".join(f"{ep.name} ({ep.distribution})" for ep in installed)
        message = (
            f"{LOAD_ENV} names {', '.join(repr(n) for n in sorted(unknown))}, which matches no "
            f"installed plugin; installed: {choices or 'none'}"
        )
        self.errors.append(message)
        if self.strict:
            raise PluginError(message, hint="Check the spelling in " + LOAD_ENV + ".")
        self._warn(f"storyframe: warning: {message}")

    def _warn(self, line: str) -> None:
        self.warnings.append(line)
        print(line, file=sys.stderr)

    def _fail(self, info: PluginInfo, what: str, error: BaseException) -> None:
        """Report a failing plugin and unregister it whole (or raise, in strict mode)."""
        message = (
            f"plugin {info.name!r} ({info.distribution}) {what}: {type(error).__name__}: {error}"
        )
        info.error = message
        self.errors.append(message)
        self._discard(info)
        if self.strict:
            raise PluginError(message, hint=f"Unset {STRICT_ENV} to skip broken plugins.")
        self._warn(f"storyframe: warning: {message}; the plugin is skipped")

    def _discard(self, info: PluginInfo) -> None:
        """Forget everything ``info``'s plugin registered, and the plugin itself."""
        for name in info.text_providers:
            self.text_providers.pop(name, None)
        for name in info.image_providers:
            self.image_providers.pop(name, None)
        for name in info.styles:
            self.styles.pop(name, None)
        info.text_providers, info.image_providers, info.styles = [], [], []
        for group in self._groups:  # commands added before a later hook failed
            for name in info.commands:
                group.commands.pop(name, None)
        info.commands = []
        if self.pm.get_plugin(info.name) is not None:
            self.pm.unregister(name=info.name)
            self.pm.set_blocked(info.name)

    def _call(self, plugin: object, hook_name: str, **kwargs: Any) -> None:
        """Call one plugin's implementation of a hook, through pluggy (so tracing sees it)."""
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        self.tracer.added = []
        self.pm.subset_hook_caller(hook_name, remove_plugins=others)(**kwargs)

    def _implementers(self, hook_name: str) -> list[tuple[PluginInfo, object]]:
        """The plugins implementing a hook, in load order (built-ins first)."""
        found = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            info = self.plugins.get(impl.plugin_name)
            if info is not None:
                found.append((info, impl.plugin))
        order = list(self.plugins)
        return sorted(found, key=lambda pair: order.index(pair[0].name))

    def _add_commands_of(self, info: PluginInfo, plugin: object, cli: click.Group) -> None:
        before = dict(cli.commands)
        try:
            self._call(plugin, "register_commands", cli=cli)
        except Exception as error:
            for name in set(cli.commands) - set(before):
                cli.commands.pop(name)
            self._fail(info, "hook register_commands raised", error)
            return
        info.commands = sorted(set(cli.commands) - set(before))

    def collect(self) -> None:
        """Run the registration hooks plugin by plugin, built-ins first so they keep their names.

        Once; this is where provider modules (and pydantic models) are first imported.
        """
        if self.collected:
            return
        self.load_plugins()
        self.collected = True
        hooks = (
            ("register_text_providers", self._register_text),
            ("register_image_providers", self._register_image),
            ("register_styles", self._register_style),
        )
        for info in list(self.plugins.values()):
            self._current = info
            for hook_name, register in hooks:
                plugin = self.pm.get_plugin(info.name)
                if plugin is None:  # not loaded, or unregistered after a failure
                    break
                if not any(
                    i.plugin is plugin for i in getattr(self.pm.hook, hook_name).get_hookimpls()
                ):
                    continue
                try:
                    self._call(plugin, hook_name, register=register)
                except PluginError as error:
                    self._fail(info, f"hook {hook_name} registered something invalid", error)
                except Exception as error:
                    self._fail(info, f"hook {hook_name} raised", error)
        self._current = None
        if not self._commands_added:  # else a register_commands failure would be cached too
            infocache.save_plugins(self)

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
        from storyframe.providers import TextProvider

        name = self._check_provider(cls, TextProvider, self.text_providers)
        self.text_providers[name] = cls
        self.tracer.added.append(f"text provider {name!r}")
        if self._current:
            self._current.text_providers.append(name)

    def _register_image(self, cls: type[ImageProvider]) -> None:
        from storyframe.providers import ImageProvider

        name = self._check_provider(cls, ImageProvider, self.image_providers)
        self.image_providers[name] = cls
        self.tracer.added.append(f"image provider {name!r}")
        if self._current:
            self._current.image_providers.append(name)

    def _register_style(self, style: Style) -> None:
        from storyframe.models import Style

        if not isinstance(style, Style):
            raise PluginError(f"{style!r} is not a storyframe.models.Style")
        if style.name in self.styles:
            raise PluginError(f"a style named {style.name!r} is already registered")
        self.styles[style.name] = style
        self.tracer.added.append(f"style {style.name!r}")
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
        """Let plugins add CLI commands (once per group); needs no provider or style."""
        if id(cli) in self._commands_added:
            return
        self.load_plugins()
        self._commands_added.add(id(cli))
        self._groups.append(cli)
        for info, plugin in self._implementers("register_commands"):
            self._add_commands_of(info, plugin, cli)


_host: PluginHost | None = None


def get_host(*, collect: bool = True) -> PluginHost:
    """The process-wide plugin host, loaded on first use.

    ``collect=False`` loads the plugins without running their provider and style hooks (what
    ``add_commands`` needs, and all ``storyframe --help`` needs); they run on the first call
    that wants them.
    """
    global _host
    if _host is None:
        _host = PluginHost()
    host = _host
    try:
        host.load_plugins()
        if collect:
            host.collect()
    except BaseException:
        _host = None
        raise
    return host


def reset() -> None:
    """Forget loaded plugins (tests use it to load again under other settings)."""
    global _host
    _host = None


def plugin_packages() -> set[str]:
    """The top-level packages of the loaded entry-point plugins (empty before loading)."""
    if _host is None:
        return set()
    return {
        info.module.split(":")[0].split(".")[0]
        for info in _host.plugins.values()
        if not info.builtin and info.error is None
    }


Register = Callable[[Any], None]

__all__ = [
    "BUILTIN_NAME",
    "ENTRY_POINT_GROUP",
    "LOAD_ENV",
    "STRICT_ENV",
    "TRACE_ENV",
    "EntryPoint",
    "PluginHost",
    "PluginInfo",
    "entry_points",
    "get_host",
    "plugin_packages",
    "reset",
]
