"""The registry: turns the configured fallback chains into working providers.

A chain is an ordered list of provider names. A provider that is not configured (no key) is
skipped with a one-line note; one that fails after its retries hands the work to the next; which
provider did each piece of work is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import SecretStr

from storyframe.config import Config, resolve_key
from storyframe.errors import (
    AuthError,
    ConfigError,
    NotConfigured,
    ProviderError,
    QuotaError,
)
from storyframe.keys import KeyStore
from storyframe.models import GeneratedImage, ImageRequest, Scene, StoryAnalysis, Style, Usage
from storyframe.plugins import PluginHost, get_host
from storyframe.providers import ImageProvider, Provider, ProviderConfig, TextProvider

P = TypeVar("P", bound=Provider)
Notify = Callable[[str], None]

# Errors after which a provider is not asked again in the same run.
_DISABLING = (AuthError, QuotaError, NotConfigured)


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
                        f"{origin}: [providers.{name}]: unknown provider {name!r}.",
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
                    f"{what or 'not an installed provider class'}.",
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
            raise ConfigError(
                f"unknown provider {name!r}.",
                hint=f"Installed providers: {', '.join(self.names())}.",
            )
        return self._slot(name, cls)

    def _slot(self, name: str, cls: type[P]) -> Slot[P]:
        config = self.config.provider_config(cls, name)
        key_env = self.config.key_env(cls, name)
        key, source = resolve_key(cls, config, name=name, key_env=key_env, store=self.keys)
        keyless = self.config.is_instance(name) and not key_env
        return Slot(name, cls, config, key, source, key_env=key_env, keyless=keyless)

    def _slots(
        self, names: Sequence[str], table: dict[str, type[P]], section: str
    ) -> list[Slot[P]]:
        slots: list[Slot[P]] = []
        for name in names:
            cls = table.get(self.config.uses(name))
            if cls is None:
                raise ConfigError(
                    f"{self.config.origin()}: [{section}] providers: unknown {section} "
                    f"provider {name!r}.",
                    hint=f"Installed {section} providers: {', '.join(self.names(section))}.",
                )
            slots.append(self._slot(name, cls))
        return slots

    def text_slots(self, names: Sequence[str] | None = None) -> list[Slot[TextProvider]]:
        """The text chain (``[text] providers`` unless ``names`` overrides it)."""
        return self._slots(names or self.config.text.providers, self.host.text_providers, "text")

    def image_slots(self, names: Sequence[str] | None = None) -> list[Slot[ImageProvider]]:
        """The image chain (``[image] providers`` unless ``names`` overrides it)."""
        return self._slots(names or self.config.image.providers, self.host.image_providers, "image")

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
                f"unknown style {name!r}.",
                hint=f"Available styles: {', '.join(sorted(self.styles))}.",
            )
        return style


class Chain(Generic[P]):
    """Built providers of one chain, in order, with the bookkeeping of fallback."""

    def __init__(self, slots: Sequence[Slot[P]], notify: Notify | None = None) -> None:
        self.notes: list[str] = []
        self._notify = notify
        self.providers: list[P] = []
        self.disabled: set[str] = set()
        for slot in slots:
            if slot.configured:
                self.providers.append(slot.build())
            else:
                self.note(f"{slot.name}: skipped, {slot.reason}")
        if not self.providers:
            raise ConfigError(
                f"no provider in the chain [{', '.join(s.name for s in slots)}] is configured.",
                hint="Add a built-in provider (heuristic, placeholder) to the chain or set a key.",
            )

    def note(self, message: str) -> None:
        """Record a one-line note about the chain and pass it to the listener."""
        self.notes.append(message)
        if self._notify:
            self._notify(message)

    def active(self) -> list[P]:
        """The providers still worth asking, in order."""
        return [p for p in self.providers if p.name not in self.disabled]

    def failed(self, provider: P, error: ProviderError, what: str) -> None:
        """Note a failure; disable the provider for the run if it cannot recover."""
        if isinstance(error, _DISABLING):
            self.disabled.add(provider.name)
        self.note(f"{provider.name}: {what} failed ({type(error).__name__}: {error})")

    async def aclose(self) -> None:
        """Close every provider."""
        await asyncio.gather(*(p.aclose() for p in self.providers), return_exceptions=True)


T = TypeVar("T")


class TextChain(Chain[TextProvider]):
    """The text chain: each call goes to the first provider that succeeds."""

    def __init__(self, slots: Sequence[Slot[TextProvider]], notify: Notify | None = None):
        super().__init__(slots, notify)
        self.used: dict[str, str] = {}

    async def _first(
        self, what: str, call: Callable[[TextProvider], Awaitable[T]]
    ) -> tuple[T, str]:
        last: ProviderError | None = None
        candidates = self.active()
        for index, provider in enumerate(candidates):
            try:
                result = await call(provider)
            except ProviderError as error:
                error.provider = error.provider or provider.name
                last = error
                self.failed(provider, error, what)
                if what != "prompt enhancement":
                    # A provider that failed a whole step after its retries is not asked again.
                    self.disabled.add(provider.name)
                if index + 1 < len(candidates):
                    self.note(f"{what}: falling back to {candidates[index + 1].name}")
                continue
            self.used[what] = provider.name
            return result, provider.name
        if last is None:
            raise ConfigError("every text provider is disabled for this run.")
        raise last

    async def analyze(self, story: str) -> tuple[StoryAnalysis, str]:
        """Analyse the story; returns the analysis and the provider that made it."""
        return await self._first("analysis", lambda p: p.analyze(story))

    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None
    ) -> tuple[list[Scene], str]:
        """Write the scenes; returns them and the provider that wrote them."""
        return await self._first(
            "scene writing", lambda p: p.generate_scenes(story, n, style, analysis)
        )

    async def enhance_prompt(
        self, scene: Scene, analysis: StoryAnalysis | None, style: Style
    ) -> str:
        """Improve one scene's image prompt (falls back to the prompt unchanged)."""
        try:
            prompt, _ = await self._first(
                "prompt enhancement", lambda p: p.enhance_prompt(scene, analysis, style)
            )
        except ProviderError:
            return scene.image_prompt
        return prompt

    def usage(self) -> Usage:
        """Tokens and cost summed over the chain's providers."""
        total = Usage()
        for provider in self.providers:
            total.add(provider.usage)
        return total


@dataclass
class ImageOutcome:
    """How one image request ended: the image (and who drew it) or the last error."""

    request: ImageRequest
    image: GeneratedImage | None = None
    provider: str | None = None
    error: ProviderError | None = None
    attempts: list[str] = field(default_factory=list)


OnOutcome = Callable[[ImageOutcome], Awaitable[None]]


class ImageChain(Chain[ImageProvider]):
    """The image chain: each request falls back on its own, so one failure spares the rest."""

    def batch_size(self) -> int:
        """How many requests the first provider likes to get at once."""
        active = self.active()
        size = getattr(active[0].config, "batch_size", 1) if active else 1
        return max(1, int(size))

    async def generate(
        self,
        requests: Sequence[ImageRequest],
        on_outcome: OnOutcome | None = None,
        *,
        concurrency: int = 4,
    ) -> list[ImageOutcome]:
        """Draw ``requests``, ``concurrency`` batches at a time.

        ``on_outcome`` is awaited as each request ends, so the caller can save work as it comes.
        """
        size = self.batch_size()
        batches = [list(requests[i : i + size]) for i in range(0, len(requests), size)]
        limit = asyncio.Semaphore(concurrency)

        async def run(batch: list[ImageRequest]) -> list[ImageOutcome]:
            async with limit:
                return await self._batch(batch, on_outcome)

        results = await asyncio.gather(*(run(b) for b in batches))
        return [outcome for batch in results for outcome in batch]

    async def _batch(
        self, requests: list[ImageRequest], on_outcome: OnOutcome | None
    ) -> list[ImageOutcome]:
        outcomes = {r.scene_number: ImageOutcome(r) for r in requests}
        pending = list(requests)
        for provider in self.providers:
            if not pending:
                break
            if provider.name in self.disabled:
                continue
            results = await provider.generate_many(pending)
            still: list[ImageRequest] = []
            for request, result in zip(pending, results, strict=True):
                outcome = outcomes[request.scene_number]
                if isinstance(result, GeneratedImage):
                    outcome.image, outcome.provider, outcome.error = result, provider.name, None
                    if on_outcome:
                        await on_outcome(outcome)
                    continue
                result.provider = result.provider or provider.name
                outcome.error = result
                outcome.attempts.append(f"{provider.name}: {type(result).__name__}: {result}")
                if isinstance(result, _DISABLING) and provider.name not in self.disabled:
                    self.disabled.add(provider.name)
                    self.note(
                        f"{provider.name}: disabled for this run ({type(result).__name__}: "
                        f"{result})"
                    )
                still.append(request)
            if still:
                numbers = ", ".join(str(r.scene_number) for r in still)
                self.note(f"{provider.name}: scene(s) {numbers} failed; trying the next provider")
            pending = still
        for request in pending:
            outcome = outcomes[request.scene_number]
            if outcome.error is None:  # no provider was left to try
                outcome.error = ProviderError("every image provider is disabled for this run.")
            if on_outcome:
                await on_outcome(outcome)
        return [outcomes[r.scene_number] for r in requests]


__all__ = [
    "Chain",
    "ImageChain",
    "ImageOutcome",
    "Registry",
    "Slot",
    "TextChain",
]
