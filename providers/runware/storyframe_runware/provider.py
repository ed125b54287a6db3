"""The ``runware`` image provider: Runware's REST task API, sync or async, batched."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from pydantic import SecretStr

from storyframe.errors import BadResponse, NotConfigured, ProviderError, Transient
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
from storyframe_runware import references
from storyframe_runware.config import RunwareConfig
from storyframe_runware.errors import PROVIDER, classify
from storyframe_runware.results import Done, Failed, Outcome, Pending, Unknown, read_envelope
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

MEDIA_TYPES = {"JPG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


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
        self._replaced: dict[str, str | None] = {}
        """Upload ids Runware no longer held, and what replaced each (``None``: send inline)."""
        self._upload_lock = asyncio.Lock()

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
                    return await self._forgotten(request, task, outcome.error)
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
        images: list[str] = []
        for ref in references.sent(request, self.settings):
            uploaded = ref.uploads.get(self.name)
            if uploaded:
                uploaded = self._replaced.get(uploaded, uploaded)
            if not uploaded:
                uploaded = await asyncio.to_thread(references.data_uri, ref)
            images.append(uploaded)
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

    async def _forgotten(
        self, request: ImageRequest, task: Mapping[str, Any], error: ProviderError
    ) -> ProviderError:
        """Runware could not resolve a reference: upload the sheets it was sent by an upload id
        again (once per id) and ask for the scene again; else the error stands."""
        values = set(references.task_images(task))
        stale = [
            ref
            for ref in references.sent(request, self.settings)
            if ref.uploads.get(self.name) in values and ref.uploads[self.name] not in self._replaced
        ]
        if not stale:
            return error
        async with self._upload_lock:
            for ref in stale:
                old = ref.uploads[self.name]
                if old in self._replaced:
                    continue
                try:
                    self._replaced[old] = await self.upload_reference(ref)
                except ProviderError as failure:
                    log.warning("runware: uploading %s's sheet again failed: %s", ref.name, failure)
                    self._replaced[old] = None
                await self.uploaded(ref, self._replaced[old])  # saved for later runs
        names = ", ".join(ref.name for ref in stale)
        log.warning(
            "runware: Runware no longer holds the uploaded sheet(s) of %s (%s); uploaded them "
            "again for this run, drawing scene %d again",
            names,
            error.code,
            request.scene_number,
        )
        retry = Transient(
            f"Runware no longer holds the uploaded reference sheet(s) of {names} ({error.code}); "
            "they were uploaded again",
            provider=self.name,
            code=error.code,
        )
        retry.resubmit_safe = True  # Runware refused the task: nothing was charged
        return retry

    async def _execute(self, tasks: list[dict[str, Any]]) -> dict[str, Done | Failed]:
        """Submit ``tasks``, poll the unfinished ones, resubmit only those Runware lost."""
        by_uuid = {task["taskUUID"]: task for task in tasks}
        final: dict[str, Done | Failed] = {}
        to_send = tasks
        for _ in range(self.settings.max_attempts):
            sent = time.monotonic()
            submitted = await self._submit(to_send)
            waiting: list[str] = []
            for task_uuid, outcome in submitted.items():
                if isinstance(outcome, Done | Failed):
                    final[task_uuid] = outcome
                else:
                    waiting.append(task_uuid)
            polled = await asyncio.gather(
                *(
                    self._settle(u, exists=submitted[u] == Pending("conflict"), started=sent)
                    for u in waiting
                )
            )
            to_send = []
            for task_uuid, outcome in zip(waiting, polled, strict=True):
                if isinstance(outcome, Unknown):
                    log.info(
                        "runware task %s unknown to Runware (%s): submitting it again",
                        task_uuid,
                        outcome.code,
                    )
                    to_send.append(by_uuid[task_uuid])
                elif isinstance(outcome, Done | Failed):
                    final[task_uuid] = outcome
            if not to_send:
                break
        for task in to_send:
            final[task["taskUUID"]] = Failed(
                Transient(
                    f"Runware lost task {task['taskUUID']}", provider=PROVIDER, code="taskNotFound"
                )
            )
        return final

    async def _submit(self, tasks: list[dict[str, Any]]) -> dict[str, Outcome]:
        """POST the tasks once per attempt, with the same taskUUIDs each time.

        Resending a taskUUID cannot buy a second image: Runware answers ``conflictTaskUUID``
        and the task is polled. A timeout is not resent at all: the request may be running,
        so it goes to polling, and is resubmitted only if polling says Runware never got it.
        """
        client = self._api_client()
        uuids = [task["taskUUID"] for task in tasks]
        try:
            async for attempt in client.retrying():
                with attempt:
                    try:
                        response = await client.request("POST", "", json=tasks, retry=False)
                    except Transient as error:
                        if error.code != "timeout":
                            raise
                        log.info("runware: %s; polling the tasks instead of resending", error)
                        return {u: Pending("timeout") for u in uuids}
                    try:
                        body = response.json(provider=self.name)
                        return read_envelope(body, uuids, status=response.status)
                    except BadResponse as error:
                        if not 200 <= response.status < 300:
                            raise
                        log.info("runware: %s; polling the tasks to learn their state", error)
                        return {u: Pending("unreadable answer") for u in uuids}
        except ProviderError as error:
            error.provider = error.provider or self.name
            return {u: Failed(copy.copy(error)) for u in uuids}
        raise AssertionError("unreachable")  # pragma: no cover

    async def _settle(
        self, task_uuid: str, *, exists: bool = False, started: float | None = None
    ) -> Outcome:
        """Poll a task whose answer was lost; one ``getResponse`` does not know (a sync task) is
        looked up with ``getTaskDetails`` before it may be sent again (with the same taskUUID,
        so Runware refuses it if it has it after all)."""
        from storyframe_runware.polling import task_details

        outcome = await self._poll(task_uuid, exists=exists, started=started)
        if isinstance(outcome, Unknown):
            try:
                return await task_details(
                    self._api_client(), task_uuid, timeout=self.settings.timeout
                )
            except ProviderError as error:
                return Failed(error)
        return outcome

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
        from storyframe_runware.polling import get_response, task_details

        handle = request.handle
        if handle is None or self.api_key is None:
            return None
        client = self._api_client()
        timeout = self.settings.timeout
        outcome = await get_response(client, handle, timeout=timeout)
        if isinstance(outcome, Unknown):
            outcome = await task_details(client, handle, timeout=timeout)
        if isinstance(outcome, Pending):
            outcome = await self._poll(handle)
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
        url = item.get("imageURL")
        if not isinstance(url, str):
            raise BadResponse("the result has no imageURL", provider=self.name)
        seed = item.get("seed", task.get("seed"))
        cost = item.get("cost")
        image = GeneratedImage(
            scene_number=scene_number,
            provider=self.name,
            model=str(task.get("model") or self.settings.model),
            url=url,
            media_type=MEDIA_TYPES.get(str(task.get("outputFormat")).upper(), "image/jpeg"),
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            cost=float(cost)
            if isinstance(cost, int | float) and not isinstance(cost, bool)
            else None,
            task_id=str(item.get("taskUUID") or task.get("taskUUID")),
            width=task.get("width"),
            height=task.get("height"),
        )
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
