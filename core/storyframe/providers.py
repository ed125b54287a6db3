"""The provider contracts: what every text and image provider, bundled or third-party, implements.

A provider is a class. It declares its ``name``, whether it needs an API key and from which
environment variable, its ``capabilities``, and a pydantic ``config_model`` for its own
``[providers.NAME]`` section. storyframe builds it with the validated config and the key, uses it
as an async context manager, and calls its async methods.

Methods raise only :class:`~storyframe.errors.ProviderError` subclasses for failures of the work
itself; the pipeline decides retry and fallback from the class.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
)

from storyframe.errors import ProviderError
from storyframe.models import (
    GeneratedImage,
    ImageRequest,
    Scene,
    StoryAnalysis,
    Style,
    Usage,
)

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
        default=None, description="A file holding the API key (used when the variable is unset)."
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
    concurrency: int = Field(default=4, ge=1, le=64, description="Requests in flight at once.")
    requests_per_minute: float | None = Field(
        default=None, gt=0, description="Optional cap on the request rate."
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
    exact_size: bool = True
    """Whether images come out at exactly the requested width and height (False when the
    service only takes an aspect ratio, say)."""

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


class Provider(ABC):
    """What text and image providers share: identity, config, key, health check, lifecycle."""

    name: ClassVar[str]
    kind: ClassVar[ProviderKind]
    description: ClassVar[str] = ""
    needs_key: ClassVar[bool] = False
    key_env: ClassVar[str | None] = None
    config_model: ClassVar[type[ProviderConfig]] = ProviderConfig
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, config: ProviderConfig | None = None, api_key: SecretStr | None = None):
        self.config = config if config is not None else self.config_model()
        self.api_key = api_key

    @property
    def model_name(self) -> str:
        """The model this provider uses, for the manifest ("" if it has none)."""
        return str(getattr(self.config, "model", "") or "")

    async def check(self) -> CheckResult:
        """Check that the provider can work (key valid, service reachable). Never raises."""
        return CheckResult(ok=True, detail="built in")

    async def aclose(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Release sessions and other resources. Safe to call more than once."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class TextProvider(Provider):
    """Reads a story and writes scenes.

    ``usage`` accumulates tokens and cost over the provider's calls; the pipeline copies it into
    the manifest.
    """

    kind = "text"

    def __init__(self, config: ProviderConfig | None = None, api_key: SecretStr | None = None):
        super().__init__(config, api_key)
        self.usage = Usage()

    @abstractmethod
    async def analyze(self, story: str) -> StoryAnalysis:
        """Describe the story: counts, characters and their looks, places, themes, mood."""

    @abstractmethod
    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None = None
    ) -> list[Scene]:
        """Split the story into ``n`` scenes, numbered from 1, each with a visual image prompt.

        May return fewer than ``n`` only when the story is too short for ``n``.
        """

    async def enhance_prompt(
        self, scene: Scene, analysis: StoryAnalysis | None, style: Style
    ) -> str:
        """Rewrite a scene's image prompt with the story's context. By default, unchanged."""
        return scene.image_prompt


ImageResult = GeneratedImage | ProviderError


class ImageProvider(Provider):
    """Draws images from :class:`~storyframe.models.ImageRequest` objects."""

    kind = "image"

    @abstractmethod
    async def generate(self, request: ImageRequest) -> GeneratedImage:
        """Draw one image."""

    async def generate_many(self, requests: Sequence[ImageRequest]) -> list[ImageResult]:
        """Draw several images, at most ``config.concurrency`` at once.

        Returns one result per request, in order: the image, or the ``ProviderError`` that request
        ended with. One failure never fails the others.
        """
        limit = asyncio.Semaphore(self.config.concurrency)

        async def one(request: ImageRequest) -> ImageResult:
            async with limit:
                started = time.perf_counter()
                try:
                    image = await self.generate(request)
                except ProviderError as error:
                    error.provider = error.provider or self.name
                    return error
                if not image.elapsed:
                    image.elapsed = round(time.perf_counter() - started, 3)
                return image

        return list(await asyncio.gather(*(one(r) for r in requests)))

    async def status(self, task_id: str) -> JobStatus:
        """The state of an asynchronous job; only services with async jobs implement it."""
        raise NotImplementedError(f"{self.name} has no asynchronous jobs")


def provider_info(cls: type[Provider]) -> dict[str, Any]:
    """A plain description of a provider class, for listings and JSON output."""
    return {
        "name": cls.name,
        "kind": cls.kind,
        "description": cls.description,
        "needs_key": cls.needs_key,
        "key_env": cls.key_env,
        "capabilities": cls.capabilities.model_dump(),
    }


__all__ = [
    "BaseURL",
    "Capabilities",
    "CheckResult",
    "ImageProvider",
    "ImageResult",
    "JobStatus",
    "Provider",
    "ProviderConfig",
    "ProviderKind",
    "TextProvider",
    "provider_info",
]
