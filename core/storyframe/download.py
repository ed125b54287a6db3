"""Fetch a generated image over HTTP(S), safely, for any image provider.

:func:`download_image` accepts only ``http``/``https`` URLs on an allow-list of hosts (redirects
are followed by hand and checked the same way), reads the body while counting it against a size cap
(up to :data:`SPILL_BYTES` in memory, a larger body streamed to its file as it arrives), insists
on an ``image/*`` content type that agrees with the body's magic bytes (JPEG, PNG or WEBP), decodes
the whole image with Pillow so that a truncated or corrupt body is an error (those checks are
:func:`storyframe.images.verify_image`), and writes it once, to a fresh file the caller names (a
body held in memory is checked and written in one trip to a worker thread; the caller then renames
that file into place, so each image is written once and renamed once). The image is paid for, so
whatever may pass is retried with the client's retry policy: timeouts, resets, 408/429/5xx, a 404
or other 4xx, an HTML page instead of an image, a body cut short or not an image. Nothing is left
behind when it fails.

The client passed in must not carry credentials meant for another host: its session headers go
to the image host too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urljoin, urlsplit

from storyframe.errors import BadResponse, ProviderError, Transient
from storyframe.images import IMAGE_TYPES, reference_data_uri, sniff_image_type, verify_image

if TYPE_CHECKING:
    from storyframe.http import HttpClient

_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True)
class DownloadedImage:
    """A verified image: its bytes (no ``dest``) or where it was stored (``dest``)."""

    media_type: str
    width: int
    height: int
    size: int
    sha256: str
    data: bytes | None = field(default=None, repr=False)
    path: Path | None = None


def check_image_url(
    url: str, allowed_hosts: Collection[str] | None, *, provider: str | None = None
) -> None:
    """Raise :class:`BadResponse` unless ``url`` is http(s) on an allowed host (``None``: any)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise BadResponse(f"image URL {url[:200]!r} is malformed", provider=provider) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise BadResponse(
            f"refusing to fetch {parts.scheme or 'scheme-less'} URL {url[:200]!r}: only http(s)",
            provider=provider,
            code="url_not_allowed",
        )
    if not host:
        raise BadResponse(f"image URL {url[:200]!r} has no host", provider=provider)
    if parts.username is not None or parts.password is not None:
        raise BadResponse("refusing an image URL with credentials in it", provider=provider)
    if allowed_hosts is not None and host not in {h.lower() for h in allowed_hosts}:
        raise BadResponse(
            f"refusing to fetch an image from {host!r}: not in the allowed hosts",
            provider=provider,
            code="host_not_allowed",
            hint="Add the host to the provider's allowed_download_hosts if you trust it.",
        )


async def download_image(
    client: HttpClient,
    url: str,
    dest: Path | None = None,
    *,
    allowed_hosts: Collection[str] | None,
    max_bytes: int,
) -> DownloadedImage:
    """Download and verify the image at ``url``.

    With ``dest`` the verified image is written there and returned with ``path`` set: ``dest``
    is a new file name the caller owns (:meth:`ImageProvider.download_dest
    <storyframe.providers.ImageProvider.download_dest>` gives one), created, never replaced;
    its folder is created. Without it the bytes are returned in ``data``. Raises
    :class:`BadResponse` for a refused URL or anything that is not a complete JPEG/PNG/WEBP
    within ``max_bytes``, and the client's mapped errors (after retries) for HTTP failures;
    nothing is left at ``dest`` then.
    """
    provider = client.provider
    check_image_url(url, allowed_hosts, provider=provider)
    async for attempt in client.retrying():
        with attempt:
            return await _attempt(client, url, dest, allowed_hosts, max_bytes)
    raise AssertionError("unreachable")  # pragma: no cover


SPILL_BYTES = 1 << 20
"""A body up to this size is held in memory until verified, then written in one go; a larger
one is streamed to a temporary file as it arrives (memory stays flat for large images)."""


class _Sink:
    """Where a body goes as it arrives: memory up to :data:`SPILL_BYTES`, then a file: ``dest``
    when there is one, else a temporary file."""

    def __init__(self, dest: Path | None) -> None:
        self.dest = dest
        self.memory = bytearray()
        self.file: BinaryIO | None = None
        self.path: Path | None = None
        self.kept = False  # the file at ``path`` is the verified image: leave it

    def expect(self, declared: int | None) -> None:
        """A body declared larger than :data:`SPILL_BYTES` goes to a file from its first byte."""
        if declared is not None and declared > SPILL_BYTES:
            self._spill()

    def write(self, chunk: bytes) -> None:
        if self.file is None:
            if len(self.memory) + len(chunk) <= SPILL_BYTES:
                self.memory += chunk
                return
            self._spill()
        assert self.file is not None
        self.file.write(chunk)

    def _spill(self) -> None:
        if self.file is not None:
            return
        if self.dest is None:
            fd, name = tempfile.mkstemp(prefix=".download-", suffix=".part.tmp")
            self.path = Path(name)
        else:
            fd, self.path = _create(self.dest), self.dest
        self.file = os.fdopen(fd, "wb")
        self.file.write(self.memory)
        self.memory = bytearray()

    def close(self) -> None:
        if self.file is not None:
            # No fsync: the project flushes a stage's images to disk together at its end.
            self.file.close()

    def discard(self) -> None:
        """Close the file, and remove it unless it was :attr:`kept`."""
        self.close()
        if self.path is not None and not self.kept:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


def _create(dest: Path) -> int:
    """Open ``dest`` for writing, as a new file (a file already there is an error); its folder
    is made when missing (checked only then: one system call per image, not three)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        return os.open(dest, flags, 0o644)
    except FileNotFoundError:
        dest.parent.mkdir(parents=True, exist_ok=True)
        return os.open(dest, flags, 0o644)


async def _attempt(
    client: HttpClient,
    url: str,
    dest: Path | None,
    allowed_hosts: Collection[str] | None,
    max_bytes: int,
) -> DownloadedImage:
    sink = _Sink(dest)
    try:
        async with client.slot():
            media_type, size, digest = await _stream(client, url, sink, allowed_hosts, max_bytes)
        sink.close()
        if sink.path is None:  # held in memory: checked and written in one trip to a thread
            data = bytes(sink.memory)
            width, height = await asyncio.to_thread(
                _verify_and_write, data, media_type, client.provider, dest
            )
            if dest is not None:
                return DownloadedImage(media_type, width, height, size, digest, path=dest)
            return DownloadedImage(media_type, width, height, size, digest, data=data)
        width, height = await asyncio.to_thread(
            verify_image, sink.path, media_type, client.provider
        )
        if dest is not None:
            sink.kept = True
            return DownloadedImage(media_type, width, height, size, digest, path=dest)
        data = await asyncio.to_thread(sink.path.read_bytes)
        return DownloadedImage(media_type, width, height, size, digest, data=data)
    finally:
        sink.discard()


def _verify_and_write(
    data: bytes, declared: str, provider: str | None, dest: Path | None
) -> tuple[int, int]:
    """:func:`~storyframe.images.verify_image` the bytes, then (``dest``) write them there, a
    new file; nothing is left there if writing fails."""
    size = verify_image(data, declared, provider)
    if dest is not None:
        fd = _create(dest)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)  # no fsync: the project flushes a stage's images at its end
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            raise
    return size


async def _stream(
    client: HttpClient,
    url: str,
    sink: _Sink,
    allowed_hosts: Collection[str] | None,
    max_bytes: int,
) -> tuple[str, int, str]:
    """Write the body at ``url`` to ``sink``; return (declared media type, size, sha256)."""
    import aiohttp

    from storyframe.http import transport_error

    provider = client.provider
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            async with client.session.get(
                current, allow_redirects=False, headers={"Accept": "image/*"}
            ) as raw:
                if raw.status in _REDIRECTS:
                    location = raw.headers.get("Location")
                    if not location:
                        raise BadResponse(
                            f"HTTP {raw.status} redirect without a Location", provider=provider
                        )
                    current = urljoin(current, location)
                    check_image_url(current, allowed_hosts, provider=provider)
                    continue
                if raw.status != 200:
                    raise _status_error(raw.status, raw.headers, current, provider)
                media_type = _declared_type(raw.headers.get("Content-Type", ""), provider)
                declared = raw.content_length
                if declared is not None and declared > max_bytes:
                    raise _too_large(max_bytes, provider)
                sink.expect(declared)
                hasher = hashlib.sha256()
                size = 0
                async for chunk in raw.content.iter_chunked(CHUNK_SIZE):
                    size += len(chunk)
                    if size > max_bytes:
                        raise _too_large(max_bytes, provider)
                    hasher.update(chunk)
                    sink.write(chunk)
                encoded = raw.headers.get("Content-Encoding", "identity").lower() != "identity"
                if declared is not None and not encoded and size != declared:
                    raise Transient(
                        f"image body from {_host(current)} is truncated "
                        f"({size} of {declared} bytes)",
                        provider=provider,
                        code="truncated",
                    )
                if size == 0:
                    raise BadResponse(f"empty image body from {_host(current)}", provider=provider)
                return media_type, size, hasher.hexdigest()
        except (TimeoutError, aiohttp.ClientError) as error:
            raise transport_error(error, f"download from {_host(current)}", provider) from None
    raise BadResponse(f"more than {MAX_REDIRECTS} redirects fetching an image", provider=provider)


def _status_error(
    status: int, headers: Mapping[str, str], url: str, provider: str | None
) -> ProviderError:
    from storyframe.http import error_for_status, parse_retry_after

    if status in (408, 429) or status >= 500:
        retry_after = parse_retry_after(headers)
        return error_for_status(
            status,
            f"fetching an image from {_host(url)}",
            provider=provider,
            retry_after=retry_after,
        )
    # An image host that answers 404 for an image just made may not have it yet, or a CDN edge
    # hiccuped: the image is paid for, so it is asked again within the retry policy's bounds.
    return Transient(
        f"HTTP {status} fetching an image from {_host(url)}",
        provider=provider,
        status=status,
        code="image_host",
    )


def _declared_type(content_type: str, provider: str | None) -> str:
    media_type = content_type.split(";", 1)[0].strip().lower()
    media_type = _TYPE_ALIASES.get(media_type, media_type)
    if not media_type.startswith("image/"):
        # An error page (HTML) from the host or a proxy in front of it: worth asking again.
        raise Transient(
            f"expected an image, got Content-Type {media_type or 'none'!r}",
            provider=provider,
            code="not_an_image",
        )
    if media_type not in IMAGE_TYPES:
        raise BadResponse(f"unsupported image type {media_type!r}", provider=provider)
    return media_type


def _too_large(limit: int, provider: str | None) -> BadResponse:
    return BadResponse(f"image is larger than {limit} bytes", provider=provider, code="too_large")


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


__all__ = [
    "IMAGE_TYPES",
    "DownloadedImage",
    "check_image_url",
    "download_image",
    "reference_data_uri",
    "sniff_image_type",
]
