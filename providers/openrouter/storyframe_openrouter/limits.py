"""What a model can take and give: its context window and its longest answer, in tokens.

The figures come from, in order: the provider config (``context_length``,
``max_output_tokens``); OpenRouter's ``GET /models``, cached in the user cache directory for
``models_cache_ttl`` seconds; a stale cached copy when the service cannot be reached; and last,
conservative defaults. ``top_provider`` figures win over the model's own ones, because the
service checks the routed endpoint's limit (see docs/providers/openrouter.md).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storyframe.errors import StoryframeError

if TYPE_CHECKING:
    from storyframe_openrouter.chat import ChatClient
    from storyframe_openrouter.config import OpenRouterConfig

log = logging.getLogger("storyframe.openrouter")

DEFAULT_CONTEXT = 32_000
"""The context assumed for a model nobody could tell us about."""
DEFAULT_OUTPUT = 4096
"""The answer length assumed for a model nobody could tell us about."""
CACHE_NAME = "openrouter-models-v2.json"
"""v2 entries add the prices: [context, max output, prompt price, answer price]."""


@dataclass(frozen=True)
class ModelLimits:
    """A model's context window and output limit, and where the figures came from."""

    context_length: int
    max_output: int
    source: str

    def output_cap(self) -> int:
        """The largest ``max_tokens`` worth asking for (never more than half the context)."""
        return max(16, min(self.max_output, self.context_length // 2))


def cache_path() -> Path:
    """The cached ``GET /models`` figures, in the user cache directory."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("storyframe")) / CACHE_NAME


def parse_models(payload: Any) -> dict[str, list[Any]]:
    """``{model id: [context_length, max_completion_tokens, prompt price, completion price]}``
    from a ``GET /models`` body (prices in USD per token, ``None`` when not given)."""
    out: dict[str, list[Any]] = {}
    data = payload.get("data") if isinstance(payload, dict) else None
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        top = item.get("top_provider")
        top = top if isinstance(top, dict) else {}
        context = _int(top.get("context_length")) or _int(item.get("context_length"))
        pricing = item.get("pricing")
        pricing = pricing if isinstance(pricing, dict) else {}
        out[item["id"]] = [
            context,
            _int(top.get("max_completion_tokens")),
            _price(pricing.get("prompt")),
            _price(pricing.get("completion")),
        ]
    return out


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _price(value: Any) -> float | None:
    """A ``pricing`` value (a string of USD per token) as a float; ``None`` if unusable."""
    try:
        price = float(value)
    except (TypeError, ValueError):
        return None
    return price if price >= 0 else None  # -1 marks a router's variable price


def _read_cache(path: Path, base_url: str) -> tuple[float, dict[str, Any]] | None:
    try:
        entry = json.loads(path.read_text(encoding="utf-8")).get(base_url)
        return float(entry["fetched_at"]), dict(entry["models"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _write_cache(path: Path, base_url: str, models: dict[str, Any]) -> None:
    try:
        everything = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if not isinstance(everything, dict):
            everything = {}
    except (OSError, ValueError):
        everything = {}
    everything[base_url] = {"fetched_at": time.time(), "models": models}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(everything), encoding="utf-8")
        temporary.replace(path)
    except OSError as error:  # a cache that cannot be written only costs a lookup next time
        log.info("openrouter: cannot write %s: %s", path, error)


async def catalogue(
    chat: ChatClient, config: OpenRouterConfig, *, path: Path | None = None
) -> tuple[dict[str, Any] | None, str]:
    """The parsed ``GET /models`` (fresh cache, else the service, else a stale cache) and
    where it came from. ``GET /models`` is free and needs no key."""
    path = path or cache_path()
    cached = _read_cache(path, config.base_url)
    if cached is not None and time.time() - cached[0] < config.models_cache_ttl:
        return cached[1], "cache"
    try:
        response = await chat.http.request(
            "GET", "models", retry=False, timeout=min(config.timeout, 30.0)
        )
        models = parse_models(response.json(provider=chat.provider))
        _write_cache(path, config.base_url, models)
        return models, "service"
    except StoryframeError as error:
        log.info("openrouter: GET /models failed (%s)", error.one_line())
        if cached is not None:
            return cached[1], "stale cache"
    return None, "default"


def _entry(models: dict[str, Any] | None, model: str) -> list[Any]:
    entry = (models or {}).get(model)
    return [*entry, None, None, None, None][:4] if isinstance(entry, list) else [None] * 4


async def model_limits(
    chat: ChatClient, config: OpenRouterConfig, *, path: Path | None = None
) -> ModelLimits:
    """The limits of ``config.model``: config overrides, else the (cached) catalogue."""
    if config.context_length and config.max_output_tokens:
        return ModelLimits(config.context_length, config.max_output_tokens, "config")
    models, source = await catalogue(chat, config, path=path)
    context, output = _entry(models, config.model)[:2]
    if context is None and source != "default":
        log.info("openrouter: %s not in the model list; assuming defaults", config.model)
        source = "default"
    return ModelLimits(
        config.context_length or context or DEFAULT_CONTEXT,
        config.max_output_tokens or output or min(DEFAULT_OUTPUT, (context or DEFAULT_CONTEXT)),
        "config" if config.context_length or config.max_output_tokens else source,
    )


async def model_prices(
    chat: ChatClient, config: OpenRouterConfig, *, path: Path | None = None
) -> tuple[float, float] | None:
    """USD per prompt token and per answer token of ``config.model`` from the catalogue, or
    ``None`` when it does not say."""
    models, _ = await catalogue(chat, config, path=path)
    prompt, answer = _entry(models, config.model)[2:]
    if prompt is None or answer is None:
        return None
    return float(prompt), float(answer)
