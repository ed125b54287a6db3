"""Image bytes: what they are (media type, size), checked by decoding them whole."""

from __future__ import annotations

import io

from storyframe.errors import BadResponse


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


__all__ = ["inspect_image"]
