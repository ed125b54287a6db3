"""Runware's errors mapped onto storyframe's hierarchy: per error item, and per HTTP response.

Runware answers ``{"data": [...], "errors": [...]}``; an error item has ``code``, ``message`` and
usually ``taskUUID``. Errors that carry a ``taskUUID`` belong to that task only (a batch can mix
successes and failures), so the HTTP classifier raises only for what concerns the whole request:
auth, credits, rate limits and server trouble.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from storyframe.errors import (
    AuthError,
    BadResponse,
    ContentRejected,
    InvalidRequest,
    ProviderError,
    QuotaError,
    RateLimited,
    Transient,
)

if TYPE_CHECKING:
    from storyframe.http import HttpResponse

PROVIDER = "runware"

CONFLICT = "conflictTaskUUID"
"""The taskUUID was already submitted: the task exists, so poll it rather than pay again."""

UNKNOWN_TASK = frozenset({"taskNotFound", "taskFailedOrNotFound"})
"""getResponse does not know the task: only then is it submitted again."""

_EXACT: dict[str, type[ProviderError]] = {
    "invalidApiKey": AuthError,
    "missingApiKey": AuthError,
    "insufficientCredits": QuotaError,
    "providerInsufficientCredits": QuotaError,
    "contentPolicyViolation": ContentRejected,
    "nsfwContentDetected": ContentRejected,
    "promptBlocked": ContentRejected,
    "rateLimitExceeded": RateLimited,
    "inferenceRateLimitExceeded": RateLimited,
    "providerRateLimitExceeded": RateLimited,
    "timeoutProvider": Transient,
    "providerTimeout": Transient,
    "inferenceError": Transient,
    "taskFailed": Transient,
    "taskExpired": Transient,
    "noAvailableServer": Transient,
    "modelUnavailable": Transient,
    "internalServerError": Transient,
    "serviceUnavailable": Transient,
    "modelNotFound": InvalidRequest,
    "unknownParameter": InvalidRequest,
    "incompatibleParameters": InvalidRequest,
    "taskNotFound": Transient,
    "taskFailedOrNotFound": Transient,
    "invalidReferenceImagesCount": InvalidRequest,
    "invalidReferenceImages": InvalidRequest,
    "invalidSeedImage": InvalidRequest,
    "invalidGuideImage": InvalidRequest,
}

_CODE_HINTS: dict[str, str] = {
    "invalidReferenceImagesCount": (
        'The model takes fewer reference images: set max_references (or references = "off") '
        "in [providers.runware]."
    ),
    "invalidReferenceImages": (
        "Runware does not hold a reference sheet it was given (an expired upload?): draw the "
        'scene again, or set references = "off" in [providers.runware].'
    ),
    "invalidSeedImage": "Runware could not use an input image: check it exists and is PNG, JPG "
    "or WEBP.",
    "invalidGuideImage": (
        "Runware does not hold an IP-Adapter guide image it was given: draw the scene again, "
        'or set references = "off" in [providers.runware].'
    ),
}

_HINTS: dict[type[ProviderError], str] = {
    AuthError: "Set RUNWARE_API_KEY to a key from https://my.runware.ai/keys.",
    QuotaError: "Add credits at https://my.runware.ai.",
}


def error_class(code: str) -> type[ProviderError] | None:
    """The storyframe error class a Runware error code means, or ``None`` if unknown."""
    if code in _EXACT:
        return _EXACT[code]
    lowered = code.lower()
    if "apikey" in lowered:
        return AuthError
    if any(word in lowered for word in ("credit", "quota", "balance")):
        return QuotaError
    if "ratelimit" in lowered:
        return RateLimited
    if any(word in lowered for word in ("nsfw", "contentpolicy", "blocked")):
        return ContentRejected
    if "timeout" in lowered:
        return Transient
    if code.startswith(("invalid", "missing", "unsupported", "unknown", "incompatible")):
        return InvalidRequest
    if code.startswith("provider"):
        return Transient
    return None


def error_from_item(
    item: Mapping[str, Any], *, status: int = 200, retry_after: float | None = None
) -> ProviderError:
    """The error one Runware error item means; the HTTP ``status`` decides for unknown codes."""
    from storyframe.http import error_for_status

    code = str(item.get("code") or "")
    message = str(item.get("message") or "").strip() or "task failed"
    if item.get("parameter"):
        message = f"{message} (parameter: {item['parameter']})"
    text = f"Runware {code}: {message}" if code else f"Runware: {message}"
    cls = error_class(code) if code else None
    if status == 429:
        cls = RateLimited
    elif (status == 408 or status >= 500) and cls is not RateLimited:
        cls = Transient
    elif cls is None and status >= 400:
        cls = type(error_for_status(status, "", provider=PROVIDER))
    elif cls is None:
        cls = ProviderError if code else BadResponse
    if cls is AuthError:
        text = (
            f"Runware rejected the key (RUNWARE_API_KEY): {message.rstrip('.')}. "
            "Check it with `storyframe check`."
        )
    kwargs: dict[str, Any] = {
        "provider": PROVIDER,
        "status": status if status >= 400 else None,
        "code": code or None,
        "hint": _CODE_HINTS.get(code) or _HINTS.get(cls),
    }
    if issubclass(cls, Transient):
        return cls(text, retry_after=retry_after, **kwargs)
    return cls(text, **kwargs)


def error_items(body: Any) -> list[Mapping[str, Any]]:
    """The error objects of a response body: ``errors[]`` and a legacy singular ``error``."""
    if not isinstance(body, Mapping):
        return []
    items: list[Mapping[str, Any]] = []
    errors = body.get("errors")
    if isinstance(errors, list):
        items.extend(e for e in errors if isinstance(e, Mapping))
    single = body.get("error")
    if isinstance(single, Mapping):
        merged = dict(single)
        for key in ("taskUUID", "taskType"):
            if key in body and key not in merged:
                merged[key] = body[key]
        items.append(merged)
    return items


def classify(response: HttpResponse) -> ProviderError | None:
    """Map an HTTP response to the error it means for the whole request, or ``None``.

    ``None`` for 2xx, and for 4xx answers whose errors all belong to single tasks (each task's
    fate is read from the body by ``taskUUID``).
    """
    from storyframe.http import error_for_status, parse_retry_after

    status = response.status
    if status < 400:
        return None
    retry_after = parse_retry_after(response.headers)
    try:
        body = json.loads(response.body.strip() or b"null")
    except ValueError:
        body = None
    errors = error_items(body)
    if status == 429 or status == 408 or status >= 500:
        if errors:
            return error_from_item(errors[0], status=status, retry_after=retry_after)
        return error_for_status(
            status, response.text[:200].strip(), provider=PROVIDER, retry_after=retry_after
        )
    if not errors:
        if status == 401:
            return error_from_item({"message": response.text[:200].strip()}, status=status)
        return error_for_status(status, response.text[:200].strip(), provider=PROVIDER)
    whole_request = [
        e
        for e in errors
        if not e.get("taskUUID") or error_class(str(e.get("code") or "")) in (AuthError, QuotaError)
    ]
    if whole_request:
        return error_from_item(whole_request[0], status=status, retry_after=retry_after)
    return None
