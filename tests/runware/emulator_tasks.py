"""The Runware emulator's tasks: ``imageInference``, ``imageUpload``, ``getResponse``,
``getTaskDetails``, ``ping`` and ``accountManagement``, each answered into the request's
``data`` or ``errors`` array."""

from __future__ import annotations

import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Literal

from tests.runware import emulator_inputs as inputs
from tests.runware.emulator_faults import Fault
from tests.runware.emulator_images import FORMATS, ImageRecord


@dataclass
class TaskState:
    task: dict[str, Any]
    result: dict[str, Any]
    ready_at: float = 0.0
    polls_left: int = 0
    failure: dict[str, Any] | None = None
    failure_form: Literal["errors", "data"] = "errors"


class TaskRunner:
    """Runs each task of a request (a mixin of :class:`Emulator`)."""

    port: int
    image_host: str
    cost: float
    balance: float
    get_response_knows_sync: bool
    task_time: float
    processing_polls: int
    submissions: Counter[str]
    polls: Counter[str]
    details: Counter[str]
    charged: Counter[str]
    charged_prompts: dict[str, str]
    uploads: dict[str, tuple[str, bytes | None]]
    _tasks: dict[str, TaskState]
    _images: dict[str, ImageRecord]
    _upload_uuids: set[str]
    _prompt_errors: list[tuple[str, dict[str, Any]]]
    _async_failures: list[tuple[str, dict[str, Any], Literal["errors", "data"]]]
    _next_failures: deque[tuple[dict[str, Any], Literal["errors", "data"]]]
    _misdirect: deque[str]

    def holds(self, image_uuid: str) -> bool:
        """Whether an imageUUID names an uploaded or generated image the emulator holds."""
        return image_uuid in self.uploads or image_uuid in self._images

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
        ext = FORMATS[fmt][1] if fmt in FORMATS else "png"
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
        problem = validate(task)
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
            self._tasks[task_uuid] = TaskState(task=task, result={}, failure=scripted[0])
            return
        fmt = str(task.get("outputFormat", "JPG")).upper()
        image_uuid = str(uuid.uuid4())
        seed = int(task.get("seed") or 1234567890)
        self._images[image_uuid] = ImageRecord(int(task["width"]), int(task["height"]), fmt, seed)
        host = self._misdirect.popleft() if self._misdirect else self.image_host
        result: dict[str, Any] = {
            "taskType": "imageInference",
            "taskUUID": task_uuid,
            "imageUUID": image_uuid,
            "imageURL": f"http://{host}:{self.port}/image/ws/2/ii/{image_uuid}.{FORMATS[fmt][1]}",
            "seed": seed,
        }
        if task.get("includeCost"):
            result["cost"] = self.cost
        if isinstance(task.get("safety"), dict) and task["safety"].get("checkContent"):
            result["NSFWContent"] = False
        state = TaskState(task=task, result=result)
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


def validate(task: dict[str, Any]) -> tuple[str, str] | None:
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
    if str(task.get("outputFormat", "JPG")).upper() not in FORMATS:
        return ("invalidOutputFormat", "outputFormat must be JPG, PNG or WEBP")
    if not 1 <= int(task.get("numberResults", 1)) <= 20:
        return ("invalidNumberResults", "numberResults must be between 1 and 20")
    return None
