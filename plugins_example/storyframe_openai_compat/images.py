"""``openai-images``: pictures from any OpenAI-compatible ``POST {base_url}/images/generations``.

It also holds what ``openai-chat`` shares with it: the base config and the HTTP connection.
"""

import base64
import os
from typing import Any, Literal

from pydantic import SecretStr
from storyframe.errors import BadResponse, ProviderError
from storyframe.models import GeneratedImage, ImageRequest
from storyframe.providers import BaseURL, CheckResult, ImageProvider, Provider, ProviderConfig


class OpenAIConfig(ProviderConfig):
    """Any OpenAI-compatible server: OpenAI itself, Ollama, LM Studio, vLLM, LocalAI..."""

    base_url: BaseURL = "https://api.openai.com/v1"
    model: str = ""
    key_env: str | None = None  # a variable to read the key from when OPENAI_API_KEY is unset


class OpenAIService(Provider):
    """One HTTP client per provider; ``Authorization`` is sent only when there is a key."""

    key_env = "OPENAI_API_KEY"  # optional (needs_key stays False): local servers need none
    config: OpenAIConfig

    def __init__(self, config: ProviderConfig | None = None, api_key: SecretStr | None = None):
        super().__init__(config, api_key)
        # The key storyframe found in OPENAI_API_KEY, else the variable a `key_env` setting names.
        key = api_key.get_secret_value() if api_key else os.getenv(self.config.key_env or "", "")
        auth = {"Authorization": f"Bearer {key}"} if key else {}
        from storyframe.http import HttpClient  # aiohttp loads when a provider is built

        self.http = HttpClient(self.name, self.config, base_url=self.config.base_url, headers=auth)

    async def check(self) -> CheckResult:
        try:
            await self.http.request_json("GET", "/models")
        except ProviderError as error:
            return CheckResult(ok=False, detail=error.one_line())
        return CheckResult(ok=True, detail=f"{self.config.base_url} answers")

    async def aclose(self) -> None:
        await self.http.aclose()


class ImagesConfig(OpenAIConfig):
    """``[providers.openai-images]``."""

    model: str = "gpt-image-1"
    response_format: Literal["b64_json", "url"] | None = None  # None: take what comes back


class OpenAIImagesProvider(OpenAIService, ImageProvider):
    """Draws each scene with one request."""

    name = "openai-images"
    description = "Images from any OpenAI-compatible /images/generations endpoint."
    config_model = ImagesConfig
    config: ImagesConfig

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        size = f"{request.width}x{request.height}"
        body: dict[str, Any] = {"model": self.config.model, "prompt": request.prompt, "size": size}
        if self.config.response_format:
            body["response_format"] = self.config.response_format
        answer = await self.http.request_json("POST", "/images/generations", json=body)
        try:
            item = answer["data"][0]
            data = base64.b64decode(item["b64_json"]) if "b64_json" in item else None
            url = None if data else str(item["url"])
        except (KeyError, IndexError, TypeError, ValueError):  # ValueError: bad base64
            raise BadResponse("the answer holds no image", provider=self.name) from None
        return GeneratedImage(
            scene_number=request.scene_number,
            provider=self.name,
            model=self.model_name,  # what the manifest records: config.model, by default
            data=data,
            url=url,
            media_type="image/jpeg" if data and data[:2] == b"\xff\xd8" else "image/png",
        )
