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
import itertools
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import SecretStr

from storyframe.errors import BadResponse, ProviderError
from storyframe.models import (
    GeneratedImage,
    ImageRequest,
    ReferenceImage,
    Scene,
    StoryAnalysis,
    Style,
    TextCall,
    Usage,
)
from storyframe.provider_models import (
    BaseURL,
    Capabilities,
    CheckResult,
    JobStatus,
    ProviderConfig,
    ProviderKind,
)

if TYPE_CHECKING:
    from storyframe.cost import CostEstimate
    from storyframe.download import DownloadedImage


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


@dataclass(frozen=True)
class TextJob:
    """What the pipeline tells a text provider before ``analyze``, so it can plan the run.

    ``scenes`` is the count wanted, or ``None`` for "auto" (then ``scene_range`` bounds it);
    ``cache_dir`` is a per-project folder the provider may keep reusable work in.
    """

    scenes: int | None = None
    scene_range: tuple[int, int] = (1, 200)
    cache_dir: Path | None = None


class TextProvider(Provider):
    """Reads a story and writes scenes.

    ``usage`` accumulates tokens and cost over the provider's calls and ``calls`` may list them
    one by one; the pipeline copies both into the manifest. The pipeline sets ``job`` before
    calling ``analyze``; providers that do not plan ahead ignore it.
    """

    kind = "text"
    job: TextJob | None = None

    def __init__(self, config: ProviderConfig | None = None, api_key: SecretStr | None = None):
        super().__init__(config, api_key)
        self.usage = Usage()
        self.calls: list[TextCall] = []

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

    async def estimate(self, story: str, scenes: int) -> CostEstimate | None:
        """What analysing ``story`` and writing ``scenes`` scenes would cost, with no paid call.

        ``None`` means unknown. By default: free for a provider that needs no key; else from
        ``price_per_1k_tokens`` and a rough token count; else unknown. Override it to use the
        service's price list (reading a free catalogue is fine; a paid call is not).
        """
        from storyframe.cost import CostEstimate, free

        if not self.needs_key:
            return free(1, 1.0)
        price = self.config.price_per_1k_tokens
        if price is None:
            return None
        tokens = len(story) / 4 + 1500 + scenes * 260
        return CostEstimate(
            low=tokens * price / 1000,
            high=tokens * 1.5 * price / 1000,
            requests=1,
            seconds_low=5.0,
            seconds_high=60.0,
            basis="configured price",
        )


ImageResult = GeneratedImage | ProviderError
PaidListener = Callable[[ImageRequest, GeneratedImage], Awaitable[None]]
UploadListener = Callable[[ReferenceImage, str | None], Awaitable[None]]


class ImageProvider(Provider):
    """Draws images from :class:`~storyframe.models.ImageRequest` objects.

    Paid work: storyframe journals each request's ``handle`` before the request is sent. A
    provider whose service accepts a client-chosen task id uses the handle as that id, declares
    ``capabilities.recover`` and implements :meth:`recover`, so a later run asks the service for
    the work instead of buying it again. A provider that downloads its images itself awaits
    :meth:`paid` once the service has given the result, before the download, so a failed download
    is retried from the URL, never bought twice.
    """

    kind = "image"
    _downloads: tuple[str, Iterator[int]] | None = None  # see download_dest

    def __init__(self, config: ProviderConfig | None = None, api_key: SecretStr | None = None):
        super().__init__(config, api_key)
        self.paid_listener: PaidListener | None = None
        """Set by storyframe to journal finished paid work; providers call :meth:`paid`."""
        self.upload_listener: UploadListener | None = None
        """Set by storyframe to save an upload id a provider replaced; see :meth:`uploaded`."""
        self.download_dir: Path | None = None
        """Set by storyframe: where :meth:`fetch` leaves verified downloads (the project's
        ``images/``), so an image is written once and moved into place, never held in memory."""

    def download_dest(self) -> Path | None:
        """A fresh file name in :attr:`download_dir` for one download (``None``: keep bytes)."""
        if self.download_dir is None:
            return None
        if self._downloads is None:  # a random name per provider, numbered: no syscall per image
            import uuid

            self._downloads = (uuid.uuid4().hex, itertools.count(1))
        prefix, numbers = self._downloads
        return self.download_dir / f".{prefix}-{next(numbers)}.download.tmp"

    async def paid(self, request: ImageRequest, image: GeneratedImage) -> None:
        """Report that the service finished ``request`` (and charged for it) with ``image``."""
        if self.paid_listener is not None:
            await self.paid_listener(request, image)

    async def uploaded(self, reference: ReferenceImage, upload_id: str | None) -> None:
        """Report that the service no longer holds the upload ``reference.uploads[self.name]``
        and that ``upload_id`` now names the sheet (``None``: nothing does; it is uploaded again
        by a later run). storyframe saves it in the manifest, so no later run uploads again."""
        if self.upload_listener is not None:
            await self.upload_listener(reference, upload_id)

    async def estimate(self, request: ImageRequest) -> CostEstimate | None:
        """What drawing ``request`` would cost and take, with no paid call; ``None``: unknown.

        By default: free for a provider that needs no key; else ``price_per_image`` from the
        config; else unknown. Override it to add the service's own price list.
        """
        from storyframe.cost import CostEstimate, free

        if not self.needs_key:
            return free(1, 0.1)
        price = self.config.price_per_image
        if price is None:
            return None
        return CostEstimate(
            low=price,
            high=price,
            requests=1,
            seconds_low=3.0,
            seconds_high=30.0,
            basis="configured price",
        )

    def priced(self, image: GeneratedImage) -> GeneratedImage:
        """``image`` with a cost: the service's, else the configured price, else 0 if free.

        Left ``None`` (unknown) when none of these is known.
        """
        if image.cost is None:
            if not self.needs_key:
                image.cost = 0.0
            elif self.config.price_per_image is not None:
                image.cost = self.config.price_per_image
        return image

    def max_references(self) -> int:
        """The most reference images one request to this provider's model can carry.

        ``capabilities.references`` by default; a provider whose limit depends on the configured
        model (Runware: FLUX.1 Kontext 2, ACE++ 1, most models none) overrides it. A request's
        ``references`` are most important first: send the first ``max_references()`` of them.
        """
        return self.capabilities.references

    async def upload_reference(self, reference: ReferenceImage) -> str | None:
        """Keep a reference sheet at the service and return the id to refer to it by.

        Called by storyframe once per sheet and provider when ``capabilities.uploads`` is set;
        the id is saved in the manifest (``CharacterSheet.uploads``) before any request uses it
        and reaches later requests as ``reference.uploads[self.name]``, so a sheet is never
        uploaded twice, even across runs. ``None``: send the sheet inline each time.
        """
        return None

    async def recover(self, request: ImageRequest) -> GeneratedImage | None:
        """Find the work already submitted under ``request.handle``.

        Returns the image (a URL, or the bytes), or ``None`` when the service does not know the
        handle or says the work failed, so submitting it again cannot pay twice. Raises a
        ``ProviderError`` when the state cannot be learned now. By default (no ``recover``
        capability) every handle is unknown: the work is submitted again.
        """
        return None

    async def fetch(self, image: GeneratedImage) -> GeneratedImage:
        """Return ``image`` with its bytes, downloading ``image.url`` if it has none.

        The default download takes http(s) from any host, up to 50 MB, with the core checks
        (type, magic bytes, a complete decode) and the retry policy; override it to restrict
        hosts or use the provider's own client.
        """
        if image.data is not None:
            return image
        if not image.url:
            raise BadResponse(
                "the provider returned neither image data nor a URL", provider=self.name
            )
        from storyframe.download import download_image
        from storyframe.http import HttpClient

        client = HttpClient(self.name, self.config)
        try:
            fetched = await download_image(
                client,
                image.url,
                self.download_dest(),
                allowed_hosts=None,
                max_bytes=50_000_000,
            )
        finally:
            await client.aclose()
        return with_download(image, fetched)

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
                return self.priced(image)

        return list(await asyncio.gather(*(one(r) for r in requests)))

    async def status(self, task_id: str) -> JobStatus:
        """The state of an asynchronous job; only services with async jobs implement it."""
        raise NotImplementedError(f"{self.name} has no asynchronous jobs")


def with_download(image: GeneratedImage, fetched: DownloadedImage) -> GeneratedImage:
    """``image`` with what :func:`~storyframe.download.download_image` verified: its bytes, or
    the file it left, with type, size and checksum."""
    return image.model_copy(
        update={
            "data": fetched.data,
            "path": fetched.path,
            "sha256": fetched.sha256,
            "file_size": fetched.size,
            "media_type": fetched.media_type,
            "width": fetched.width,
            "height": fetched.height,
        }
    )


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
    "PaidListener",
    "Provider",
    "ProviderConfig",
    "ProviderKind",
    "TextJob",
    "TextProvider",
    "UploadListener",
    "provider_info",
    "with_download",
]
