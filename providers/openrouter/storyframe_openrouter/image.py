"""The optional ``openrouter-image`` provider: image-capable chat models (``modalities``)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import re
from typing import Any, ClassVar

from pydantic import SecretStr

from storyframe.download import reference_data_uri
from storyframe.errors import BadResponse
from storyframe.models import GeneratedImage, ImageRequest, ReferenceImage, Usage
from storyframe.providers import Capabilities, CheckResult, ImageProvider, ProviderConfig
from storyframe.secrets import register_secret
from storyframe_openrouter import prompts
from storyframe_openrouter.chat import ChatClient, Completion
from storyframe_openrouter.config import DEFAULT_MAX_REFERENCES, OpenRouterImageConfig, coerce

ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
"""The ``image_config.aspect_ratio`` values every image model on OpenRouter accepts."""

INPUT_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
"""The image types OpenRouter takes as input."""

_DATA_URL = re.compile(
    r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[^,;]*)*),(?P<data>.*)$", re.S
)


class OpenRouterImageProvider(ImageProvider):
    """Draws with an image-capable model through ``/chat/completions``."""

    name: ClassVar[str] = "openrouter-image"
    description: ClassVar[str] = "Images from image-capable models through OpenRouter."
    needs_key: ClassVar[bool] = True
    key_env: ClassVar[str | None] = "OPENROUTER_API_KEY"
    config_model: ClassVar[type[ProviderConfig]] = OpenRouterImageConfig
    capabilities: ClassVar[Capabilities] = Capabilities(
        seed=False,
        negative_prompt=False,
        exact_size=False,
        references=DEFAULT_MAX_REFERENCES,
        reference_mechanism="image content parts",
    )

    def __init__(self, config: ProviderConfig | None = None, api_key: SecretStr | None = None):
        settings = coerce(config, OpenRouterImageConfig)
        super().__init__(settings, api_key)
        self.settings = settings
        if api_key is not None:
            register_secret(api_key.get_secret_value())
        self.chat = ChatClient(self.name, settings, api_key)

    @property
    def usage(self) -> Usage:
        """Tokens and cost over this provider's calls."""
        return self.chat.usage

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        """One picture: the first image of the answer, decoded from its data URL."""
        cfg = self.settings
        image_config: dict[str, Any] = {"aspect_ratio": aspect_ratio(request.width, request.height)}
        if cfg.image_size:
            image_config["image_size"] = cfg.image_size
        image_config.update(request.style.provider_params.get(self.name, {}))
        sent = request.references[: self.max_references()]
        body: dict[str, Any] = {
            "model": cfg.model,
            "messages": await self._messages(request, sent),
            "modalities": list(cfg.modalities),
            "image_config": image_config,
            "seed": request.seed,
        }
        if cfg.models:
            body["models"] = list(cfg.models)
        completion = await self.chat.complete(body, accept=lambda c: bool(image_urls(c)))
        url = image_urls(completion)[0]
        image = GeneratedImage(
            scene_number=request.scene_number,
            provider=self.name,
            model=completion.model or cfg.model,
            seed=request.seed,
            cost=completion.usage.cost,
            task_id=completion.id or None,
            references=[ref.name for ref in sent],
        )
        if url.startswith(("http://", "https://")):
            image.url = url
        else:
            try:
                image.data, image.media_type = decode_data_url(url)
            except BadResponse as error:
                error.provider = self.name
                raise
        return image

    def max_references(self) -> int:
        """The configured ``max_references`` (how many input images a model takes varies)."""
        return self.settings.max_references

    async def _messages(
        self, request: ImageRequest, sent: list[ReferenceImage]
    ) -> list[dict[str, Any]]:
        """The user turn: the text first, then one image part per reference sheet, in order."""
        messages: list[dict[str, Any]] = list(prompts.image_messages(request))
        if not sent:
            return messages
        names = ", ".join(ref.name for ref in sent)
        text = (
            f"{messages[0]['content']}\nThe attached images are character reference sheets, in "
            f"this order: {names}. Draw each of these characters as their sheet shows them."
        )
        parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
        for ref in sent:
            url = await asyncio.to_thread(reference_data_url, ref, self.name)
            parts.append({"type": "image_url", "image_url": {"url": url}})
        messages[0] = {"role": "user", "content": parts}
        return messages

    async def check(self) -> CheckResult:
        """Validate the key with ``GET /key``. Never raises."""
        return await self.chat.check(self.settings.model)

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self.chat.aclose()


def aspect_ratio(width: int, height: int) -> str:
    """The supported aspect ratio closest to ``width``:``height``."""
    wanted = math.log(width / height)

    def distance(ratio: str) -> float:
        w, h = ratio.split(":")
        return abs(math.log(int(w) / int(h)) - wanted)

    return min(ASPECT_RATIOS, key=distance)


def image_urls(completion: Completion) -> list[str]:
    """The image URLs in ``choices[0].message.images`` (data URLs, usually)."""
    urls = []
    for item in completion.message.get("images") or ():
        if not isinstance(item, dict):
            continue
        image_url = item.get("image_url")
        url = image_url.get("url") if isinstance(image_url, dict) else image_url
        if isinstance(url, str) and url:
            urls.append(url)
    return urls


def reference_data_url(reference: ReferenceImage, provider: str) -> str:
    """A reference sheet as a base64 data URL (blocking: run it in a thread)."""
    return reference_data_uri(reference, provider=provider, formats=INPUT_TYPES)


def decode_data_url(url: str) -> tuple[bytes, str]:
    """The bytes and media type of a base64 ``data:`` URL."""
    match = _DATA_URL.match(url)
    if match is None or ";base64" not in match.group("params"):
        raise BadResponse(f"image is not a base64 data URL: {url[:40]!r}")
    try:
        data = base64.b64decode(match.group("data"), validate=False)
    except (binascii.Error, ValueError) as error:
        raise BadResponse(f"image data URL is not valid base64: {error}") from None
    if not data:
        raise BadResponse("image data URL is empty")
    return data, match.group("type") or "application/octet-stream"
