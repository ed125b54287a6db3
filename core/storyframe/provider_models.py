"""The pydantic models of the provider contract: a provider's ``[providers.NAME]`` config (the
settings every provider shares), its capabilities, and what ``check`` and ``status`` answer.

Plugin authors import them from :mod:`storyframe.providers`, which re-exports them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FilePath,
)

from storyframe.models import GeneratedImage

ProviderKind = Literal["text", "image"]


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"must be an http(s) URL, not {value!r}")
    return value.rstrip("/")


BaseURL = Annotated[str, AfterValidator(_http_url)]
"""A config field type for a service's base URL: http(s) only, no trailing slash."""


def _expand_user(value: Any) -> Any:
    return Path(value).expanduser() if isinstance(value, str | Path) else value


class ProviderConfig(BaseModel):
    """Settings every provider accepts; subclass it to add the provider's own.

    Unknown keys are errors, so a typo in ``storyframe.toml`` is reported, not ignored.
    """

    model_config = ConfigDict(extra="forbid")

    api_key_file: Annotated[FilePath, BeforeValidator(_expand_user)] | None = Field(
        default=None,
        description="A file holding the API key (used when neither the key variable nor a "
        "stored key is set).",
    )
    timeout: float = Field(default=120.0, gt=0, description="Seconds one HTTP request may take.")
    connect_timeout: float = Field(default=10.0, gt=0, description="Seconds to connect.")
    max_attempts: int = Field(default=4, ge=1, le=20, description="Tries per request.")
    max_retry_seconds: float = Field(
        default=120.0, gt=0, description="Total seconds one request may spend retrying."
    )
    backoff_base: float = Field(
        default=0.5, ge=0, description="First backoff delay in seconds (doubles each retry)."
    )
    backoff_max: float = Field(default=20.0, ge=0, description="Longest backoff delay, seconds.")
    retry_after_cap: float = Field(
        default=60.0, ge=0, description="Longest Retry-After delay honoured, seconds."
    )
    concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description=(
            "Requests in flight at once. Set for an image provider, also the most images it "
            "draws at once (a run asking for more is held to it and says so); left out, the "
            "run's concurrency decides how many images are in flight."
        ),
    )
    requests_per_minute: float | None = Field(
        default=None, gt=0, description="Optional cap on the request rate."
    )
    deadline: float = Field(
        default=900.0,
        gt=0,
        description="Seconds one provider call may take in all, retries and polling included.",
    )
    breaker_failures: int = Field(
        default=3,
        ge=1,
        description="Failed pieces of work in a row after which the provider rests for the run.",
    )
    # Cost (see storyframe.cost): used when the service reports no cost of its own.
    price_per_image: float | None = Field(
        default=None,
        ge=0,
        description="USD per image, for estimates and for images the service reports no cost "
        "for (unset: the provider's own price list, else unknown).",
    )
    price_per_1k_tokens: float | None = Field(
        default=None,
        ge=0,
        description="USD per 1,000 tokens (prompt and answer), for estimates and for calls the "
        "service reports no cost for (unset: the service's price list, else unknown).",
    )


class Capabilities(BaseModel):
    """What a provider can honour, shown by ``storyframe providers``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: bool = False
    negative_prompt: bool = False
    min_size: int = 64
    max_size: int = 4096
    size_multiple: int = 1
    max_prompt_length: int | None = None
    async_jobs: bool = False
    structured_output: bool = False
    recover: bool = False
    """Whether :meth:`ImageProvider.recover` can find paid work again by its handle."""
    exact_size: bool = True
    """Whether images come out at exactly the requested width and height (False when the
    service only takes an aspect ratio, say)."""
    references: int = 0
    """The most reference images one request can carry (0: character looks go as text only);
    a provider whose limit depends on its model overrides :meth:`ImageProvider.max_references`."""
    reference_mechanism: str = ""
    """How references reach the service, for people: ``"referenceImages"``, ``"ipAdapters"``,
    ``"image content parts"``..."""
    uploads: bool = False
    """Whether :meth:`ImageProvider.upload_reference` keeps a sheet at the service for reuse."""

    def summary(self) -> str:
        """A short human-readable list, for tables."""
        parts = []
        if self.seed:
            parts.append("seed")
        if self.negative_prompt:
            parts.append("negative prompt")
        if self.structured_output:
            parts.append("structured output")
        if self.async_jobs:
            parts.append("async jobs")
        if self.recover:
            parts.append("recovers paid work")
        if self.references:
            parts.append(f"references<={self.references}")
        if self.max_prompt_length:
            parts.append(f"prompt<={self.max_prompt_length}")
        if not self.exact_size:
            parts.append("approximate size")
        if self.size_multiple > 1 or self.max_size != 4096:
            parts.append(f"size {self.min_size}-{self.max_size}/{self.size_multiple}")
        return ", ".join(parts) or "-"


class CheckResult(BaseModel):
    """The outcome of a provider's health check."""

    model_config = ConfigDict(extra="forbid")

    ok: bool
    detail: str = ""
    balance: float | None = None


class JobStatus(BaseModel):
    """The state of an asynchronous job at a service."""

    model_config = ConfigDict(extra="forbid")

    task_id: str
    state: Literal["processing", "success", "error", "unknown"]
    detail: str = ""
    images: list[GeneratedImage] = Field(default_factory=list)
