"""Runware's health check: ``ping``, then ``accountManagement``/``getDetails`` with a key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from storyframe.errors import AuthError
from storyframe.providers import CheckResult
from storyframe_runware.results import Failed, read_envelope
from storyframe_runware.tasks import account_task, ping_task

if TYPE_CHECKING:
    from storyframe.http import HttpClient


async def check_service(
    client: HttpClient, *, has_key: bool, key_env: str, task_uuid: str, timeout: float
) -> CheckResult:
    """``ping`` Runware, then, with a key, validate it with ``accountManagement`` and read the
    balance. Raises ``ProviderError`` for the caller to report."""
    timeout = min(timeout, 30.0)
    missing = f"{key_env} is not set"
    try:
        pong = await client.request_json("POST", "", json=[ping_task()], timeout=timeout)
    except AuthError:
        if not has_key:
            return CheckResult(ok=False, detail=f"Runware reachable, but {missing}")
        raise
    items = pong.get("data") if isinstance(pong, dict) else None
    if not any(
        isinstance(item, dict) and (item.get("pong") or item.get("taskType") == "ping")
        for item in (items if isinstance(items, list) else [])
    ):
        return CheckResult(ok=False, detail="Runware answered ping with no ping result")
    if not has_key:
        return CheckResult(ok=False, detail=f"Runware reachable, but {missing}")
    body = await client.request_json("POST", "", json=[account_task(task_uuid)], timeout=timeout)
    outcome = read_envelope(body, [task_uuid])[task_uuid]
    if isinstance(outcome, Failed):
        return CheckResult(ok=False, detail=outcome.error.one_line())
    details: Mapping[str, Any] = {}
    data = body.get("data") if isinstance(body, dict) else None
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict) and item.get("taskType") == "accountManagement":
            details = item
    balance = details.get("balance")
    balance = float(balance) if isinstance(balance, int | float) else None
    detail = "key valid"
    if details.get("organizationName"):
        detail += f", organisation {details['organizationName']}"
    if balance is not None:
        detail += f", balance ${balance:.2f}"
    return CheckResult(ok=True, detail=detail, balance=balance)
