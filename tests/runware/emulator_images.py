"""The Runware emulator's image host: the images its tasks made and the sheets uploaded to it,
served at ``/image/ws/2/ii/<imageUUID>.<ext>`` with the image faults of :class:`Fault`."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections import deque
from dataclasses import dataclass

from aiohttp import web

from tests.runware.emulator_faults import Fault, reset

FORMATS = {"JPG": ("JPEG", "jpg", "image/jpeg"), "PNG": ("PNG", "png", "image/png")}
FORMATS["WEBP"] = ("WEBP", "webp", "image/webp")
"""outputFormat -> (Pillow format, file extension, media type)."""


@dataclass
class ImageRecord:
    width: int
    height: int
    fmt: str
    seed: int


class ImageHost:
    """Serves and draws the emulator's images (a mixin of :class:`Emulator`)."""

    port: int
    image_scale: int
    image_latency: float
    image_hits: list[str]
    image_headers: list[dict[str, str]]
    faults: dict[str, deque[Fault]]
    uploads: dict[str, tuple[str, bytes | None]]
    _images: dict[str, ImageRecord]
    _cache: dict[tuple[int, int, str, int], bytes]

    async def _image(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.image_hits.append(name)
        self.image_headers.append(dict(request.headers))
        fault = self.faults["image"].popleft() if self.faults["image"] else None
        if self.image_latency:
            await asyncio.sleep(self.image_latency)
        if fault is not None and fault.redirect_host is not None:
            location = f"http://{fault.redirect_host}:{self.port}{request.path}"
            raise web.HTTPFound(location)
        if fault is not None and fault.status is not None:
            return web.Response(status=fault.status, headers=fault.headers, text="error")
        if fault is not None and fault.reset:
            return reset(request)
        uploaded = self.uploads.get(name.rsplit(".", 1)[0])
        if uploaded is not None and uploaded[1] is not None and fault is None:
            return web.Response(body=uploaded[1], content_type=FORMATS[uploaded[0]][2])
        record = self._images.get(name.rsplit(".", 1)[0])
        if record is None:
            return web.Response(status=404, text="not found")
        payload = self.render(record)
        media_type = FORMATS[record.fmt][2]
        kind = fault.image if fault is not None else None
        if kind == "html":
            return web.Response(text="<html><body>Oops</body></html>", content_type="text/html")
        if kind == "wrong_type":
            payload = self.render(ImageRecord(record.width, record.height, "PNG", record.seed))
            return web.Response(body=payload, content_type="image/jpeg")
        if kind == "corrupt":
            return web.Response(body=payload[: len(payload) // 2], content_type=media_type)
        if kind in ("oversized", "oversized_chunked"):
            assert fault is not None
            response = web.StreamResponse(headers={"Content-Type": media_type})
            if kind == "oversized":
                response.content_length = fault.size
            else:
                response.enable_chunked_encoding()
            await response.prepare(request)
            block = payload + b"\0" * 65536
            sent = 0
            with contextlib.suppress(ConnectionError):
                while sent < fault.size:
                    await response.write(block)
                    sent += len(block)
            return response
        if kind == "truncated":
            response = web.StreamResponse(headers={"Content-Type": media_type})
            response.content_length = len(payload)
            await response.prepare(request)
            await response.write(payload[: len(payload) // 2])
            return reset(request)
        return web.Response(body=payload, content_type=media_type)

    def render(self, record: ImageRecord) -> bytes:
        """A real image in ``record``'s format, at its size divided by ``image_scale``."""
        from PIL import Image, ImageDraw

        width = max(16, record.width // self.image_scale)
        height = max(16, record.height // self.image_scale)
        key = (width, height, record.fmt, record.seed)
        if key not in self._cache:
            colour = (record.seed % 200 + 30, (record.seed // 7) % 200 + 30, 120)
            image = Image.new("RGB", (width, height), colour)
            ImageDraw.Draw(image).rectangle((2, 2, width // 2, height // 2), fill=(240, 240, 240))
            buffer = io.BytesIO()
            image.save(buffer, format=FORMATS[record.fmt][0])
            self._cache[key] = buffer.getvalue()
        return self._cache[key]
