"""A local stand-in for Runware's REST API and its image host, with scripted faults.

It follows ``../shared/api/runware.md``: ``POST /v1`` takes a JSON array of tasks
(``imageInference``, ``getResponse``, ``ping``, ``accountManagement``) with
``Authorization: Bearer``, answers ``{"data": [...], "errors": [...]}`` matched by ``taskUUID``,
remembers every task (a resent taskUUID gets ``conflictTaskUUID``; ``getResponse`` of an unknown
one gets ``taskNotFound``), and serves real PNG/JPEG/WEBP images drawn with Pillow at
``/image/ws/2/ii/<imageUUID>.<ext>`` on the same server.

Use it in-process::

    emulator = Emulator(api_key="test-key")
    base_url = await emulator.start()      # http://127.0.0.1:PORT/v1
    ...
    await emulator.stop()

or, for a CLI run in a subprocess, in a background thread::

    with serve_in_thread(Emulator(api_key="k")) as base_url: ...

or on its own: ``python tests/runware/emulator.py --port 8800 --key test-key``. Scripts that load
this file by its path (the benchmarks) get its sibling modules too.

Configure the provider with ``base_url`` and ``allowed_download_hosts = ["127.0.0.1"]``.
Faults are queued per kind of request (``"inference"``, ``"poll"``, ``"image"``) and each one
is used once, by the next request of that kind; see :class:`Fault`.

Paid work and recovery (used by ``tests/faults``):

- ``charged`` counts, per taskUUID, the images that were generated and so paid for (a task that
  succeeds at inference; a task scripted to fail is not charged). ``paid_per_prompt()`` counts
  distinct charged taskUUIDs per ``positivePrompt``: more than 1 means one image was bought twice.
- ``getTaskDetails`` (``{"taskType": "getTaskDetails", "taskUUID": ...}``) answers a data item
  ``{"taskType": "getTaskDetails", "taskUUID", "request": [task], "response": {"data": [...]}}``
  (``{"errors": [...]}`` for a failed task; ``"status": "processing"`` and no ``response`` while
  it runs); an unknown taskUUID gets ``taskNotFound``. Requests are recorded in ``details``.
- ``getResponse`` knows only tasks submitted with ``deliveryMethod: "async"`` unless
  ``get_response_knows_sync=True``: whether Runware lets a sync task be polled is unconfirmed,
  so by default a sync task polled by getResponse is ``taskNotFound`` (strict).
- ``fail_next(code, count, form=...)`` fails the next ``count`` imageInference tasks with any
  task-level code: sync tasks in ``errors[]`` at submission, async tasks when polled, in the
  ``errors`` form (an ``errors[]`` item with ``status: "error"``) or the ``data`` form (a data
  item with ``status: "error"`` and an ``error`` object). A task that failed keeps its
  taskUUID (strict: whether Runware frees it is unconfirmed): a resend gets
  ``conflictTaskUUID`` and ``getTaskDetails`` returns its errors, so a task-level failure is
  retried under a new taskUUID (the failed task was not charged).
- ``misdirect(host, count)``: the next ``count`` results carry an ``imageURL`` on ``host``.
- ``latency`` / ``image_latency``: seconds every API / image request waits before answering
  (after the tasks are registered), so batches can be caught in flight.
- ``task_time``: seconds each image takes to make. An async task answers ``processing`` until
  then; a sync request waits that long (its tasks run side by side) before it answers.

Image inputs (``emulator_inputs``): ``imageUpload`` stores the image (PNG/JPG/WEBP, checked) and
answers ``imageUUID`` and ``imageURL`` in the ``data`` array (``upload_form = "object"`` answers
the object form the upload page shows); uploads are free and served by the image host.
``referenceImages`` and ``ipAdapters`` are checked per model; an imageUUID the emulator does not
hold (never uploaded, or dropped with ``forget``) is refused.

The parts: ``emulator_faults`` (:class:`Fault`, error answers), ``emulator_tasks`` (each task
type), ``emulator_images`` (the image host), ``emulator_inputs`` (image inputs, uploads),
``emulator_log`` (what was received and charged); this module routes requests and checks keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

if __package__ in (None, ""):  # run as a script, or loaded by its path: find the siblings
    _REPO = str(Path(__file__).resolve().parents[2])
    if _REPO not in sys.path:
        sys.path.insert(0, _REPO)

from tests.runware.emulator_faults import (
    Fault,
    FaultKind,
    ImageFault,
    auth_error,
    error_response,
    reset,
)
from tests.runware.emulator_images import FORMATS, ImageHost, ImageRecord
from tests.runware.emulator_log import RequestLog
from tests.runware.emulator_tasks import TaskRunner, TaskState

__all__ = [
    "FORMATS",
    "Emulator",
    "Fault",
    "FaultKind",
    "ImageFault",
    "ImageRecord",
    "TaskState",
    "serve_in_thread",
]


class Emulator(TaskRunner, ImageHost, RequestLog):
    """The fake Runware service.

    Inspect ``bodies`` and ``headers`` (every API request), ``submissions`` and ``polls`` (per
    taskUUID), ``images_made``, ``image_hits`` and ``image_headers``.

    ``processing_polls``: async tasks answer ``processing`` to this many polls first.
    ``image_host``: the host written into ``imageURL`` (default ``127.0.0.1``).
    ``image_scale``: images are drawn at the requested size divided by this (keeps tests fast).
    ``get_response_knows_sync``: let getResponse answer for sync tasks too (default: strict).
    ``latency``: seconds each API request waits before it is answered.
    ``task_time``: seconds each image takes to make (async: ``processing`` until then).
    """

    def __init__(
        self,
        *,
        api_key: str | None = "test-key",
        processing_polls: int = 0,
        image_host: str = "127.0.0.1",
        image_scale: int = 8,
        cost: float = 0.0038,
        balance: float = 12.5,
        get_response_knows_sync: bool = False,
        latency: float = 0.0,
        task_time: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.processing_polls = processing_polls
        self.image_host = image_host
        self.image_scale = max(1, image_scale)
        self.cost = cost
        self.balance = balance
        self.bodies: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self.submissions: Counter[str] = Counter()
        self.polls: Counter[str] = Counter()
        self.image_hits: list[str] = []
        self.image_headers: list[dict[str, str]] = []
        self.faults: dict[str, deque[Fault]] = {k: deque() for k in ("inference", "poll", "image")}
        self._prompt_errors: list[tuple[str, dict[str, Any]]] = []
        self._async_failures: list[tuple[str, dict[str, Any], Literal["errors", "data"]]] = []
        self._tasks: dict[str, TaskState] = {}
        self._images: dict[str, ImageRecord] = {}
        self._cache: dict[tuple[int, int, str, int], bytes] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.get_response_knows_sync = get_response_knows_sync
        self.latency = latency
        self.task_time = task_time
        self.image_latency = 0.0
        self.charged: Counter[str] = Counter()
        self.charged_prompts: dict[str, str] = {}
        self.details: Counter[str] = Counter()
        self._next_failures: deque[tuple[dict[str, Any], Literal["errors", "data"]]] = deque()
        self._misdirect: deque[str] = deque()
        self._upload_uuids: set[str] = set()
        self.uploads: dict[str, tuple[str, bytes | None]] = {}
        """Uploaded images by imageUUID: their format and bytes."""
        self.upload_form: Literal["array", "object"] = "array"

    # -- scripting -----------------------------------------------------------------------------

    def queue(self, kind: FaultKind, *faults: Fault) -> None:
        """Queue faults for the next requests of ``kind``."""
        self.faults[kind].extend(faults)

    def fail_prompt(self, marker: str, code: str, message: str = "", **extra: Any) -> None:
        """Fail every imageInference task whose positivePrompt contains ``marker`` at submission."""
        error = {"code": code, "message": message or f"{code} (emulated)", **extra}
        self._prompt_errors.append((marker, error))

    def fail_async(
        self, marker: str, code: str, message: str = "", form: Literal["errors", "data"] = "errors"
    ) -> None:
        """Fail async tasks whose prompt contains ``marker`` when polled, in the given form."""
        error = {"code": code, "message": message or f"{code} (emulated)"}
        self._async_failures.append((marker, error, form))

    def fail_next(
        self,
        code: str,
        count: int = 1,
        *,
        message: str = "",
        form: Literal["errors", "data"] = "errors",
    ) -> None:
        """Fail the next ``count`` imageInference tasks with ``code`` (not charged).

        Sync tasks fail at submission in ``errors[]``; async tasks are acknowledged and fail when
        polled, in ``form``.
        """
        error = {"code": code, "message": message or f"{code} (emulated)"}
        self._next_failures.extend((dict(error), form) for _ in range(count))

    def misdirect(self, host: str, count: int = 1) -> None:
        """Give the next ``count`` results an ``imageURL`` on ``host`` (same port and path)."""
        self._misdirect.extend([host] * count)

    def finish(self, task_uuid: str) -> None:
        """Let a submitted task answer its next poll with its result."""
        state = self._tasks[task_uuid]
        state.polls_left, state.ready_at = 0, 0.0

    def lose(self, task_uuid: str) -> None:
        """Forget a task as if its request never reached Runware (not charged, unknown to polls
        and getTaskDetails, so the same taskUUID may be sent again)."""
        self._tasks.pop(task_uuid, None)
        self.charged.pop(task_uuid, None)
        self.charged_prompts.pop(task_uuid, None)

    def forget(self, image_uuid: str) -> None:
        """Drop an uploaded image, as a service that no longer keeps it would."""
        self.uploads.pop(image_uuid, None)

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The REST endpoint (``http://127.0.0.1:PORT/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self, port: int = 0) -> str:
        """Start serving on 127.0.0.1 and return the base URL."""
        app = web.Application()
        app.router.add_post("/v1", self._api)
        app.router.add_get("/image/ws/2/ii/{name}", self._image)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.base_url

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- the API -------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return error_response(400, [{"code": "invalidJson", "message": "body is not JSON"}])
        self.bodies.append(body)
        self.headers.append(dict(request.headers))
        if not isinstance(body, list) or not body:
            problem = {"code": "invalidTasks", "message": "expected a task array"}
            return error_response(400, [problem])
        auth = request.headers.get("Authorization", "")
        if self.api_key is not None:
            if not auth:
                return error_response(401, [auth_error("missingApiKey", "Missing API key")])
            if auth != f"Bearer {self.api_key}":
                return error_response(401, [auth_error("invalidApiKey", "Invalid API key")])
        kinds = {t.get("taskType") for t in body if isinstance(t, dict)}
        kind: FaultKind | None = (
            "inference"
            if "imageInference" in kinds
            else "poll"
            if kinds & {"getResponse", "getTaskDetails"}
            else None
        )
        fault = self.faults[kind].popleft() if kind and self.faults[kind] else None
        if fault is not None and fault.status is not None:
            return web.json_response(fault.body or {}, status=fault.status, headers=fault.headers)
        if fault is not None and fault.reset and not fault.after_processing:
            return reset(request)
        data: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for task in body:
            self._run_task(task, data, errors, fault)
        if fault is not None and fault.reset:
            return reset(request)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if self.task_time and any(
            isinstance(t, dict)
            and t.get("taskType") == "imageInference"
            and t.get("deliveryMethod") != "async"
            for t in body
        ):
            await asyncio.sleep(self.task_time)
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault is not None and fault.raw is not None:
            return web.Response(body=fault.raw, content_type="application/json")
        status = 400 if errors and not data else 200
        envelope: dict[str, Any] = {"data": data}
        if self.upload_form == "object" and kinds == {"imageUpload"} and len(data) == 1:
            envelope["data"] = data[0]
        if errors:
            envelope["errors"] = errors
        return web.json_response(envelope, status=status)


async def _cancel_the_rest() -> None:
    """Cancel the handlers still running (a client killed mid-request left them waiting)."""
    rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in rest:
        task.cancel()
    await asyncio.gather(*rest, return_exceptions=True)


@contextlib.contextmanager
def serve_in_thread(emulator: Any) -> Iterator[str]:
    """Run an emulator (anything with async ``start() -> url`` and ``stop()``) on its own event
    loop in a thread, for code under test that runs its own loop; yield its base URL."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    base: list[str] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        base.append(loop.run_until_complete(emulator.start()))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="runware-emulator", daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield base[0]
    finally:
        asyncio.run_coroutine_threadsafe(emulator.stop(), loop).result(10)
        asyncio.run_coroutine_threadsafe(_cancel_the_rest(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def main() -> None:
    """Serve the emulator until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", default="test-key", help="the API key to accept ('' for any)")
    parser.add_argument("--processing-polls", type=int, default=0)
    args = parser.parse_args()

    async def serve() -> None:
        emulator = Emulator(api_key=args.key or None, processing_polls=args.processing_polls)
        print(await emulator.start(args.port), flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
