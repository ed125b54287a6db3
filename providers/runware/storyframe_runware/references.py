"""Character reference sheets on Runware: which models take them, how they are sent, uploads.

A sheet goes to Runware as the ``imageUUID`` an ``imageUpload`` task returned (kept by
storyframe in ``ReferenceImage.uploads["runware"]``), else inline as a data URI. Edit models take
them as top-level ``referenceImages``; other models can take them as ``ipAdapters`` guide images
when an IP-Adapter model is configured.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from storyframe.download import reference_data_uri
from storyframe.errors import BadResponse, ProviderError, Transient
from storyframe.models import ImageRequest, ReferenceImage
from storyframe_runware.config import EDIT_MODELS, RunwareConfig
from storyframe_runware.errors import PROVIDER, error_from_item, error_items

if TYPE_CHECKING:
    from storyframe.http import HttpClient

log = logging.getLogger("storyframe.runware")

Mechanism = Literal["referenceImages", "ipAdapters", "off"]

IP_ADAPTERS_DEFAULT = 1
"""Sheets sent as IP-Adapters when ``max_references`` is not set."""

UNKNOWN_IMAGE_CODES = frozenset({"invalidReferenceImages", "invalidSeedImage", "invalidGuideImage"})
"""Codes Runware gives an image input it cannot resolve, such as an imageUUID it does not hold."""


def mechanism(config: RunwareConfig) -> Mechanism:
    """How references go to the configured model (``auto`` resolved)."""
    if config.references != "auto":
        return config.references
    if config.model in EDIT_MODELS:
        return "referenceImages"
    if config.ip_adapter_model:
        return "ipAdapters"
    return "referenceImages" if config.max_references else "off"


def max_references(config: RunwareConfig) -> int:
    """The most sheets one task to the configured model carries."""
    how = mechanism(config)
    if how == "off":
        return 0
    if config.max_references is not None:
        return config.max_references
    if how == "ipAdapters":
        return IP_ADAPTERS_DEFAULT
    return EDIT_MODELS.get(config.model, 0)


def data_uri(reference: ReferenceImage) -> str:
    """The sheet as a ``data:<type>;base64,...`` URI (blocking: run it in a thread).

    Raises :class:`InvalidRequest` when the file is missing or is not PNG, JPEG or WEBP, the
    formats Runware takes.
    """
    return reference_data_uri(reference, provider=PROVIDER)


def upload_task(task_uuid: str, image: str) -> dict[str, Any]:
    """The ``imageUpload`` task for one image (a data URI)."""
    return {"taskType": "imageUpload", "taskUUID": task_uuid, "image": image}


def read_upload(body: Any, task_uuid: str, *, status: int = 200) -> str:
    """The ``imageUUID`` an ``imageUpload`` answer gives (``data`` as an array, or an object).

    Raises the task's error, or :class:`BadResponse` when no imageUUID is given.
    """
    for error in error_items(body):
        if error.get("taskUUID") in (None, "", task_uuid):
            raise error_from_item(error, status=status)
    data = body.get("data") if isinstance(body, Mapping) else None
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, Mapping) or item.get("taskUUID") not in (None, task_uuid):
            continue
        image_uuid = item.get("imageUUID")
        if isinstance(image_uuid, str) and image_uuid and image_uuid != task_uuid:
            return image_uuid
    raise BadResponse("Runware answered the imageUpload with no imageUUID", provider=PROVIDER)


def sent(request: ImageRequest, config: RunwareConfig) -> list[ReferenceImage]:
    """The request's sheets that go with it: the first ``max_references`` of them."""
    return list(request.references[: max_references(config)])


def apply(task: dict[str, Any], images: Sequence[str], config: RunwareConfig) -> None:
    """Put the sheets' image values (imageUUIDs or data URIs) into ``task``, in order."""
    if not images:
        return
    if mechanism(config) == "ipAdapters":
        task["ipAdapters"] = [
            {
                "model": config.ip_adapter_model,
                "guideImage": image,
                "weight": config.ip_adapter_weight,
            }
            for image in images
        ]
    else:
        task["referenceImages"] = list(images)


def is_unknown_image(error: ProviderError) -> bool:
    """Whether ``error`` says Runware could not resolve an image input (a forgotten upload)."""
    return error.code in UNKNOWN_IMAGE_CODES


async def upload(client: HttpClient, task_uuid: str, image: str, *, timeout: float) -> str:
    """Send one ``imageUpload`` task and return the ``imageUUID`` Runware gives the image.

    Uploads are free (no cost is documented), so the request goes through the retry policy.
    """
    response = await client.request(
        "POST", "", json=[upload_task(task_uuid, image)], timeout=timeout
    )
    return read_upload(response.json(provider=PROVIDER), task_uuid, status=response.status)


def task_images(task: Mapping[str, Any]) -> list[str]:
    """The image values a built task carries as references (referenceImages or guide images)."""
    values = task.get("referenceImages")
    if isinstance(values, list):
        return [v for v in values if isinstance(v, str)]
    adapters = task.get("ipAdapters")
    if isinstance(adapters, list):
        return [a["guideImage"] for a in adapters if isinstance(a, Mapping) and "guideImage" in a]
    return []


class Uploads:
    """One provider's record of the uploaded sheets Runware no longer held in this run, and
    what replaced each (a new upload id, or ``None``: send the sheet inline)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.replaced: dict[str, str | None] = {}
        self._lock = asyncio.Lock()

    async def images(self, request: ImageRequest, config: RunwareConfig) -> list[str]:
        """The value sent for each of ``request``'s sheets: its upload id (or the one that
        replaced it), else the sheet inline as a data URI."""
        images: list[str] = []
        for ref in sent(request, config):
            uploaded = ref.uploads.get(self.name)
            if uploaded:
                uploaded = self.replaced.get(uploaded, uploaded)
            if not uploaded:
                uploaded = await asyncio.to_thread(data_uri, ref)
            images.append(uploaded)
        return images

    async def upload_again(
        self,
        request: ImageRequest,
        task: Mapping[str, Any],
        error: ProviderError,
        config: RunwareConfig,
        upload: Callable[[ReferenceImage], Awaitable[str | None]],
        report: Callable[[ReferenceImage, str | None], Awaitable[None]],
    ) -> ProviderError:
        """Runware could not resolve a reference: upload the sheets it was sent by an upload id
        again (once per id), ``report`` each new id (``None``: gone) so the manifest keeps it,
        and ask for the scene again; else the error stands."""
        values = set(task_images(task))
        stale = [
            ref
            for ref in sent(request, config)
            if ref.uploads.get(self.name) in values and ref.uploads[self.name] not in self.replaced
        ]
        if not stale:
            return error
        async with self._lock:
            for ref in stale:
                old = ref.uploads[self.name]
                if old in self.replaced:
                    continue
                try:
                    self.replaced[old] = await upload(ref)
                except ProviderError as failure:
                    log.warning("runware: uploading %s's sheet again failed: %s", ref.name, failure)
                    self.replaced[old] = None
                await report(ref, self.replaced[old])  # saved for later runs
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
