"""Image bytes: what they are (media type, size), checked by decoding them whole.

The checks a download passes (:func:`verify_image`: magic bytes against the declared type, a
full decode, a cap on pixels), the inspection of bytes a provider returned inline
(:func:`inspect_image`) and a reference sheet as a data URI (:func:`reference_data_uri`).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from storyframe.errors import BadResponse, InvalidRequest, Transient

if TYPE_CHECKING:
    from storyframe.models import ReferenceImage

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
_PILLOW_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 64 * 1024 * 1024


def sniff_image_type(data: bytes) -> str | None:
    """The media type that ``data``'s magic bytes announce (JPEG, PNG or WEBP), else ``None``."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


_FORMAT_NAMES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}


def reference_data_uri(
    reference: ReferenceImage, *, provider: str | None, formats: Collection[str] = IMAGE_TYPES
) -> str:
    """A reference sheet's file as a ``data:<type>;base64,...`` URI (blocking: use a thread).

    For providers that send sheets inline. Raises :class:`InvalidRequest` when the file cannot
    be read or its bytes are not one of ``formats`` (PNG, JPEG, WEBP by default; add
    ``"image/gif"`` for a service that takes GIF).
    """
    path = Path(reference.path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidRequest(
            f"cannot read the reference sheet of {reference.name} ({path}): "
            f"{error.strerror or error}",
            provider=provider,
            hint="Draw the character sheets again.",
        ) from None
    media = sniff_image_type(data) or ("image/gif" if data[:6] in (b"GIF87a", b"GIF89a") else None)
    if media not in formats:
        order = list(_FORMAT_NAMES)
        ranked = sorted(formats, key=lambda k: order.index(k) if k in order else len(order))
        names = [_FORMAT_NAMES.get(kind, kind) for kind in ranked]
        listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
        raise InvalidRequest(
            f"the reference sheet of {reference.name} ({path}) is not a {listed} image",
            provider=provider,
            hint="Draw the character sheets again.",
        )
    return f"data:{media};base64,{base64.b64encode(data).decode('ascii')}"


def verify_image(source: Path | bytes, declared: str, provider: str | None) -> tuple[int, int]:
    """Check magic bytes against ``declared`` and decode the whole image (a file, or bytes);
    return its size."""
    from PIL import Image

    if isinstance(source, bytes):
        head = source[:16]
    else:
        with source.open("rb") as handle:
            head = handle.read(16)
    sniffed = sniff_image_type(head)
    if sniffed is None:
        raise Transient(
            "the body is not a JPEG, PNG or WEBP image", provider=provider, code="not_an_image"
        )
    if sniffed != declared:
        raise BadResponse(
            f"Content-Type says {declared} but the body is {sniffed}", provider=provider
        )
    try:
        with Image.open(_readable(source), formats=list(_PILLOW_FORMATS)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise BadResponse(
                    f"image is {image.width}x{image.height}: too many pixels", provider=provider
                )
            image.verify()
        # verify() leaves the image unusable; decode it in full from a fresh handle, which
        # fails on a truncated file (LOAD_TRUNCATED_IMAGES is False unless someone set it).
        with Image.open(_readable(source), formats=list(_PILLOW_FORMATS)) as image:
            width, height = image.size
            if image.format == "JPEG":
                # Every block of the bitstream is still decoded (a cut file still fails), at
                # an eighth of the size: a fraction of the memory and time of a full decode.
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
            found = _PILLOW_FORMATS.get(image.format or "")
    except BadResponse:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise Transient(
            f"the image is truncated or corrupt ({type(error).__name__}: {error})",
            provider=provider,
            code="corrupt_image",
        ) from None
    if found != declared:
        raise BadResponse(f"Pillow reads {found}, expected {declared}", provider=provider)
    return width, height


def _readable(source: Path | bytes) -> Path | io.BytesIO:
    return io.BytesIO(source) if isinstance(source, bytes) else source


def inspect_image(data: bytes) -> tuple[str, int, int]:
    """The media type and size of image bytes; ``BadResponse`` if they are not a whole image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            kind = (image.format or "").upper()
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise BadResponse(f"image data is not a complete image ({error})") from None
    media = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}.get(kind)
    if media is None:
        raise BadResponse(f"image format {kind or 'unknown'} is not PNG, JPEG or WEBP")
    return media, width, height


__all__ = [
    "IMAGE_TYPES",
    "inspect_image",
    "reference_data_uri",
    "sniff_image_type",
    "verify_image",
]
