"""Image inputs for the Runware emulator: ``imageUpload`` images, ``referenceImages`` and
``ipAdapters``, checked as ``../shared/api/runware.md`` §10 describes.

An image input is the imageUUID of an uploaded or generated image, a data URI, raw base64 or a
URL; the emulator cannot download, so a URL counts only when it points at an image it serves.
Decoded images must be PNG, JPG or WEBP (by their bytes, and by the data URI's type).
``referenceImages`` are taken only by the edit models in :data:`EDIT_MODELS`, up to their limit;
ACE++ (``runware:102@1``) only with an ``acePlusPlus`` object. Choices where the docs are silent:
a model that takes no references answers ``invalidReferenceImagesCount`` (with ``max: 0``), an
image that cannot be resolved ``invalidReferenceImages`` (like the documented
``invalidSeedImage``), a bad ``ipAdapters`` item ``invalidIpAdapters`` and an unresolvable guide
image ``invalidGuideImage``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

EDIT_MODELS: dict[str, int] = {
    "runware:106@1": 2,
    "bfl:3@1": 2,
    "bfl:4@1": 2,
    "runware:102@1": 1,
    "runware:108@20": 1,
}
"""The most ``referenceImages`` each model takes (FLUX.1 Kontext 2, ACE++ 1, Qwen-Image-Edit 1)."""

ACE_PLUS_PLUS = "runware:102@1"

MEDIA_TYPES = {"image/png": "PNG", "image/jpeg": "JPG", "image/jpg": "JPG", "image/webp": "WEBP"}

_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.I)
_DATA_URI = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)$", re.S)
_AIR = re.compile(r"^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+$")

Known = Callable[[str], bool]
"""Whether the emulator holds an image by its imageUUID."""


def image_format(data: bytes) -> str | None:
    """``PNG``, ``JPG`` or ``WEBP`` from the magic bytes, else ``None``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def decode(value: Any, known: Known) -> tuple[str, bytes | None] | None:
    """``("uuid", None)``, ``("url", None)`` or ``(format, bytes)`` for a valid image input, else
    ``None``."""
    if not isinstance(value, str) or not value:
        return None
    if _UUID4.match(value):
        return ("uuid", None) if known(value.lower()) else None
    if value.startswith(("http://", "https://")):
        name = value.rsplit("/", 1)[-1].split(".", 1)[0]
        return ("url", None) if known(name.lower()) else None
    match = _DATA_URI.match(value)
    if match is not None:
        declared = MEDIA_TYPES.get(match.group("type").lower())
        data = _b64(match.group("data"))
        if declared is None or data is None or image_format(data) != declared:
            return None
        return declared, data
    data = _b64(value)
    fmt = image_format(data) if data is not None else None
    return (fmt, data) if fmt is not None and data is not None else None


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _error(code: str, message: str, parameter: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "parameter": parameter, "type": kind, **extra}


def _unresolvable(parameter: str) -> str:
    return (
        f"Invalid value for '{parameter}' parameter. The image must be specified in one of the "
        "following formats: a UUID v4 string of a previously uploaded or generated image, a data "
        "URI string, a base64 encoded image, or a publicly accessible URL."
    )


def upload_error(task: dict[str, Any], known: Known) -> dict[str, Any] | None:
    """Why an ``imageUpload`` task is refused, or ``None``."""
    image = task.get("image")
    if image is None:
        return _error("missingImage", "Missing 'image' parameter.", "image", "string")
    if decode(image, known) is None:
        return _error("invalidImage", _unresolvable("image"), "image", "string")
    return None


def inference_error(task: dict[str, Any], known: Known) -> dict[str, Any] | None:
    """Why an ``imageInference`` task's image inputs are refused, or ``None``."""
    refs = task.get("referenceImages")
    if refs is not None:
        problem = _references_error(task, refs, known)
        if problem is not None:
            return problem
    adapters = task.get("ipAdapters")
    if adapters is not None:
        return _adapters_error(adapters, known)
    return None


def reference_limit(task: dict[str, Any]) -> int:
    """The most ``referenceImages`` the task's model takes."""
    model = str(task.get("model"))
    if model == ACE_PLUS_PLUS and not isinstance(task.get("acePlusPlus"), dict):
        return 0
    return EDIT_MODELS.get(model, 0)


def _references_error(task: dict[str, Any], refs: Any, known: Known) -> dict[str, Any] | None:
    if not isinstance(refs, list) or not refs:
        return _error(
            "invalidReferenceImages",
            "Invalid value for 'referenceImages' parameter. It must be an array of images.",
            "referenceImages",
            "array",
        )
    limit = reference_limit(task)
    if len(refs) > limit:
        return _error(
            "invalidReferenceImagesCount",
            f"Invalid number of reference images: model {task.get('model')} supports at most "
            f"{limit}, {len(refs)} were given.",
            "referenceImages",
            "array",
            max=limit,
        )
    for value in refs:
        if decode(value, known) is None:
            return _error(
                "invalidReferenceImages",
                _unresolvable("referenceImages"),
                "referenceImages",
                "array",
            )
    return None


def _adapters_error(adapters: Any, known: Known) -> dict[str, Any] | None:
    def bad(message: str) -> dict[str, Any]:
        return _error("invalidIpAdapters", message, "ipAdapters", "array")

    if not isinstance(adapters, list) or not adapters:
        return bad("Invalid value for 'ipAdapters' parameter. It must be an array of objects.")
    for item in adapters:
        if not isinstance(item, dict):
            return bad("Each 'ipAdapters' item must be an object.")
        unknown = set(item) - {"model", "guideImage", "weight"}
        if unknown:
            return bad(f"Unknown 'ipAdapters' item fields: {', '.join(sorted(unknown))}.")
        model = item.get("model")
        if not isinstance(model, str) or not _AIR.match(model):
            return bad("Each 'ipAdapters' item needs a 'model' AIR id.")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
            return bad("'ipAdapters' weight must be a number between 0 and 1.")
        if "guideImage" not in item:
            return bad("Each 'ipAdapters' item needs a 'guideImage'.")
        if decode(item["guideImage"], known) is None:
            return _error("invalidGuideImage", _unresolvable("guideImage"), "ipAdapters", "string")
    return None
