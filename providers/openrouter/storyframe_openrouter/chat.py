"""The OpenRouter HTTP client both providers share: one call to ``/chat/completions``, ``/key``.

It builds :class:`storyframe.http.HttpClient` lazily (first use, inside the event loop), sends
the auth and attribution headers, checks 200 bodies for errors before reading ``choices``,
records ``usage`` per call, and retries empty answers a little.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from storyframe.errors import BadResponse, NotConfigured, StoryframeError, Transient
from storyframe.models import Usage
from storyframe.providers import CheckResult
from storyframe.secrets import redact
from storyframe_openrouter.config import OpenRouterBaseConfig
from storyframe_openrouter.errors import EmptyAnswer, error_in_payload, make_classifier

if TYPE_CHECKING:
    from storyframe.http import HttpClient, HttpResponse

log = logging.getLogger("storyframe.openrouter")

EMPTY_RETRIES = 2
"""Extra tries for a 200 answer with no content (reasoning models, cold starts)."""


@dataclass
class Completion:
    """The useful parts of one successful chat completion."""

    content: str
    message: dict[str, Any]
    finish_reason: str | None
    model: str
    upstream: str | None
    id: str
    usage: Usage
    payload: dict[str, Any] = field(repr=False)


def has_text(completion: Completion) -> bool:
    """The default answer check: some non-blank content."""
    return bool(completion.content.strip())


def usage_of(payload: dict[str, Any], price_per_1k: float | None = None) -> Usage:
    """One call's :class:`~storyframe.models.Usage` from a response's ``usage`` object.

    Without a ``cost`` figure, the cost is the tokens at ``price_per_1k`` (USD per 1,000
    tokens) if given, else unknown: 0 with ``unpriced`` 1.
    """
    raw = payload.get("usage")
    raw = raw if isinstance(raw, dict) else {}

    def number(key: str) -> float | None:
        value = raw.get(key)
        return (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )

    prompt, answer, cost = (number(k) or 0 for k in ("prompt_tokens", "completion_tokens", "cost"))
    unpriced = 0
    if number("cost") is None:
        if price_per_1k is None:
            unpriced = 1
        else:
            cost = round((prompt + answer) * price_per_1k / 1000, 10)
    return Usage(
        calls=1,
        prompt_tokens=int(prompt),
        completion_tokens=int(answer),
        cost=cost,
        unpriced=unpriced,
    )


class ChatClient:
    """Talks to one OpenRouter-compatible endpoint on behalf of one provider."""

    def __init__(
        self,
        provider: str,
        config: OpenRouterBaseConfig,
        api_key: SecretStr | None,
        usage: Usage | None = None,
    ) -> None:
        self.provider = provider
        self.config = config
        self.usage = usage if usage is not None else Usage()
        self._api_key = api_key
        self._http: HttpClient | None = None

    def __repr__(self) -> str:
        return f"<ChatClient provider={self.provider!r} base_url={self.config.base_url!r}>"

    @property
    def http(self) -> HttpClient:
        """The shared HTTP client, built on first use."""
        if self._http is None:
            from storyframe.http import HttpClient

            if self._api_key is None or not self._api_key.get_secret_value():
                raise NotConfigured(
                    "no OpenRouter API key", provider=self.provider, hint="Set OPENROUTER_API_KEY."
                )
            self._http = HttpClient(
                self.provider,
                self.config,
                base_url=self.config.base_url,
                headers=self.headers(),
                classify=make_classifier(self.provider, self.config),
            )
        return self._http

    def headers(self) -> dict[str, str]:
        """Auth and attribution headers for every request."""
        key = self._api_key.get_secret_value() if self._api_key is not None else ""
        headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        if self.config.app_url:
            headers["HTTP-Referer"] = self.config.app_url
        if self.config.app_title:
            headers["X-OpenRouter-Title"] = self.config.app_title
        return headers

    async def complete(
        self,
        body: dict[str, Any],
        *,
        accept: Callable[[Completion], bool] = has_text,
        empty_retries: int = EMPTY_RETRIES,
    ) -> Completion:
        """POST ``body`` to ``/chat/completions`` with the shared retry policy.

        Errors in 200 bodies are raised like HTTP errors; an answer ``accept`` rejects (empty
        content, no image) is retried up to ``empty_retries`` times, then is a ``BadResponse``.
        """
        http = self.http
        empties = 0
        async for attempt in http.retrying():
            with attempt:
                response = await http.request("POST", "chat/completions", json=body, retry=False)
                completion = self._read(response)
                if accept(completion):
                    return completion
                empties += 1
                raise self._empty(completion, final=empties > empty_retries)
        raise AssertionError("unreachable")  # pragma: no cover

    async def key_info(self, *, timeout: float | None = None) -> dict[str, Any]:
        """``GET /key``: the key's ``data`` object (label, limit, limit_remaining, usage, ...)."""
        response = await self.http.request("GET", "key", retry=False, timeout=timeout)
        payload = response.json(provider=self.provider)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            raise BadResponse("GET /key answered without a 'data' object", provider=self.provider)
        return data

    async def check(self, model: str) -> CheckResult:
        """Validate the key with ``GET /key`` and report the credit left. Never raises."""
        if self._api_key is None or not self._api_key.get_secret_value():
            return CheckResult(ok=False, detail="no API key: set OPENROUTER_API_KEY")
        try:
            data = await self.key_info(timeout=min(self.config.timeout, 20.0))
        except StoryframeError as error:
            return CheckResult(ok=False, detail=error.one_line())
        except Exception as error:  # a health check reports, it never raises
            return CheckResult(ok=False, detail=redact(f"{type(error).__name__}: {error}"))
        return key_check_result(data, model)

    async def aclose(self) -> None:
        """Close the HTTP session, if one was opened."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _read(self, response: HttpResponse) -> Completion:
        try:
            payload = response.json(provider=self.provider)
        except BadResponse as error:
            # A 200 that is not JSON is a broken edge or proxy answer, not the model's fault.
            raise Transient(error.message, provider=self.provider, code="bad_json") from None
        if not isinstance(payload, dict):
            raise Transient("answer is not a JSON object", provider=self.provider, code="bad_json")
        usage = usage_of(payload, self.config.price_per_1k_tokens)
        self.usage.add(usage)
        failure = error_in_payload(
            payload, provider=self.provider, config=self.config, headers=response.headers
        )
        if failure is not None:
            raise failure
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise BadResponse("answer has no choices", provider=self.provider, status=200)
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            message = {}
        content = message.get("content")
        return Completion(
            content=content if isinstance(content, str) else "",
            message=message,
            finish_reason=choice.get("finish_reason"),
            model=str(payload.get("model") or ""),
            upstream=payload.get("provider"),
            id=str(payload.get("id") or ""),
            usage=usage,
            payload=payload,
        )

    def _empty(self, completion: Completion, *, final: bool) -> Transient | BadResponse:
        reason = completion.finish_reason or "none"
        message = f"model {completion.model or '?'} gave no usable answer (finish_reason={reason})"
        hint = None
        if reason == "length":
            hint = (
                "The output budget ran out (reasoning models spend it thinking): raise max_tokens."
            )
        log.info("%s: %s", self.provider, message)
        if final:
            return BadResponse(message, provider=self.provider, code="empty", hint=hint)
        return EmptyAnswer(message, provider=self.provider, code="empty", hint=hint)


def key_check_result(data: dict[str, Any], model: str) -> CheckResult:
    """A :class:`CheckResult` from ``GET /key``'s ``data``; ``balance`` is ``limit_remaining``."""
    remaining = data.get("limit_remaining")
    balance = float(remaining) if isinstance(remaining, int | float) else None
    limit, reset, used = data.get("limit"), data.get("limit_reset"), data.get("usage")
    parts = ["key valid"]
    if balance is not None and balance <= 0:
        parts.append("but no credit left")
    if isinstance(limit, int | float):
        parts.append(f"limit {float(limit):.2f} USD" + (f", resets {reset}" if reset else ""))
    else:
        parts.append("no spending limit")
    if isinstance(used, int | float):
        parts.append(f"{float(used):.2f} USD used")
    if data.get("is_free_tier"):
        parts.append("free tier")
    parts.append(f"model {model}")
    return CheckResult(ok=balance is None or balance > 0, detail="; ".join(parts), balance=balance)
