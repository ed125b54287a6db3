"""The ``[providers.openrouter]`` and ``[providers.openrouter-image]`` config sections."""

from __future__ import annotations

from typing import TypeVar

from pydantic import Field

from storyframe.providers import BaseURL, ProviderConfig

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
DEFAULT_TEXT_MODEL = "openai/gpt-4o-mini"
DEFAULT_IMAGE_MODEL = "google/gemini-2.5-flash-image"
DEFAULT_APP_TITLE = "storyframe"
DEFAULT_MAX_REFERENCES = 2

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
    max_tokens: int | None = Field(
        default=None,
        ge=16,
        le=200_000,
        description="A fixed output token budget per answer; unset (the default) derives it "
        "from the work asked for and the model's output limit.",
    )
    context_length: int | None = Field(
        default=None,
        ge=1024,
        description="The model's context window in tokens; unset: from GET /models.",
    )
    max_output_tokens: int | None = Field(
        default=None,
        ge=16,
        description="The model's largest answer in tokens; unset: from GET /models.",
    )
    context_share: float = Field(
        default=0.6,
        gt=0.05,
        le=0.95,
        description="The share of the context one call may fill (prompt plus answer); a story "
        "that does not fit is planned chunk by chunk.",
    )
    models_cache_ttl: float = Field(
        default=86_400.0,
        ge=0,
        description="Seconds the cached GET /models answer stays fresh (a stale copy is still "
        "used when the service is unreachable).",
    )
    chunk_tokens: int = Field(
        default=24_000,
        ge=1000,
        description="The largest chunk of story one beat-summary call reads, in tokens.",
    )
    beat_tokens: int = Field(
        default=800,
        ge=100,
        description="Story tokens per beat: a chunk of 8,000 tokens yields about 10 beats.",
    )
    scene_batch: int = Field(
        default=10, ge=1, le=50, description="The most scenes one writing call asks for."
    )
    passage_chars: int = Field(
        default=1200,
        ge=200,
        le=20_000,
        description="Characters of source passage sent with each scene to write or repair.",
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
    max_references: int = Field(
        default=DEFAULT_MAX_REFERENCES,
        ge=0,
        le=16,
        description="The most character reference sheets sent with one image, as image parts "
        "of the message (the number a model takes varies; 0 sends none, for a model without "
        "image input).",
    )


def coerce(config: ProviderConfig | None, model: type[C]) -> C:
    """``config`` as a ``model`` (defaults when ``None``; re-validated if it is another type)."""
    if config is None:
        return model()
    if isinstance(config, model):
        return config
    return model.model_validate(config.model_dump(exclude_unset=True))
