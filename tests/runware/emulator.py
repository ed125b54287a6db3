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

or on its own: ``python tests/runware/emulator.py --port 8800 --key test-key``.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

try:
    from tests.runware import emulator_inputs as inputs
except ImportError:  # run as a script from tests/runware
    import emulator_inputs as inputs  # type: ignore[no-redef]

FaultKind = Literal["inference", "poll", "image"]
ImageFault = Literal["truncated", "corrupt", "html", "oversized", "oversized_chunked", "wrong_type"]

_FORMATS = {"JPG": ("JPEG", "jpg", "image/jpeg"), "PNG": ("PNG", "png", "image/png")}
_FORMATS["WEBP"] = ("WEBP", "webp", "image/webp")


@dataclass
class Fault:
    """One scripted misbehaviour, used by the next request of its kind.

    - ``status``: answer with this HTTP status, ``body`` (JSON) and ``headers``; the tasks are
      not registered.
    - ``reset``: drop the connection without answering; with ``after_processing`` the tasks are
      registered first (the request "went through").
    - ``delay``: register the tasks, then answer only after ``delay`` seconds (a timeout); the
      results are ``processing`` until then.
    - ``image``: for image requests, one of ``truncated`` (the connection closes half-way),
      ``corrupt`` (a cut PNG with a matching Content-Length), ``html``, ``oversized`` (with
      Content-Length), ``oversized_chunked`` (without), ``wrong_type`` (PNG bytes, image/jpeg).
    - ``raw``: for API requests, register and run the tasks (they are charged), then answer 200
      with these bytes as an ``application/json`` body (an unreadable 2xx).
    - ``redirect_host``: for image requests, a 302 to the same path on this host.
    """

    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False
    after_processing: bool = False
    delay: float = 0.0
    image: ImageFault | None = None
    size: int = 4 * 1024 * 1024
    raw: bytes | None = None
    redirect_host: str | None = None


@dataclass
class _Task:
    task: dict[str, Any]
    result: dict[str, Any]
    ready_at: float = 0.0
    polls_left: int = 0
    failure: dict[str, Any] | None = None
    failure_form: Literal["errors", "data"] = "errors"


@dataclass
class _Image:
    width: int
    height: int
    fmt: str
    seed: int


class Emulator:
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
        self._tasks: dict[str, _Task] = {}
        self._images: dict[str, _Image] = {}
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

    def paid_per_prompt(self) -> Counter[str]:
        """Distinct charged taskUUIDs per positivePrompt (more than 1: an image paid twice)."""
        return Counter(self.charged_prompts.values())

    @property
    def images_paid(self) -> int:
        """How many distinct tasks were charged."""
        return len(self.charged)

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

    @property
    def images_made(self) -> int:
        """How many images were generated (and would have been paid for)."""
        return len(self._images)

    def forget(self, image_uuid: str) -> None:
        """Drop an uploaded image, as a service that no longer keeps it would."""
        self.uploads.pop(image_uuid, None)

    def holds(self, image_uuid: str) -> bool:
        """Whether an imageUUID names an uploaded or generated image the emulator holds."""
        return image_uuid in self.uploads or image_uuid in self._images

    def upload_tasks(self) -> list[dict[str, Any]]:
        """Every imageUpload task received, in order."""
        return [
            t
            for b in self.bodies
            if isinstance(b, list)
            for t in b
            if isinstance(t, dict) and t.get("taskType") == "imageUpload"
        ]

    def inference_tasks(self) -> list[dict[str, Any]]:
        """Every imageInference task received, in order."""
        return [
            t for b in self.inference_bodies() for t in b if t.get("taskType") == "imageInference"
        ]

    def inference_bodies(self) -> list[list[dict[str, Any]]]:
        """The request bodies that carried imageInference tasks."""
        return [
            b
            for b in self.bodies
            if isinstance(b, list) and any(t.get("taskType") == "imageInference" for t in b)
        ]

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
            return _errors(400, [{"code": "invalidJson", "message": "body is not JSON"}])
        self.bodies.append(body)
        self.headers.append(dict(request.headers))
        if not isinstance(body, list) or not body:
            return _errors(400, [{"code": "invalidTasks", "message": "expected a task array"}])
        auth = request.headers.get("Authorization", "")
        if self.api_key is not None:
            if not auth:
                return _errors(401, [_auth_error("missingApiKey", "Missing API key")])
            if auth != f"Bearer {self.api_key}":
                return _errors(401, [_auth_error("invalidApiKey", "Invalid API key")])
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
            return _reset(request)
        data: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for task in body:
            self._run_task(task, data, errors, fault)
        if fault is not None and fault.reset:
            return _reset(request)
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

    def _run_task(
        self,
        task: Any,
        data: list[dict[str, Any]],
        errors: list[dict[str, Any]],
        fault: Fault | None,
    ) -> None:
        if not isinstance(task, dict):
            errors.append({"code": "invalidTask", "message": "a task must be an object"})
            return
        kind = task.get("taskType")
        if kind == "ping":
            data.append({"taskType": "ping", "pong": True})
        elif kind == "accountManagement":
            data.append(self._account(task))
        elif kind == "getResponse":
            self._get_response(task, data, errors)
        elif kind == "getTaskDetails":
            self._task_details(task, data, errors)
        elif kind == "imageInference":
            self._inference(task, data, errors, fault)
        elif kind == "imageUpload":
            self._upload(task, data, errors)
        else:
            errors.append(
                {
                    "code": "unsupportedTaskType",
                    "message": f"{kind!r}",
                    "taskUUID": task.get("taskUUID"),
                }
            )

    def _upload(
        self, task: dict[str, Any], data: list[dict[str, Any]], errors: list[dict[str, Any]]
    ) -> None:
        task_uuid = str(task.get("taskUUID") or "")
        problem = inputs.upload_error(task, self.holds)
        if task_uuid in self._tasks or task_uuid in self._upload_uuids:
            problem = {
                "code": "conflictTaskUUID",
                "message": "A task with this taskUUID already exists.",
                "parameter": "taskUUID",
            }
        if problem is not None:
            errors.append({**problem, "taskType": "imageUpload", "taskUUID": task_uuid})
            return
        self._upload_uuids.add(task_uuid)
        fmt, payload = inputs.decode(task["image"], self.holds) or ("PNG", None)
        image_uuid = str(uuid.uuid4())
        self.uploads[image_uuid] = (fmt, payload)
        ext = _FORMATS[fmt][1] if fmt in _FORMATS else "png"
        data.append(
            {
                "taskType": "imageUpload",
                "taskUUID": task_uuid,
                "imageUUID": image_uuid,
                "imageURL": f"http://{self.image_host}:{self.port}/image/ws/2/ii/{image_uuid}.{ext}",
            }
        )

    def _account(self, task: dict[str, Any]) -> dict[str, Any]:
        return {
            "taskType": "accountManagement",
            "taskUUID": task.get("taskUUID"),
            "organizationUUID": "7f0c1a52-3a57-4d0c-9a36-1f5a8e6e2b10",
            "organizationName": "Emulated Org",
            "balance": self.balance,
        }

    def _inference(
        self,
        task: dict[str, Any],
        data: list[dict[str, Any]],
        errors: list[dict[str, Any]],
        fault: Fault | None,
    ) -> None:
        task_uuid = str(task.get("taskUUID") or "")
        self.submissions[task_uuid] += 1

        def fail(code: str, message: str, **extra: Any) -> None:
            errors.append(
                {
                    "code": code,
                    "message": message,
                    "taskType": "imageInference",
                    "taskUUID": task_uuid,
                    **extra,
                }
            )

        if task_uuid in self._tasks:
            fail(
                "conflictTaskUUID",
                "A task with this taskUUID already exists.",
                parameter="taskUUID",
            )
            return
        problem = _validate(task)
        if problem:
            fail(*problem)
            return
        refused = inputs.inference_error(task, self.holds)
        if refused is not None:
            errors.append({**refused, "taskType": "imageInference", "taskUUID": task_uuid})
            return
        prompt = str(task["positivePrompt"])
        for marker, error in self._prompt_errors:
            if marker in prompt:
                errors.append({**error, "taskType": "imageInference", "taskUUID": task_uuid})
                return
        scripted = self._next_failures.popleft() if self._next_failures else None
        is_async = task.get("deliveryMethod") == "async"
        if scripted is not None and not is_async:
            failure = {**scripted[0], "taskType": "imageInference", "taskUUID": task_uuid}
            errors.append(failure)
            self._tasks[task_uuid] = _Task(task=task, result={}, failure=scripted[0])
            return
        fmt = str(task.get("outputFormat", "JPG")).upper()
        image_uuid = str(uuid.uuid4())
        seed = int(task.get("seed") or 1234567890)
        self._images[image_uuid] = _Image(int(task["width"]), int(task["height"]), fmt, seed)
        host = self._misdirect.popleft() if self._misdirect else self.image_host
        result: dict[str, Any] = {
            "taskType": "imageInference",
            "taskUUID": task_uuid,
            "imageUUID": image_uuid,
            "imageURL": f"http://{host}:{self.port}/image/ws/2/ii/{image_uuid}.{_FORMATS[fmt][1]}",
            "seed": seed,
        }
        if task.get("includeCost"):
            result["cost"] = self.cost
        if isinstance(task.get("safety"), dict) and task["safety"].get("checkContent"):
            result["NSFWContent"] = False
        state = _Task(task=task, result=result)
        if fault is not None and fault.delay:
            state.ready_at = time.monotonic() + fault.delay
        if self.task_time:
            state.ready_at = max(state.ready_at, time.monotonic() + self.task_time)
        if is_async:
            state.polls_left = self.processing_polls
            for marker, error, form in self._async_failures:
                if marker in prompt:
                    state.failure, state.failure_form = error, form
            if scripted is not None:
                state.failure, state.failure_form = scripted
            data.append({"taskType": "imageInference", "taskUUID": task_uuid})
        else:
            data.append(result)
        if state.failure is None:
            self.charged[task_uuid] += 1
            self.charged_prompts[task_uuid] = prompt
        self._tasks[task_uuid] = state

    def _get_response(
        self, task: dict[str, Any], data: list[dict[str, Any]], errors: list[dict[str, Any]]
    ) -> None:
        task_uuid = str(task.get("taskUUID") or "")
        self.polls[task_uuid] += 1
        state = self._tasks.get(task_uuid)
        sync = state is not None and state.task.get("deliveryMethod") != "async"
        if sync and not self.get_response_knows_sync:
            state = None
        if state is None:
            errors.append(
                {
                    "code": "taskNotFound",
                    "message": "Task not found.",
                    "taskType": "getResponse",
                    "taskUUID": task_uuid,
                }
            )
            return
        if state.polls_left > 0 or time.monotonic() < state.ready_at:
            state.polls_left = max(0, state.polls_left - 1)
            data.append(
                {"taskType": "imageInference", "taskUUID": task_uuid, "status": "processing"}
            )
            return
        if state.failure is not None:
            if state.failure_form == "errors":
                errors.append({**state.failure, "status": "error", "taskUUID": task_uuid})
            else:
                data.append(
                    {
                        "taskType": "imageInference",
                        "taskUUID": task_uuid,
                        "status": "error",
                        "error": state.failure,
                    }
                )
            return
        data.append({**state.result, "status": "success"})

    def _task_details(
        self, task: dict[str, Any], data: list[dict[str, Any]], errors: list[dict[str, Any]]
    ) -> None:
        task_uuid = str(task.get("taskUUID") or "")
        self.details[task_uuid] += 1
        state = self._tasks.get(task_uuid)
        if state is None:
            errors.append(
                {
                    "code": "taskNotFound",
                    "message": "Task not found.",
                    "taskType": "getTaskDetails",
                    "taskUUID": task_uuid,
                }
            )
            return
        item: dict[str, Any] = {
            "taskType": "getTaskDetails",
            "taskUUID": task_uuid,
            "request": [state.task],
        }
        if state.failure is None and time.monotonic() < state.ready_at:
            item["status"] = "processing"
        elif state.failure is not None:
            failure = {**state.failure, "taskType": "imageInference", "taskUUID": task_uuid}
            item["response"] = {"errors": [failure]}
        else:
            item["response"] = {"data": [state.result]}
        data.append(item)

    # -- the image host ------------------------------------------------------------------------

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
            return _reset(request)
        uploaded = self.uploads.get(name.rsplit(".", 1)[0])
        if uploaded is not None and uploaded[1] is not None and fault is None:
            return web.Response(body=uploaded[1], content_type=_FORMATS[uploaded[0]][2])
        record = self._images.get(name.rsplit(".", 1)[0])
        if record is None:
            return web.Response(status=404, text="not found")
        payload = self.render(record)
        media_type = _FORMATS[record.fmt][2]
        kind = fault.image if fault is not None else None
        if kind == "html":
            return web.Response(text="<html><body>Oops</body></html>", content_type="text/html")
        if kind == "wrong_type":
            payload = self.render(_Image(record.width, record.height, "PNG", record.seed))
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
            return _reset(request)
        return web.Response(body=payload, content_type=media_type)

    def render(self, record: _Image) -> bytes:
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
            image.save(buffer, format=_FORMATS[record.fmt][0])
            self._cache[key] = buffer.getvalue()
        return self._cache[key]


def _validate(task: dict[str, Any]) -> tuple[str, str] | None:
    prompt = task.get("positivePrompt")
    if not isinstance(prompt, str) or not 2 <= len(prompt) <= 3000:
        return (
            "invalidPositivePrompt",
            "positivePrompt must be a string between 2 and 3000 characters",
        )
    for side in ("width", "height"):
        value = task.get(side)
        if not isinstance(value, int) or not 128 <= value <= 2048 or value % 64:
            return (
                f"invalid{side.title()}",
                f"{side} must be a multiple of 64 between 128 and 2048",
            )
    if not isinstance(task.get("model"), str) or "@" not in task["model"]:
        return ("invalidModel", "model must be an AIR id")
    if str(task.get("outputFormat", "JPG")).upper() not in _FORMATS:
        return ("invalidOutputFormat", "outputFormat must be JPG, PNG or WEBP")
    if not 1 <= int(task.get("numberResults", 1)) <= 20:
        return ("invalidNumberResults", "numberResults must be between 1 and 20")
    return None


def _auth_error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "parameter": "apiKey", "taskType": "authentication"}


def _errors(status: int, errors: list[dict[str, Any]]) -> web.Response:
    return web.json_response({"errors": errors}, status=status)


def _reset(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=500)


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
