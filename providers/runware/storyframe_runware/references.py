"""Character reference sheets on Runware: which models take them, how they are sent, uploads.

A sheet goes to Runware as the ``imageUUID`` an ``imageUpload`` task returned (kept by
storyframe in ``ReferenceImage.uploads["runware"]``), else inline as a data URI. Edit models take
them as top-level ``referenceImages``; other models can take them as ``ipAdapters`` guide images
when an IP-Adapter model is configured.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from storyframe.errors import BadResponse, InvalidRequest, ProviderError
from storyframe.models import ImageRequest, ReferenceImage
from storyframe_runware.config import EDIT_MODELS, RunwareConfig
from storyframe_runware.errors import PROVIDER, error_from_item, error_items

if TYPE_CHECKING:
    from storyframe.http import HttpClient

Mechanism = Literal["referenceImages", "ipAdapters", "off"]

IP_ADAPTERS_DEFAULT = 1
"""Sheets sent as IP-Adapters when ``max_references`` is not set."""

UNKNOWN_IMAGE_CODES = frozenset({"invalidReferenceImages", "invalidSeedImage", "invalidGuideImage"})
"""Codes Runware gives an image input it cannot resolve, such as an imageUUID it does not hold."""

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


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


def media_type_of(data: bytes) -> str | None:
    """``image/png``, ``image/jpeg`` or ``image/webp`` from the magic bytes, else ``None``."""
    for magic, media in _MAGIC:
        if data.startswith(magic):
            return media
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def data_uri(reference: ReferenceImage) -> str:
    """The sheet as a ``data:<type>;base64,...`` URI (blocking: run it in a thread).

    Raises :class:`InvalidRequest` when the file is missing or is not PNG, JPEG or WEBP, the
    formats Runware takes.
    """
    path = Path(reference.path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidRequest(
            f"cannot read the reference sheet of {reference.name} ({path}): "
            f"{error.strerror or error}",
            provider=PROVIDER,
            hint="Draw the character sheets again.",
        ) from None
    media = media_type_of(data)
    if media is None:
        raise InvalidRequest(
            f"the reference sheet of {reference.name} ({path}) is not a PNG, JPEG or WEBP image",
            provider=PROVIDER,
            hint="Draw the character sheets again.",
        )
    return f"data:{media};base64,{base64.b64encode(data).decode('ascii')}"


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
