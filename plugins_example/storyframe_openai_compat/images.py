"""``openai-images``: pictures from ``POST {base_url}/images/generations``."""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from storyframe.errors import BadResponse
from storyframe.models import GeneratedImage, ImageRequest
from storyframe.providers import ImageProvider

from storyframe_openai_compat.common import OpenAIConfig, OpenAIService


class ImagesConfig(OpenAIConfig):
    """``[providers.openai-images]``."""

    model: str = "gpt-image-1"
    response_format: Literal["b64_json", "url"] | None = None  # None: take what comes back


class OpenAIImagesProvider(OpenAIService, ImageProvider):
    """Draws each scene with one ``/images/generations`` request."""

    name = "openai-images"
    description = "Images from any OpenAI-compatible /images/generations endpoint."
    config_model = ImagesConfig
    config: ImagesConfig

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        payload = {
            "model": self.config.model,
            "prompt": request.prompt,
            "n": 1,
            "size": f"{request.width}x{request.height}",
        }
        if self.config.response_format:
            payload["response_format"] = self.config.response_format
        answer = await self.call("POST", "/images/generations", payload)
        try:
            item = answer["data"][0]
            data = base64.b64decode(item["b64_json"]) if "b64_json" in item else None
            url = None if data else str(item["url"])
        except (KeyError, IndexError, TypeError, binascii.Error):
            raise BadResponse("the answer holds no image", provider=self.name) from None
        return GeneratedImage(
            scene_number=request.scene_number,
            provider=self.name,
            model=self.model_name,
            data=data,
            url=url,
            media_type="image/jpeg" if data and data[:3] == b"\xff\xd8\xff" else "image/png",
        )
