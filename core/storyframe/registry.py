"""The registry: turns the provider names of the configured chains into slots to build.

A chain is an ordered list of provider names; :mod:`storyframe.chains` and
:mod:`storyframe.image_chain` run the built providers with fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import SecretStr

from storyframe.config import Config, did_you_mean, resolve_key
from storyframe.errors import (
    ConfigError,
)
from storyframe.models import (
    Style,
)
from storyframe.plugins import PluginHost, get_host
from storyframe.providers import ImageProvider, Provider, ProviderConfig, TextProvider

P = TypeVar("P", bound=Provider)
T = TypeVar("T")
Notify = Callable[[str], None]


@dataclass
class Slot(Generic[P]):
    """One entry of a chain: the provider class, its validated config and its key."""

    name: str
    cls: type[P]
    config: ProviderConfig
    key: SecretStr | None
    key_source: str
    plugin: str | None = None

    @property
    def configured(self) -> bool:
        """Whether the provider has what it needs to run."""
        return self.key is not None or not self.cls.needs_key

    @property
    def reason(self) -> str:
        """Why the provider is skipped ("" if it is not)."""
        if self.configured:
            return ""
        return f"no API key (set {self.cls.key_env} or [providers.{self.name}] api_key_file)"

    def build(self) -> P:
        """Instantiate the provider."""
        return self.cls(self.config, self.key)


class Registry:
    """Resolves provider names from config against what the plugins registered."""

    def __init__(self, config: Config, host: PluginHost | None = None) -> None:
        self.config = config
        self.host = host or get_host()
        self._check_sections()

    def _check_sections(self) -> None:
        known = set(self.host.text_providers) | set(self.host.image_providers)
        for name in self.config.providers:
            if name not in known:
                raise ConfigError(
                    f"{self.config.origin()}: [providers.{name}]: unknown provider "
                    f"{name!r}{did_you_mean(name, known) or '.'}",
                    hint=f"Installed providers: {', '.join(sorted(known))}.",
                )

    def slot(self, name: str) -> Slot[Provider]:
        """The slot of any registered provider."""
        cls = self.host.provider_class(name)
        if cls is None:
            known = {*self.host.text_providers, *self.host.image_providers}
            raise ConfigError(f"unknown provider {name!r}{did_you_mean(name, known) or '.'}")
        config = self.config.provider_config(cls)
        key, source = resolve_key(cls, config)
        return Slot(name, cls, config, key, source)

    def _slots(
        self, names: Sequence[str], table: dict[str, type[P]], section: str, origin: str | None
    ) -> list[Slot[P]]:
        # Every name is checked before any key is read, so a typo is reported first.
        for name in names:
            if name not in table:
                where = f"{origin}: " if origin else ""
                raise ConfigError(
                    f"{where}unknown {section} provider {name!r}{did_you_mean(name, table) or '.'}",
                    hint=f"Installed {section} providers: {', '.join(sorted(table))}.",
                )
        slots: list[Slot[P]] = []
        for name in names:
            cls = table[name]
            config = self.config.provider_config(cls)
            key, source = resolve_key(cls, config)
            owner = self.host.owner(name)
            slots.append(Slot(name, cls, config, key, source, owner.name if owner else None))
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

    def style(self, name: str) -> Style:
        """The style registered as ``name``."""
        style = self.host.styles.get(name)
        if style is None:
            raise ConfigError(
                f"unknown style {name!r}{did_you_mean(name, self.host.styles) or '.'}",
                hint=f"Available styles: {', '.join(sorted(self.host.styles))}.",
            )
        return style


__all__ = ["Registry", "Slot"]
