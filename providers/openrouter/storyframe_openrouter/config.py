"""The ``[providers.openrouter]`` and ``[providers.openrouter-image]`` config sections."""

from __future__ import annotations

from typing import TypeVar

from pydantic import Field

from storyframe.providers import BaseURL, ProviderConfig

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
DEFAULT_TEXT_MODEL = "openai/gpt-4o-mini"
DEFAULT_IMAGE_MODEL = "google/gemini-2.5-flash-image"
DEFAULT_APP_TITLE = "storyframe"

C = TypeVar("C", bound=ProviderConfig)


class OpenRouterBaseConfig(ProviderConfig):
    """What both OpenRouter providers accept (plus the inherited HTTP settings)."""

    model: str = Field(default=DEFAULT_TEXT_MODEL, description="The model slug.")
    base_url: BaseURL = Field(
        default=DEFAULT_BASE_URL, description="API root; /chat/completions and /key hang off it."
    )
    models: list[str] = Field(
        default_factory=list,
        description="OpenRouter's own fallback list, tried in order when `model` fails.",
    )
    app_url: str = Field(
        default="", description="Sent as HTTP-Referer (OpenRouter app attribution), if set."
    )
    app_title: str = Field(
        default=DEFAULT_APP_TITLE, description="Sent as X-OpenRouter-Title (app attribution)."
    )


class OpenRouterConfig(OpenRouterBaseConfig):
    """``[providers.openrouter]``: the text provider."""

    model: str = Field(
        default=DEFAULT_TEXT_MODEL,
        description="A model slug with structured-output support (json_schema).",
    )
    max_tokens: int = Field(
        default=4096,
        ge=16,
        le=200_000,
        description="Output token budget per answer (always sent; avoids spurious 402s).",
    )
    temperature: float | None = Field(
        default=None,
        ge=0,
        le=2,
        description="Sampling temperature; unset means the model's default. With "
        "require_parameters, models that reject it (reasoning models) become unroutable.",
    )
    enhance_max_chars: int = Field(
        default=900, ge=100, le=4000, description="Longest image prompt enhance_prompt returns."
    )


class OpenRouterImageConfig(OpenRouterBaseConfig):
    """``[providers.openrouter-image]``: the optional image provider."""

    model: str = Field(
        default=DEFAULT_IMAGE_MODEL,
        description="An image-capable model (output_modalities includes image).",
    )
    timeout: float = Field(default=180.0, gt=0, description="Seconds one HTTP request may take.")
    modalities: list[str] = Field(
        default_factory=lambda: ["image", "text"],
        description='Output modalities; ["image"] for image-only models (Flux, Sourceful).',
    )
    image_size: str | None = Field(
        default=None, description='image_config.image_size ("1K", "2K", "4K"); unset: default.'
    )


def coerce(config: ProviderConfig | None, model: type[C]) -> C:
    """``config`` as a ``model`` (defaults when ``None``; re-validated if it is another type)."""
    if config is None:
        return model()
    if isinstance(config, model):
        return config
    return model.model_validate(config.model_dump(exclude_unset=True))
