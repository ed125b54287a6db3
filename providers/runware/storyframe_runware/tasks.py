"""Building Runware task objects: imageInference, getResponse, ping, accountManagement."""

from __future__ import annotations

import logging
from typing import Any

from storyframe.errors import InvalidRequest
from storyframe.models import ImageRequest
from storyframe_runware.config import RunwareConfig
from storyframe_runware.errors import PROVIDER

log = logging.getLogger("storyframe.runware")

PROMPT_MIN = 2
PROMPT_MAX = 3000
SIZE_MIN = 128
SIZE_MAX = 2048
SIZE_MULTIPLE = 64
SEED_MAX = 2**63 - 1

PROTECTED = frozenset(
    {
        "taskType",
        "taskUUID",
        "positivePrompt",
        "negativePrompt",
        "deliveryMethod",
        "outputType",
        "numberResults",
        "includeCost",
        "webhookURL",
        "uploadEndpoint",
    }
)
"""Fields a style's ``provider_params`` may not change: they decide how results come back."""


def snap_size(width: int, height: int) -> tuple[int, int]:
    """``width`` x ``height`` scaled into 128..2048 and rounded to multiples of 64.

    The aspect ratio is kept as well as the grid allows (an extreme one is clamped).
    """
    scale = 1.0
    if max(width, height) > SIZE_MAX:
        scale = SIZE_MAX / max(width, height)
    elif min(width, height) < SIZE_MIN:
        scale = min(SIZE_MIN / min(width, height), SIZE_MAX / max(width, height))

    def snap(value: float) -> int:
        rounded = round(value / SIZE_MULTIPLE) * SIZE_MULTIPLE
        return int(min(SIZE_MAX, max(SIZE_MIN, rounded)))

    return snap(width * scale), snap(height * scale)


def fit_prompt(prompt: str, *, limit: int = PROMPT_MAX, scene: str | None = None) -> str:
    """``prompt`` shortened to ``limit`` characters by cutting the scene text, not the end.

    The pipeline composes ``scene prompt + characters + style suffix``; the end carries the
    character looks and the style, so it is kept and the scene text is cut at a word boundary.
    With ``scene`` (the scene prompt the composition starts with) the kept end is exactly what
    follows it; otherwise the last half of the limit is kept.
    """
    text = prompt.strip()
    if len(text) <= limit:
        return text
    if scene and text.startswith(scene.strip()):
        tail_start = len(scene.strip())
    else:
        tail_start = _word_start(text, len(text) - limit // 2)
    tail = text[tail_start:].strip()
    body = tail.lstrip(" ,.;:")
    joiner = tail[: len(tail) - len(body)].strip() + " "
    if len(body) > limit - len(joiner):
        body = body[_word_start(body, len(body) - limit) :].strip()
    head = _cut_words(text[:tail_start], limit - len(body) - len(joiner))
    return f"{head}{joiner}{body}" if head else body


def _word_start(text: str, index: int) -> int:
    """The first index at or after ``index`` where a word starts."""
    index = max(0, min(index, len(text)))
    while 0 < index < len(text) and not text[index - 1].isspace():
        index += 1
    return index


def _cut_words(text: str, room: int) -> str:
    """``text`` cut to at most ``room`` characters at a word boundary, trailing commas dropped."""
    text = text.strip()
    if room <= 0:
        return ""
    if len(text) <= room:
        return text
    cut = text[: room + 1]
    space = cut.rfind(" ")
    cut = cut[:space] if space > 0 else text[:room]
    return cut.rstrip(" ,;:-")


def inference_task(request: ImageRequest, config: RunwareConfig, task_uuid: str) -> dict[str, Any]:
    """The ``imageInference`` task for ``request``.

    Raises :class:`InvalidRequest` when the prompt is too short to send.
    """
    scene = request.params.get("scene_prompt")
    prompt = fit_prompt(request.prompt, scene=scene if isinstance(scene, str) else None)
    if len(prompt) < PROMPT_MIN:
        raise InvalidRequest(
            f"the prompt for scene {request.scene_number} is shorter than {PROMPT_MIN} characters",
            provider=PROVIDER,
        )
    task: dict[str, Any] = {
        "taskType": "imageInference",
        "taskUUID": task_uuid,
        "model": config.model,
        "positivePrompt": prompt,
        "width": request.width,
        "height": request.height,
        "seed": min(max(request.seed, 1), SEED_MAX),
        "numberResults": 1,
        "outputType": "URL",
        "outputFormat": config.output_format,
        "includeCost": True,
        "deliveryMethod": config.delivery,
    }
    negative = request.negative_prompt.strip()
    if config.negative_prompt and len(negative) >= PROMPT_MIN:
        task["negativePrompt"] = _cut_words(negative, PROMPT_MAX)
    style_params = request.style.provider_params.get("runware", {})
    for key, value in style_params.items():
        if key in PROTECTED:
            log.warning("style %s: ignoring runware parameter %r", request.style.name, key)
        else:
            task[key] = value
    explicit = {"steps": config.steps, "CFGScale": config.cfg_scale, "scheduler": config.scheduler}
    task.update({key: value for key, value in explicit.items() if value is not None})
    if config.width:
        task["width"] = config.width
    if config.height:
        task["height"] = config.height
    task["width"], task["height"] = snap_size(int(task["width"]), int(task["height"]))
    if config.check_content:
        safety = task.get("safety")
        task["safety"] = {**(safety if isinstance(safety, dict) else {}), "checkContent": True}
    return task


def get_response_task(task_uuid: str) -> dict[str, Any]:
    """The ``getResponse`` task that polls ``task_uuid``."""
    return {"taskType": "getResponse", "taskUUID": task_uuid}


def task_details_task(task_uuid: str) -> dict[str, Any]:
    """Ask for the archived request and response of a past task (sync ones too)."""
    return {"taskType": "getTaskDetails", "taskUUID": task_uuid}


def ping_task() -> dict[str, Any]:
    """The documented keep-alive/health task."""
    return {"taskType": "ping", "ping": True}


def account_task(task_uuid: str) -> dict[str, Any]:
    """``accountManagement``/``getDetails``: validates the key and reports the balance."""
    return {"taskType": "accountManagement", "taskUUID": task_uuid, "operation": "getDetails"}
