"""storyframe.download against a local aiohttp server on 127.0.0.1."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from storyframe.download import DownloadedImage, download_image, sniff_image_type
from storyframe.errors import BadResponse, Transient
from storyframe.http import HttpClient
from storyframe.providers import ProviderConfig

pytestmark = pytest.mark.block_network(allowed_hosts=[r"^127\.0\.0\.1$"])

LOCAL = ["127.0.0.1"]


def picture(fmt: str = "PNG", size: tuple[int, int] = (40, 24)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 90, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


PNG = picture("PNG")
JPEG = picture("JPEG")
WEBP = picture("WEBP")


class Server:
    """Routes answer from ``plan[path]``: a list of handlers used in turn (the last repeats)."""

    def __init__(self) -> None:
        self.plan: dict[str, list[Callable[[web.Request], Any]]] = {}
        self.hits: dict[str, int] = {}
        self.url = ""

    def on(self, path: str, *handlers: Callable[[web.Request], Any]) -> str:
        self.plan[path] = list(handlers)
        return f"{self.url}{path}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        count = self.hits.get(path, 0)
        self.hits[path] = count + 1
        handlers = self.plan.get(path)
        if not handlers:
            return web.Response(status=404)
        result = handlers[min(count, len(handlers) - 1)](request)
        if hasattr(result, "__await__"):
            result = await result
        return result  # type: ignore[no-any-return]


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", srv.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    srv.url = f"http://127.0.0.1:{port}"
    yield srv
    await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    config = ProviderConfig(
        timeout=2.0, max_attempts=3, backoff_base=0.001, backoff_max=0.01, max_retry_seconds=5
    )
    http = HttpClient("test", config)
    yield http
    await http.aclose()


def image(body: bytes, content_type: str) -> Callable[[web.Request], web.Response]:
    return lambda request: web.Response(body=body, content_type=content_type)


def redirect(location: str) -> Callable[[web.Request], web.Response]:
    return lambda request: web.Response(status=302, headers={"Location": location})


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def cut_off(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "image/png"})
    response.content_length = len(PNG)
    await response.prepare(request)
    await response.write(PNG[: len(PNG) // 2])
    assert request.transport is not None
    request.transport.abort()
    return response


# -- sniffing --------------------------------------------------------------------------------


def test_sniff_image_type() -> None:
    assert sniff_image_type(PNG) == "image/png"
    assert sniff_image_type(JPEG) == "image/jpeg"
    assert sniff_image_type(WEBP) == "image/webp"
    assert sniff_image_type(b"GIF89a....") is None
    assert sniff_image_type(b"<html>") is None
    assert sniff_image_type(b"RIFF\0\0\0\0WAVE") is None
    assert sniff_image_type(b"") is None


# -- success ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"), (JPEG, "image/jpg")],
)
async def test_downloads_into_memory(
    server: Server, client: HttpClient, body: bytes, content_type: str
) -> None:
    url = server.on("/a", image(body, content_type))
    got = await download_image(client, url, allowed_hosts=LOCAL, max_bytes=1 << 20)
    assert isinstance(got, DownloadedImage)
    assert got.data == body and got.path is None
    assert (got.width, got.height, got.size) == (40, 24, len(body))
    assert got.media_type == sniff_image_type(body)
    assert len(got.sha256) == 64
    assert "data" not in repr(got)


async def test_downloads_to_a_new_dest_written_once(
    server: Server, client: HttpClient, tmp_path: Path
) -> None:
    url = server.on("/b.png", image(PNG, "image/png"))
    dest = tmp_path / "images" / ".scratch.download.tmp"
    got = await download_image(client, url, dest, allowed_hosts=LOCAL, max_bytes=1 << 20)
    assert got.path == dest and got.data is None
    assert dest.read_bytes() == PNG
    assert leftovers(dest.parent) == [".scratch.download.tmp"], "no second file, no rename"
    with pytest.raises(FileExistsError):  # dest is the caller's new name: never replaced
        await download_image(client, url, dest, allowed_hosts=LOCAL, max_bytes=1 << 20)
    assert dest.read_bytes() == PNG


def noise_png(min_bytes: int) -> bytes:
    """A PNG of random pixels larger than ``min_bytes`` (noise does not compress)."""
    import os as _os

    from PIL import Image

    side = int((min_bytes / 3) ** 0.5) + 8
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), _os.urandom(side * side * 3)).save(buffer, "PNG")
    return buffer.getvalue()


async def test_large_body_streams_to_a_file_and_is_verified(
    server: Server, client: HttpClient, tmp_path: Path
) -> None:
    from storyframe.download import SPILL_BYTES

    big = noise_png(SPILL_BYTES + 100_000)
    assert len(big) > SPILL_BYTES
    url = server.on("/big.png", image(big, "image/png"))
    dest = tmp_path / "images" / "scene-02.png"
    got = await download_image(client, url, dest, allowed_hosts=LOCAL, max_bytes=1 << 23)
    assert got.path == dest and dest.read_bytes() == big and got.size == len(big)
    assert leftovers(dest.parent) == ["scene-02.png"]
    cut = server.on("/cut.png", image(big[: SPILL_BYTES + 50_000], "image/png"))
    with pytest.raises(Transient):  # a body cut short past the spill size: no file left
        await download_image(
            client, cut, dest.with_name("scene-03.png"), allowed_hosts=LOCAL, max_bytes=1 << 23
        )
    assert leftovers(dest.parent) == ["scene-02.png"]


async def test_retries_transient_status_then_succeeds(server: Server, client: HttpClient) -> None:
    url = server.on(
        "/c",
        lambda r: web.Response(status=503, headers={"Retry-After": "0"}),
        image(PNG, "image/png"),
    )
    got = await download_image(client, url, allowed_hosts=None, max_bytes=1 << 20)
    assert got.data == PNG
    assert server.hits["/c"] == 2


async def test_follows_redirect_on_allowed_host(server: Server, client: HttpClient) -> None:
    target = server.on("/final", image(PNG, "image/png"))
    url = server.on("/moved", redirect(target))
    got = await download_image(client, url, allowed_hosts=LOCAL, max_bytes=1 << 20)
    assert got.data == PNG


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "data:image/png;base64,iVBORw0KGgo=",
        "ftp://127.0.0.1/x.png",
        "javascript:alert(1)",
        "http://user:pass@127.0.0.1/x.png",
        "not a url",
    ],
)
async def test_refuses_non_http_urls(client: HttpClient, url: str) -> None:
    with pytest.raises(BadResponse):
        await download_image(client, url, allowed_hosts=None, max_bytes=1 << 20)


async def test_refuses_hosts_off_the_allow_list(server: Server, client: HttpClient) -> None:
    url = server.on("/d", image(PNG, "image/png")).replace("127.0.0.1", "localhost")
    with pytest.raises(BadResponse, match="allowed hosts"):
        await download_image(client, url, allowed_hosts=LOCAL, max_bytes=1 << 20)
    assert server.hits == {}


async def test_refuses_redirect_off_the_allow_list(server: Server, client: HttpClient) -> None:
    url = server.on("/e", redirect("http://evil.example/x.png"))
    with pytest.raises(BadResponse, match=r"evil\.example"):
        await download_image(client, url, allowed_hosts=LOCAL, max_bytes=1 << 20)


async def test_refuses_redirect_to_file_scheme(server: Server, client: HttpClient) -> None:
    url = server.on("/f", redirect("file:///etc/passwd"))
    with pytest.raises(BadResponse):
        await download_image(client, url, allowed_hosts=None, max_bytes=1 << 20)


# -- bad bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"GIF89a" + b"\0" * 64, "image/gif", "unsupported image type"),
        (PNG, "image/jpeg", "Content-Type says image/jpeg"),
        (b"", "image/png", "empty"),
    ],
)
async def test_wrong_bodies_are_bad_responses_and_leave_nothing(
    server: Server,
    client: HttpClient,
    tmp_path: Path,
    body: bytes,
    content_type: str,
    message: str,
) -> None:
    url = server.on("/g", image(body, content_type))
    dest = tmp_path / "scene.png"
    with pytest.raises(BadResponse, match=message):
        await download_image(client, url, dest, allowed_hosts=LOCAL, max_bytes=1 << 20)
    assert leftovers(tmp_path) == []
    assert server.hits["/g"] == 1, "an answer that cannot change is not asked again"


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"<html><body>sorry</body></html>", "text/html", "expected an image"),
        (b"<html>not really</html>", "image/png", "not a JPEG, PNG or WEBP"),
        (PNG[: len(PNG) // 2], "image/png", "truncated or corrupt"),
        (JPEG[: len(JPEG) - 40], "image/jpeg", "truncated or corrupt"),
    ],
)
async def test_bodies_that_may_pass_are_retried_then_transient(
    server: Server,
    client: HttpClient,
    tmp_path: Path,
    body: bytes,
    content_type: str,
    message: str,
) -> None:
    # The image is paid for: an error page or a broken body is asked for again, within bounds.
    url = server.on("/g", image(body, content_type))
    with pytest.raises(Transient, match=message) as caught:
        await download_image(
            client, url, tmp_path / "x.png", allowed_hosts=LOCAL, max_bytes=1 << 20
        )
    assert caught.value.exhausted
    assert server.hits["/g"] == 3
    assert leftovers(tmp_path) == []


async def test_an_error_page_once_then_the_image_recovers(
    server: Server, client: HttpClient
) -> None:
    url = server.on("/g2", image(b"<html>busy</html>", "text/html"), image(PNG, "image/png"))
    got = await download_image(client, url, allowed_hosts=LOCAL, max_bytes=1 << 20)
    assert got.data == PNG
    assert server.hits["/g2"] == 2


async def test_body_cut_off_is_retried_then_transient(
    server: Server, client: HttpClient, tmp_path: Path
) -> None:
    url = server.on("/h", cut_off)
    with pytest.raises(Transient, match="truncated"):
        await download_image(
            client, url, tmp_path / "x.png", allowed_hosts=LOCAL, max_bytes=1 << 20
        )
    assert server.hits["/h"] == 3
    assert leftovers(tmp_path) == []


async def test_body_cut_off_once_recovers(server: Server, client: HttpClient) -> None:
    url = server.on("/i", cut_off, image(PNG, "image/png"))
    got = await download_image(client, url, allowed_hosts=LOCAL, max_bytes=1 << 20)
    assert got.data == PNG


async def test_content_length_over_the_cap_is_refused_up_front(
    server: Server, client: HttpClient, tmp_path: Path
) -> None:
    url = server.on("/j", image(PNG, "image/png"))
    with pytest.raises(BadResponse, match="larger than"):
        await download_image(client, url, tmp_path / "x.png", allowed_hosts=LOCAL, max_bytes=64)
    assert leftovers(tmp_path) == []


async def test_streamed_body_over_the_cap_is_refused(
    server: Server, client: HttpClient, tmp_path: Path
) -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(64):
            await response.write(PNG + b"\0" * 16384)
        return response

    url = server.on("/k", endless)
    with pytest.raises(BadResponse, match="larger than"):
        await download_image(
            client, url, tmp_path / "x.png", allowed_hosts=LOCAL, max_bytes=100_000
        )
    assert leftovers(tmp_path) == []


async def test_not_found_is_retried_within_bounds(server: Server, client: HttpClient) -> None:
    url = f"{server.url}/missing.png"
    with pytest.raises(Transient, match="HTTP 404"):
        await download_image(client, url, allowed_hosts=LOCAL, max_bytes=1 << 20)
    assert server.hits["/missing.png"] == 3


async def test_persistent_server_errors_end_transient(server: Server, client: HttpClient) -> None:
    url = server.on("/l", lambda r: web.Response(status=502))
    with pytest.raises(Transient):
        await download_image(client, url, allowed_hosts=LOCAL, max_bytes=1 << 20)
    assert server.hits["/l"] == 3


async def test_connection_refused_is_transient(client: HttpClient) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(Transient):
        await download_image(
            client, f"http://127.0.0.1:{port}/x.png", allowed_hosts=LOCAL, max_bytes=1 << 20
        )
