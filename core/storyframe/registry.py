"""The registry: turns the provider names of the configured chains into slots to build.

A chain is an ordered list of provider names; :mod:`storyframe.chains` and
:mod:`storyframe.image_chain` run the built providers with fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import SecretStr

from storyframe.config import Config, did_you_mean
from storyframe.errors import (
    ConfigError,
)
from storyframe.key_lookup import resolve_key
from storyframe.keys import KeyStore
from storyframe.models import Style
from storyframe.plugins import PluginHost, get_host
from storyframe.providers import ImageProvider, Provider, ProviderConfig, TextProvider

P = TypeVar("P", bound=Provider)
T = TypeVar("T")
Notify = Callable[[str], None]


@dataclass
class Slot(Generic[P]):
    """One entry of a chain: the provider class, its validated config and its key.

    ``name`` is the provider's name in the config: the class's own name, or an instance's.
    """

    name: str
    cls: type[P]
    config: ProviderConfig
    key: SecretStr | None
    key_source: str
    key_env: str | None = None
    keyless: bool = False
    plugin: str | None = None

    @property
    def configured(self) -> bool:
        """Whether the provider has what it needs to run."""
        return self.key is not None or not self.cls.needs_key or self.keyless

    @property
    def key_label(self) -> str:
        """Where the key comes from, for listings (never the key)."""
        if self.key_source:
            return self.key_source
        if not self.cls.needs_key:
            return "not needed"
        if self.keyless:
            return "none (keyless instance: no key_env)"
        return f"unset ({self.key_env or f'storyframe keys set {self.name}'})"

    @property
    def reason(self) -> str:
        """Why the provider is skipped ("" if it is not)."""
        if self.configured:
            return ""
        variable = f"set {self.key_env}, " if self.key_env else ""
        return (
            f"no API key ({variable}run `storyframe keys set {self.name}`, or set "
            f"[providers.{self.name}] api_key_file)"
        )

    def build(self) -> P:
        """Instantiate the provider; an instance knows its own name (it shadows the class's)."""
        if self.name == self.cls.name:
            return self.cls(self.config, self.key)
        provider = self.cls.__new__(self.cls)
        vars(provider)["name"] = self.name
        self.cls.__init__(provider, self.config, self.key)
        return provider


class Registry:
    """Resolves provider, instance and style names from config against what plugins registered.

    ``[providers.NAME]`` with ``use = "CLASS"`` is a named instance of a registered class; an
    instance and a class share one namespace. ``[styles.NAME]`` adds styles.
    """

    def __init__(
        self, config: Config, host: PluginHost | None = None, keys: KeyStore | None = None
    ) -> None:
        self.config = config
        self.host = host or get_host()
        self.keys = keys if keys is not None else KeyStore()
        self._check_sections()
        self.styles: dict[str, Style] = dict(self.host.styles)
        self.style_sources: dict[str, str] = {n: self._style_plugin(n) for n in self.styles}
        for style in config.build_styles(self.host.styles, self.style_sources):
            self.styles[style.name] = style
            self.style_sources[style.name] = "config"

    def _classes(self) -> dict[str, type[Provider]]:
        return {**self.host.text_providers, **self.host.image_providers}

    def _check_sections(self) -> None:
        classes = self._classes()
        origin = self.config.origin()
        for name in self.config.providers:
            use = self.config.uses(name)
            if not self.config.is_instance(name):
                if name not in classes:
                    raise ConfigError(
                        f"{origin}: [providers.{name}]: unknown provider {name!r}"
                        f"{did_you_mean(name, classes) or '.'}",
                        hint=f"Installed providers: {', '.join(sorted(classes))}; for a named "
                        'instance of one, add use = "CLASS".',
                    )
                continue
            if name in classes:
                raise ConfigError(
                    f"{origin}: [providers.{name}] use: {name!r} is a provider class; an "
                    "instance needs a name of its own.",
                    hint=f"Rename the section, e.g. [providers.my-{name}].",
                )
            if use not in classes:
                what = "an instance, not a provider class" if use in self.config.providers else ""
                raise ConfigError(
                    f"{origin}: [providers.{name}] use: {use!r} is "
                    f"{what or 'not an installed provider class'}"
                    f"{did_you_mean(use, classes) or '.'}",
                    hint=f"Provider classes: {', '.join(sorted(classes))}.",
                )

    def instances(self) -> dict[str, str]:
        """Each configured instance name and the class it uses."""
        return {n: self.config.uses(n) for n in self.config.providers if self.config.is_instance(n)}

    def names(self, kind: str | None = None) -> list[str]:
        """Every provider class and instance name (of ``kind``, "text" or "image", if given)."""
        found = [*self._classes(), *self.instances()]
        return sorted(n for n in found if kind is None or self._class_of(n).kind == kind)

    def _class_of(self, name: str) -> type[Provider]:
        return self._classes()[self.config.uses(name)]

    def slot(self, name: str) -> Slot[Provider]:
        """The slot of any registered provider or configured instance."""
        cls = self._classes().get(self.config.uses(name))
        if cls is None:
            known = self.names()
            raise ConfigError(
                f"unknown provider {name!r}{did_you_mean(name, known) or '.'}",
                hint=f"Installed providers: {', '.join(known)}.",
            )
        return self._slot(name, cls)

    def _slot(self, name: str, cls: type[P]) -> Slot[P]:
        config = self.config.provider_config(cls, name)
        key_env = self.config.key_env(cls, name)
        key, source = resolve_key(cls, config, name=name, key_env=key_env, store=self.keys)
        keyless = self.config.is_instance(name) and not key_env
        owner = self.host.owner(cls.name)
        return Slot(
            name,
            cls,
            config,
            key,
            source,
            key_env=key_env,
            keyless=keyless,
            plugin=owner.name if owner else None,
        )

    def _slots(
        self, names: Sequence[str], table: dict[str, type[P]], section: str, origin: str | None
    ) -> list[Slot[P]]:
        # Every name is checked before any key is read, so a typo is reported first.
        for name in names:
            if self.config.uses(name) not in table:
                where = f"{origin}: " if origin else ""
                known = self.names(section)
                raise ConfigError(
                    f"{where}unknown {section} provider {name!r}{did_you_mean(name, known) or '.'}",
                    hint=f"Installed {section} providers: {', '.join(known)}.",
                )
        slots: list[Slot[P]] = []
        for name in names:
            slots.append(self._slot(name, table[self.config.uses(name)]))
        return slots

    def text_slots(
        self, names: Sequence[str] | None = None, *, origin: str | None = None
    ) -> list[Slot[TextProvider]]:
        """The text chain: ``names`` if given (``origin`` says by whom, for errors), else
        ``[text] providers``."""
        table = self.host.text_providers
        if names:
            return self._slots(names, table, "text", origin)
        where = f"{self.config.origin()}: [text] providers"
        return self._slots(self.config.text.providers, table, "text", where)

    def image_slots(
        self, names: Sequence[str] | None = None, *, origin: str | None = None
    ) -> list[Slot[ImageProvider]]:
        """The image chain: ``names`` if given (``origin`` says by whom), else
        ``[image] providers``."""
        table = self.host.image_providers
        if names:
            return self._slots(names, table, "image", origin)
        where = f"{self.config.origin()}: [image] providers"
        return self._slots(self.config.image.providers, table, "image", where)

    def _style_plugin(self, name: str) -> str:
        for info in self.host.plugins.values():
            if name in info.styles:
                return "built-in" if info.builtin else info.name
        return "built-in"

    def style(self, name: str) -> Style:
        """The style called ``name``: registered by a plugin or defined in ``[styles.NAME]``."""
        style = self.styles.get(name)
        if style is None:
            raise ConfigError(
                f"unknown style {name!r}{did_you_mean(name, self.styles) or '.'}",
                hint=f"Available styles: {', '.join(sorted(self.styles))}.",
            )
        return style


__all__ = ["Registry", "Slot"]
