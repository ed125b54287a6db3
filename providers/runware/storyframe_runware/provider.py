"""The ``runware`` image provider: Runware's REST task API, sync or async, batched."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from pydantic import SecretStr

from storyframe.errors import BadResponse, NotConfigured, ProviderError
from storyframe.models import GeneratedImage, ImageRequest, ReferenceImage
from storyframe.providers import (
    Capabilities,
    CheckResult,
    ImageProvider,
    ImageResult,
    JobStatus,
    ProviderConfig,
    with_download,
)
from storyframe.secrets import redact, register_secret
from storyframe_runware import delivery, references
from storyframe_runware.config import RunwareConfig
from storyframe_runware.errors import PROVIDER, classify
from storyframe_runware.results import Done, Failed, Outcome, Pending, Unknown, describe
from storyframe_runware.tasks import (
    PROMPT_MAX,
    SIZE_MAX,
    SIZE_MIN,
    SIZE_MULTIPLE,
    inference_task,
)

if TYPE_CHECKING:
    from storyframe.cost import CostEstimate
    from storyframe.http import HttpClient
    from storyframe_runware.polling import Poller

log = logging.getLogger("storyframe.runware")

HTTP_SLOTS = 64
"""Requests in flight at once when ``concurrency`` is not set (the image chain bounds the work)."""


def _uuid4() -> str:
    return str(uuid.uuid4())


class RunwareImageProvider(ImageProvider):
    """Draws images with Runware (FLUX, SDXL and other models by AIR id)."""

    name: ClassVar[str] = "runware"
    description: ClassVar[str] = "Runware image inference (FLUX.1 dev by default), REST API."
    needs_key: ClassVar[bool] = True
    key_env: ClassVar[str | None] = "RUNWARE_API_KEY"
    config_model: ClassVar[type[ProviderConfig]] = RunwareConfig
    capabilities: ClassVar[Capabilities] = Capabilities(
        seed=True,
        negative_prompt=True,
        min_size=SIZE_MIN,
        max_size=SIZE_MAX,
        size_multiple=SIZE_MULTIPLE,
        max_prompt_length=PROMPT_MAX,
        async_jobs=True,
        recover=True,
        references=2,
        reference_mechanism="referenceImages (edit models) or ipAdapters, by model",
        uploads=True,
    )

    def __init__(
        self,
        config: ProviderConfig | None = None,
        api_key: SecretStr | None = None,
        *,
        uuid_factory: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(config, api_key)
        if api_key is not None:
            register_secret(api_key.get_secret_value())
        self.uuid_factory: Callable[[], str] = uuid_factory or _uuid4
        """Makes each task's taskUUID (a uuid4 string); tests replace it to match cassettes."""
        self._api: HttpClient | None = None
        self._images: HttpClient | None = None
        self._scenes: dict[str, int] = {}
        self._poller: Poller | None = None
        self._poller_loop: asyncio.AbstractEventLoop | None = None
        self._uploads = references.Uploads(self.name)

    @property
    def settings(self) -> RunwareConfig:
        """The config, typed."""
        return cast(RunwareConfig, self.config)

    # -- clients ---------------------------------------------------------------------------

    def _own_limit(self) -> int | None:
        """The images this provider may draw at once by its own config: ``concurrency`` if it
        is set, else ``None`` (the run's concurrency decides, through the image chain)."""
        if "concurrency" not in self.settings.model_fields_set:
            return None
        return self.settings.concurrency

    def _http_settings(self) -> RunwareConfig:
        # Without a limit of its own, requests are not held back here: the image chain keeps
        # the run's images in flight, and polls go out together in one request.
        limit = self._own_limit()
        return self.settings.model_copy(update={"concurrency": limit or HTTP_SLOTS})

    def _api_client(self) -> HttpClient:
        if self._api is None:
            from storyframe.http import HttpClient

            headers = {}
            if self.api_key is not None:
                headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
            self._api = HttpClient(
                self.name,
                self._http_settings(),
                base_url=self.settings.base_url,
                headers=headers,
                classify=classify,
            )
        return self._api

    def _image_client(self) -> HttpClient:
        # A separate session without the Authorization header: the key never goes to the
        # image host.
        if self._images is None:
            from storyframe.http import HttpClient

            self._images = HttpClient(self.name, self._http_settings())
        return self._images

    def _poller_now(self) -> Poller:
        """The provider's poller, one per event loop."""
        from storyframe_runware.polling import Poller

        loop = asyncio.get_running_loop()
        if self._poller is None or self._poller_loop is not loop:
            cfg = self.settings
            self._poller = Poller(
                self._api_client,
                interval=cfg.poll_interval,
                max_interval=cfg.poll_max_interval,
                timeout=cfg.poll_timeout,
                request_timeout=cfg.timeout,
            )
            self._poller_loop = loop
        return self._poller

    async def aclose(self) -> None:
        """Stop polling and close both HTTP sessions."""
        if self._poller is not None and self._poller_loop is asyncio.get_running_loop():
            await self._poller.aclose()
        self._poller = None
        for client in (self._api, self._images):
            if client is not None:
                await client.aclose()

    # -- generation ------------------------------------------------------------------------

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        """Draw one image (downloaded and verified unless ``download = false``)."""
        result = (await self.generate_many([request]))[0]
        if isinstance(result, ProviderError):
            raise result
        return result

    async def generate_many(self, requests: Sequence[ImageRequest]) -> list[ImageResult]:
        """Draw several images, ``batch_size`` tasks per request, all batches at once unless
        ``concurrency`` is set (then that many images, at least one batch, at a time).

        One result per request, in order; a task's failure never fails its neighbours.
        """
        if not requests:
            return []
        if self.api_key is None:
            return [self._not_configured() for _ in requests]
        size = self.settings.batch_size
        batches = [
            list(range(i, min(i + size, len(requests)))) for i in range(0, len(requests), size)
        ]
        own = self._own_limit()
        limit = asyncio.Semaphore(max(1, own // size) if own else len(batches))
        results: list[ImageResult | None] = [None] * len(requests)

        async def run(indexes: list[int]) -> None:
            async with limit:
                done = await self._run_batch([requests[i] for i in indexes])
            for index, result in zip(indexes, done, strict=True):
                results[index] = result

        await asyncio.gather(*(run(batch) for batch in batches))
        return [
            r if r is not None else BadResponse("no result", provider=PROVIDER) for r in results
        ]

    async def _run_batch(self, requests: list[ImageRequest]) -> list[ImageResult]:
        started = time.perf_counter()
        tasks: list[dict[str, Any] | ProviderError] = []
        for request in requests:
            try:
                task = await self._task(request, request.handle or self.uuid_factory())
            except ProviderError as error:
                tasks.append(error)
                continue
            self._scenes[task["taskUUID"]] = request.scene_number
            tasks.append(task)
        sendable = [t for t in tasks if isinstance(t, dict)]
        outcomes = await self._execute(sendable) if sendable else {}

        async def finish(
            request: ImageRequest, task: dict[str, Any] | ProviderError
        ) -> ImageResult:
            if isinstance(task, ProviderError):
                return task
            outcome = outcomes[task["taskUUID"]]
            if isinstance(outcome, Failed):
                if references.is_unknown_image(outcome.error):
                    return await self._uploads.upload_again(
                        request,
                        task,
                        outcome.error,
                        self.settings,
                        self.upload_reference,
                        self.uploaded,
                    )
                return outcome.error
            assert isinstance(outcome, Done)
            try:
                image = await self._image(request, task, outcome.item)
            except ProviderError as error:
                error.provider = error.provider or self.name
                return error
            image.elapsed = round(time.perf_counter() - started, 3)
            return image

        return list(
            await asyncio.gather(*(finish(r, t) for r, t in zip(requests, tasks, strict=True)))
        )

    async def _task(self, request: ImageRequest, task_uuid: str) -> dict[str, Any]:
        """The imageInference task for ``request``, with its reference sheets."""
        task = inference_task(request, self.settings, task_uuid)
        images = await self._uploads.images(request, self.settings)
        references.apply(task, images, self.settings)
        return task

    async def upload_reference(self, reference: ReferenceImage) -> str | None:
        """Upload a sheet with an ``imageUpload`` task (free) and return its ``imageUUID``;
        ``None`` without a call when the configured model takes no references."""
        if self.max_references() == 0:
            return None
        if self.api_key is None:
            raise self._not_configured()
        image = await asyncio.to_thread(references.data_uri, reference)
        try:
            return await references.upload(
                self._api_client(), self.uuid_factory(), image, timeout=self.settings.timeout
            )
        except ProviderError as error:
            error.provider = error.provider or self.name
            raise

    async def _execute(self, tasks: list[dict[str, Any]]) -> dict[str, Done | Failed]:
        """Submit ``tasks`` and get each one's outcome (see :func:`delivery.execute`)."""
        return await delivery.execute(
            self._api_client(),
            self._poll,
            tasks,
            max_attempts=self.settings.max_attempts,
            timeout=self.settings.timeout,
            name=self.name,
        )

    async def _poll(
        self, task_uuid: str, *, exists: bool = False, started: float | None = None
    ) -> Outcome:
        """Wait for the task through the provider's poller (polls go out together)."""
        return await self._poller_now().wait(task_uuid, exists=exists, started=started)

    async def _image(
        self, request: ImageRequest, task: Mapping[str, Any], item: Mapping[str, Any]
    ) -> GeneratedImage:
        image = self._describe(request.scene_number, task, item)
        image.references = [ref.name for ref in references.sent(request, self.settings)]
        await self.paid(request, image)  # journaled before the download: never bought twice
        if not self.settings.download or image.url is None:
            return image
        return await self.fetch(image)

    async def fetch(self, image: GeneratedImage) -> GeneratedImage:
        """Download and verify ``image.url`` from an allowed host, without the API key."""
        if image.data is not None:
            return image
        if image.url is None:
            raise BadResponse("the result has no imageURL", provider=self.name)
        from storyframe.download import download_image

        fetched = await download_image(
            self._image_client(),
            image.url,
            self.download_dest(),
            allowed_hosts=self.settings.allowed_download_hosts,
            max_bytes=self.settings.max_download_bytes,
        )
        return with_download(image, fetched)

    async def recover(self, request: ImageRequest) -> GeneratedImage | None:
        """Find the task submitted as ``request.handle``: ``getResponse`` (async delivery), else
        ``getTaskDetails`` (a finished sync task); wait for it if it is still running.

        A task Runware has no record of is sent again under the same taskUUID (never a new
        one), so it is bought at most once. ``None`` when Runware says it failed (nothing was
        charged): storyframe may then submit it anew.
        """
        handle = request.handle
        if handle is None or self.api_key is None:
            return None
        outcome = await delivery.find(
            self._api_client(), self._poll, handle, timeout=self.settings.timeout
        )
        if isinstance(outcome, Unknown):
            # No record of it, or a sync task still running: send the same task again under the
            # same taskUUID. Runware refuses a taskUUID it has (then it is waited for), so this
            # can never buy the image twice.
            task = await self._task(request, handle)
            outcome = (await self._execute([task]))[handle]
        if isinstance(outcome, Done):
            task = {"taskUUID": handle, "model": self.settings.model}
            task["outputFormat"] = self.settings.output_format
            return await self._image(request, task, outcome.item)
        if isinstance(outcome, Failed):
            if outcome.error.resubmit_safe:
                return None
            raise outcome.error
        return None

    def _describe(
        self, scene_number: int, task: Mapping[str, Any], item: Mapping[str, Any]
    ) -> GeneratedImage:
        image = describe(scene_number, task, item, provider=self.name, model=self.settings.model)
        return self.priced(image)  # the configured price when Runware reports no cost

    def max_references(self) -> int:
        """The configured model's limit: FLUX.1 Kontext 2, ACE++ and Qwen-Image-Edit 1, others
        none (``references`` and ``max_references`` in the config override it)."""
        return references.max_references(self.settings)

    async def estimate(self, request: ImageRequest) -> CostEstimate | None:
        """One image's cost from ``price_per_image`` or Runware's list price (no call made;
        reference uploads are free)."""
        from storyframe_runware.pricing import estimate
        from storyframe_runware.tasks import snap_size

        settings = self.settings
        width, height = snap_size(
            settings.width or request.width, settings.height or request.height
        )
        return estimate(settings.model, width, height, settings.price_per_image)

    def _not_configured(self) -> NotConfigured:
        return NotConfigured(
            f"{self.key_env} is not set",
            provider=self.name,
            hint="Get a key at https://my.runware.ai.",
        )

    # -- jobs and health -----------------------------------------------------------------

    async def status(self, task_id: str) -> JobStatus:
        """The current state of an async task, by one ``getResponse`` call."""
        from storyframe_runware.polling import get_response

        if self.api_key is None:
            raise self._not_configured()
        outcome = await get_response(self._api_client(), task_id, timeout=self.settings.timeout)
        if isinstance(outcome, Done):
            scene = self._scenes.get(task_id, 1)
            image = self._describe(
                scene, {"taskUUID": task_id, "model": self.settings.model}, outcome.item
            )
            return JobStatus(task_id=task_id, state="success", images=[image])
        if isinstance(outcome, Failed):
            return JobStatus(task_id=task_id, state="error", detail=outcome.error.one_line())
        if isinstance(outcome, Unknown):
            return JobStatus(task_id=task_id, state="unknown", detail=outcome.code)
        assert isinstance(outcome, Pending)
        return JobStatus(task_id=task_id, state="processing", detail=outcome.reason)

    async def check(self) -> CheckResult:
        """``ping`` Runware, then, with a key, validate it and read the balance. Never raises."""
        try:
            from storyframe_runware.health import check_service

            return await check_service(
                self._api_client(),
                has_key=self.api_key is not None,
                key_env=str(self.key_env),
                task_uuid=self.uuid_factory(),
                timeout=self.settings.timeout,
            )
        except ProviderError as error:
            return CheckResult(ok=False, detail=error.one_line())
        except Exception as error:  # a health check reports, it does not raise
            return CheckResult(ok=False, detail=redact(f"{type(error).__name__}: {error}"))
