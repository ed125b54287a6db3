"""What both providers share: the config fields, the optional key, and one HTTP client."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from storyframe.errors import ProviderError
from storyframe.http import HttpClient
from storyframe.providers import BaseURL, CheckResult, ProviderConfig
from storyframe.secrets import register_secret


class OpenAIConfig(ProviderConfig):
    """Settings of any OpenAI-compatible server; point ``base_url`` at a local one freely."""

    base_url: BaseURL = "https://api.openai.com/v1"
    model: str = ""


class OpenAIService:
    """A lazily created :class:`HttpClient`, with ``Authorization`` only when there is a key."""

    name: ClassVar[str]
    key_env: ClassVar[str | None] = "OPENAI_API_KEY"  # optional: local servers need none
    config: OpenAIConfig
    api_key: Any
    _client: HttpClient | None = None

    def key(self) -> str:
        if self.api_key is not None:
            return str(self.api_key.get_secret_value())
        key = os.environ.get(getattr(self.config, "key_env", None) or "", "")
        register_secret(key)
        return key

    async def call(self, method: str, path: str, payload: Any = None) -> Any:
        """Send one request (retried by storyframe's policy) and return the parsed JSON."""
        if self._client is None:
            key = self.key()
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            self._client = HttpClient(
                self.name, self.config, base_url=self.config.base_url, headers=headers
            )
        return await self._client.request_json(method, path, json=payload)

    async def check(self) -> CheckResult:
        """The server lists its models (``GET /models``)."""
        try:
            await self.call("GET", "/models")
        except ProviderError as error:
            return CheckResult(ok=False, detail=error.one_line())
        return CheckResult(ok=True, detail=f"{self.config.base_url} answers")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
