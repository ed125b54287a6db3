"""Reading a Runware response: what became of each task, matched by ``taskUUID``."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from storyframe.errors import BadResponse, ContentRejected, ProviderError
from storyframe.models import GeneratedImage
from storyframe_runware.errors import (
    CONFLICT,
    PROVIDER,
    UNKNOWN_TASK,
    error_from_item,
    error_items,
)

MEDIA_TYPES = {"JPG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class Done:
    """The task finished; ``item`` is its result (``imageURL``, ``seed``, ``cost``...)."""

    item: Mapping[str, Any]


@dataclass(frozen=True)
class Failed:
    """The task failed with ``error``."""

    error: ProviderError


@dataclass(frozen=True)
class Pending:
    """The task exists but is not finished (an async ACK, ``processing``, a conflict...)."""

    reason: str = "processing"


@dataclass(frozen=True)
class Unknown:
    """Runware does not know the task (``taskNotFound``): it may be submitted again."""

    code: str


Outcome = Done | Failed | Pending | Unknown

_RANK = {Done: 3, Failed: 2, Unknown: 1, Pending: 0}


def read_envelope(
    body: Any, task_uuids: Collection[str], *, status: int = 200
) -> dict[str, Outcome]:
    """The outcome of each of ``task_uuids`` in a ``{"data": [...], "errors": [...]}`` body.

    A task the body does not mention is ``Pending``. Errors without a ``taskUUID`` concern the
    whole request: they are raised if no task has a result, else given to the tasks without one.
    """
    if not isinstance(body, Mapping):
        raise BadResponse(f"expected a JSON object, got {type(body).__name__}", provider=PROVIDER)
    wanted = set(task_uuids)
    outcomes: dict[str, Outcome] = {}

    def offer(uuid: str, outcome: Outcome) -> None:
        current = outcomes.get(uuid)
        if current is None or _RANK[type(outcome)] > _RANK[type(current)]:
            outcomes[uuid] = outcome

    data = body.get("data")
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, Mapping) or item.get("taskUUID") not in wanted:
            continue
        offer(str(item["taskUUID"]), _item_outcome(item, status))
    general: list[Mapping[str, Any]] = []
    for error in error_items(body):
        uuid = error.get("taskUUID")
        if not uuid:
            general.append(error)
        elif uuid in wanted:
            offer(str(uuid), _error_outcome(error, status))
    if general:
        if not any(isinstance(o, Done) for o in outcomes.values()):
            raise error_from_item(general[0], status=status)
        for uuid in wanted - outcomes.keys():
            outcomes[uuid] = Failed(error_from_item(general[0], status=status))
    return {uuid: outcomes.get(uuid, Pending("not in the answer")) for uuid in task_uuids}


def _item_outcome(item: Mapping[str, Any], status: int) -> Outcome:
    state = str(item.get("status") or "").lower()
    nested = item.get("error")
    if state == "error" or isinstance(nested, Mapping):
        detail = nested if isinstance(nested, Mapping) else item
        return _error_outcome(detail, status)
    if item.get("imageURL"):
        if item.get("NSFWContent") is True:
            flagged = ContentRejected(
                "Runware's safety check flagged the image",
                provider=PROVIDER,
                code="nsfwContentDetected",
            )
            flagged.resubmit_safe = True
            return Failed(flagged)
        return Done(item)
    if state == "success":
        return Failed(BadResponse("a finished task has no imageURL", provider=PROVIDER))
    return Pending(state or "accepted")


def _error_outcome(error: Mapping[str, Any], status: int) -> Outcome:
    code = str(error.get("code") or "")
    if code == CONFLICT:
        return Pending("conflict")
    if code in UNKNOWN_TASK:
        return Unknown(code)
    failure = error_from_item(error, status=status)
    # Runware scoped the error to this task: the task is over, so sending it again is safe.
    failure.resubmit_safe = True
    return Failed(failure)


def describe(
    scene_number: int,
    task: Mapping[str, Any],
    item: Mapping[str, Any],
    *,
    provider: str,
    model: str,
) -> GeneratedImage:
    """The image a finished task's result ``item`` describes (not yet downloaded); ``model`` when
    the task does not name one."""
    url = item.get("imageURL")
    if not isinstance(url, str):
        raise BadResponse("the result has no imageURL", provider=provider)
    seed = item.get("seed", task.get("seed"))
    cost = item.get("cost")
    return GeneratedImage(
        scene_number=scene_number,
        provider=provider,
        model=str(task.get("model") or model),
        url=url,
        media_type=MEDIA_TYPES.get(str(task.get("outputFormat")).upper(), "image/jpeg"),
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        cost=float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
        task_id=str(item.get("taskUUID") or task.get("taskUUID")),
        width=task.get("width"),
        height=task.get("height"),
    )
