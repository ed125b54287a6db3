"""OpenRouter's errors mapped onto storyframe's hierarchy.

Two entry points: :func:`make_classifier` for HTTP statuses >= 400 (plugged into
:class:`storyframe.http.HttpClient`), and :func:`error_in_payload` for HTTP 200 bodies, which
OpenRouter uses to report failures that happen after routing (a top-level ``error`` or a
``choices[i].error``). Both read the same fields: ``error.code`` (int, numeric string, word or
absent), ``error.message``, ``error.metadata`` (``provider_name``, ``raw``, ``error_type``,
``reasons``, ``headers``) and ``error.availability``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from storyframe.errors import AuthError, InvalidRequest, ProviderError, QuotaError, Transient

if TYPE_CHECKING:
    from storyframe.http import Classifier, HttpResponse
    from storyframe_openrouter.config import OpenRouterBaseConfig

# error.metadata.error_type (and word codes) -> the HTTP status they stand for.
_TYPE_STATUS: dict[str, int] = {
    "context_length_exceeded": 400,
    "max_tokens_exceeded": 400,
    "token_limit_exceeded": 400,
    "string_too_long": 400,
    "invalid_request": 400,
    "invalid_prompt": 400,
    "precondition_failed": 400,
    "unprocessable": 422,
    "payload_too_large": 413,
    "authentication": 401,
    "payment_required": 402,
    "permission_denied": 403,
    "content_policy_violation": 403,
    "refusal": 403,
    "region_restricted": 403,
    "not_found": 404,
    "rate_limit_exceeded": 429,
    "rate_limited": 429,
    "capacity_exhausted": 429,
    "server": 500,
    "server_error": 500,
    "provider_unavailable": 502,
    "provider_overloaded": 503,
    "temporarily_unavailable": 503,
    "timeout": 504,
}

_HINTS: dict[int, str] = {
    401: "Set OPENROUTER_API_KEY to a key from https://openrouter.ai/settings/keys.",
    402: "Add credits at https://openrouter.ai/settings/credits",
    403: "The prompt or the answer was blocked by moderation or a guardrail.",
}


class ContextLengthExceeded(InvalidRequest):
    """The prompt plus the answer budget is more than the model's context window."""


class OutputLimitExceeded(InvalidRequest):
    """``max_tokens`` is above what the model (or its routed endpoint) may answer."""


_CONTEXT_MARKERS = ("maximum context length", "context_length_exceeded", "context window")
_OUTPUT_MARKERS = ("max_tokens is too large", "maximum allowed number of output tokens")


def too_long(message: str, raw: str, *, provider: str, status: int) -> ProviderError | None:
    """The :class:`ContextLengthExceeded` or :class:`OutputLimitExceeded` a 400 means, if any."""
    text = f"{message} {raw}".lower()
    section = f"[providers.{provider}]"
    if any(marker in text for marker in _CONTEXT_MARKERS):
        return ContextLengthExceeded(
            f"context length exceeded: {message}",
            provider=provider,
            status=status,
            code="context_length_exceeded",
            hint=f"Lower {section} context_share or set context_length to the model's real limit.",
        )
    if any(marker in text for marker in _OUTPUT_MARKERS):
        return OutputLimitExceeded(
            f"output limit exceeded: {raw or message}",
            provider=provider,
            status=status,
            code="max_tokens_exceeded",
            hint=f"Set {section} max_output_tokens to the model's real output limit.",
        )
    return None


class EmptyAnswer(Transient):
    """OpenRouter answered 200 with no content (null, "" or no image); worth one more try."""


def make_classifier(
    provider: str, config: OpenRouterBaseConfig, *, clock: Callable[[], float] = time.time
) -> Classifier:
    """A classifier for :class:`~storyframe.http.HttpClient`: statuses >= 400 become errors."""

    def classify(response: HttpResponse) -> ProviderError | None:
        if response.status < 400:
            return None
        try:
            payload = response.json()
        except ProviderError:
            payload = None
        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict):
            error = {"message": " ".join(response.text.split())[:200]}
        return map_error(
            error,
            status=response.status,
            headers=response.headers,
            provider=provider,
            config=config,
            clock=clock,
        )

    return classify


def error_in_payload(
    payload: Mapping[str, Any],
    *,
    provider: str,
    config: OpenRouterBaseConfig,
    headers: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
) -> ProviderError | None:
    """The error a 200 body carries (top-level ``error`` or ``choices[i].error``), if any."""
    found = payload.get("error")
    if not isinstance(found, dict):
        found = None
        for choice in payload.get("choices") or ():
            if isinstance(choice, dict) and isinstance(choice.get("error"), dict):
                found = choice["error"]
                break
    if found is None:
        return None
    return map_error(
        found,
        status=None,
        headers=headers or {},
        provider=provider,
        config=config,
        clock=clock,
    )


def map_error(
    error: Mapping[str, Any],
    *,
    status: int | None,
    headers: Mapping[str, str],
    provider: str,
    config: OpenRouterBaseConfig,
    clock: Callable[[], float] = time.time,
) -> ProviderError:
    """The storyframe error for one OpenRouter ``error`` object.

    ``status`` is the HTTP status when it is an error status; for errors inside a 200 body pass
    ``None`` and the effective status is taken from the body.
    """
    from storyframe.http import error_for_status

    effective = status if status is not None else effective_status(error)
    metadata = _mapping(error.get("metadata"))
    availability = _mapping(error.get("availability"))
    code = _code_label(error, metadata, availability)
    message = _describe(error, metadata, in_body=status is None)
    hint = _HINTS.get(effective)
    section = f"[providers.{provider}]"
    if effective == 402:
        budget = f", or lower {section} max_tokens" if hasattr(config, "max_tokens") else ""
        hint = f"{hint}{budget}."

    if effective == 404 or availability.get("code") in ("model_not_found", "model_deprecated"):
        models = [config.model, *(m for m in config.models if m != config.model)]
        message = f"no endpoint can serve model {', '.join(map(repr, models))}: {message}"
        hint = f"Change {section} model to a current slug (https://openrouter.ai/models)"
        if "require_parameters" in (availability.get("excluded_by") or []):
            hint += " that supports structured outputs, or unset temperature"
        hint += "."
        if "image input" in message:
            hint = (
                f"The model takes no image input: choose one with image in its input "
                f"modalities, or set {section} max_references = 0 to send no reference sheets."
            )

    if effective == 401:
        return AuthError(
            f"OpenRouter rejected the key (OPENROUTER_API_KEY): {message.rstrip('.')}. "
            "Check it with `storyframe check`.",
            provider=provider,
            status=effective,
            code=code,
            hint=hint,
        )
    if effective == 400:
        raw = metadata.get("raw")
        long = too_long(
            message, raw if isinstance(raw, str) else "", provider=provider, status=effective
        )
        if long is not None:
            return long

    retry_after = None
    if effective in (408, 429) or effective >= 500:
        retry_after = retry_after_seconds(headers, error, now=clock())
        if effective == 429 and retry_after is not None and retry_after > config.max_retry_seconds:
            # A window that will not reopen within the retry budget (e.g. a daily free-model
            # limit) behaves like a quota: hand the work on now instead of sleeping on it.
            minutes = retry_after / 60
            return QuotaError(
                f"HTTP {effective}: {message} (resets in {minutes:.0f} min)",
                provider=provider,
                status=effective,
                code=code,
                hint="Wait for the limit to reset, or add credits to raise it.",
            )

    failure = error_for_status(
        effective,
        message,
        provider=provider,
        code=code,
        retry_after=retry_after,
    )
    if hint:
        failure.hint = hint
    return failure


def effective_status(error: Mapping[str, Any]) -> int:
    """The HTTP status an error inside a 200 body stands for (502 when it does not say)."""
    code = error.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
        return code
    if isinstance(code, str):
        word = code.strip().lower()
        if word.isdigit() and 400 <= int(word) <= 599:
            return int(word)
        if word in _TYPE_STATUS:
            return _TYPE_STATUS[word]
    http_status = error.get("http_status")
    if isinstance(http_status, int) and 400 <= http_status <= 599:
        return http_status
    metadata = error.get("metadata")
    if isinstance(metadata, dict) and metadata.get("error_type") in _TYPE_STATUS:
        return _TYPE_STATUS[metadata["error_type"]]
    availability = error.get("availability")
    if isinstance(availability, dict) and availability.get("code") in _TYPE_STATUS:
        return _TYPE_STATUS[availability["code"]]
    return 502


def retry_after_seconds(
    headers: Mapping[str, str], error: Mapping[str, Any], *, now: float
) -> float | None:
    """Seconds the service asked us to wait.

    From ``Retry-After``, else ``error.availability.retry_after``, else ``X-RateLimit-Reset``
    (epoch milliseconds) in the headers or in ``error.metadata.headers``.
    """
    from storyframe.http import parse_retry_after

    found = parse_retry_after(headers)
    if found is not None:
        return found
    availability = error.get("availability")
    if isinstance(availability, dict):
        value = _number(availability.get("retry_after"))
        if value is not None:
            return max(0.0, value)
    metadata = error.get("metadata")
    body_headers = metadata.get("headers") if isinstance(metadata, dict) else None
    for source in (headers, body_headers if isinstance(body_headers, dict) else {}):
        reset = _number(_header(source, "X-RateLimit-Reset"))
        if reset is not None:
            # Epoch milliseconds per the docs; accept epoch seconds too.
            seconds = reset / 1000 if reset > 1e11 else reset
            return max(0.0, seconds - now)
    return None


def _describe(error: Mapping[str, Any], metadata: Mapping[str, Any], *, in_body: bool) -> str:
    message = str(error.get("message") or "").strip() or "no message"
    upstream = metadata.get("provider_name")
    if upstream:
        message += f" (upstream: {upstream})"
    reasons = metadata.get("reasons")
    if isinstance(reasons, list) and reasons:
        message += f" [{', '.join(str(r) for r in reasons)}]"
    raw = metadata.get("raw")
    if raw and message.startswith("Provider returned error"):
        text = raw if isinstance(raw, str) else repr(raw)
        message += f": {' '.join(text.split())[:200]}"
    if in_body:
        message += " (reported in a 200 response)"
    return message


def _code_label(
    error: Mapping[str, Any], metadata: Mapping[str, Any], availability: Mapping[str, Any]
) -> str | None:
    for value in (availability.get("code"), metadata.get("error_type"), error.get("code")):
        if value is not None and value != "":
            return str(value)
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _header(headers: Mapping[str, Any], name: str) -> Any:
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return value
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
