"""What the OpenRouter look-alike refuses before answering: image parts a model cannot take or
that are not images, and requests over a model's context or output limit."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from tests.openrouter.bodies import ModelSpec, error_response, image_parts, prompt_tokens


def image_input_failure(
    body: dict[str, Any], input_modalities: Mapping[str, list[str]]
) -> web.Response | None:
    """Routing finds no endpoint for image parts on a model without image input (404), and
    refuses image parts that are not http(s) URLs or base64 data URLs of supported types."""
    parts = image_parts(body)
    if not parts:
        return None
    modalities = input_modalities.get(str(body.get("model")))
    if modalities is not None and "image" not in modalities:
        payload = {"error": {"message": "No endpoints found that support image input", "code": 404}}
        return web.json_response(payload, status=404)
    for part in parts:
        image_url = part.get("image_url")
        url = image_url.get("url") if isinstance(image_url, dict) else None
        if not isinstance(url, str) or not valid_image_url(url):
            return error_response(
                400,
                "Invalid image URL: expected an http(s) URL or a "
                "base64 data URL of a PNG, JPEG, WEBP or GIF image",
            )
    return None


def limit_failure(
    body: dict[str, Any], models: Mapping[str, ModelSpec], upstream: str
) -> web.Response | None:
    """A prompt plus ``max_tokens`` over the model's context is the pre-flight 400 "maximum
    context length"; ``max_tokens`` over its output limit is the upstream's 400."""
    spec = models.get(str(body.get("model")))
    if spec is None:
        return None
    asked = body.get("max_tokens") or body.get("max_completion_tokens")
    prompt = prompt_tokens(body)
    output = asked if isinstance(asked, int) else 0
    if prompt + output > spec.context_length:
        detail = f"{prompt} of text input" + (f", {output} in the output" if output else "")
        message = (
            f"This endpoint's maximum context length is {spec.context_length} tokens. "
            f"However, you requested about {prompt + output} tokens ({detail}). Please "
            "reduce the length of either one, or use the context-compression plugin to "
            "compress your prompt automatically."
        )
        payload = {"error": {"message": message, "code": 400, "metadata": {"provider_name": None}}}
        return web.json_response(payload, status=400)
    if output > spec.max_output:
        raw = json.dumps(
            {
                "error": {
                    "message": f"max_tokens is too large: {output}. This model supports at "
                    f"most {spec.max_output} completion tokens, whereas you provided {output}.",
                    "type": "invalid_request_error",
                }
            }
        )
        return error_response(400, "Provider returned error", raw=raw, provider_name=upstream)
    return None


_IMAGE_DATA_URL = re.compile(r"^data:image/(png|jpeg|webp|gif);base64,([A-Za-z0-9+/=]+)$")
_MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff", "gif": b"GIF8", "webp": b"RIFF"}


def valid_image_url(url: str) -> bool:
    """An http(s) URL, or a base64 data URL whose bytes are the image type it names."""
    if url.startswith(("http://", "https://")):
        return True
    match = _IMAGE_DATA_URL.match(url)
    if match is None:
        return False
    try:
        data = base64.b64decode(match.group(2), validate=True)
    except ValueError:
        return False
    return data.startswith(_MAGIC[match.group(1)])
