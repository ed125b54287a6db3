"""The success answers of an OpenAI-compatible server, for storyframe's ``FakeService``.

``answer`` serves ``/chat/completions`` (scenes as JSON, with usage), ``/images/generations``
(one PNG of the requested size, as ``b64_json`` or as a ``url``) and ``/models``.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from storyframe.testing import RecordedRequest, Reply, png

PLACES = ["landing", "river", "reeds", "sandbar", "marsh", "bakery", "bell tower", "lane"]


def scenes(n: int) -> list[dict[str, Any]]:
    """``n`` distinct scenes, each prompt drawn from its own description."""
    return [
        {
            "title": f"At the {place}",
            "description": f"Wren and the old ferryman reach the {place}.",
            "characters": ["Wren", "Tobias"],
            "image_prompt": f"A girl and an old ferryman at the {place}, lantern light",
        }
        for place in (PLACES * 3)[:n]
    ]


def chat(body: dict[str, Any]) -> Reply:
    system = body["messages"][0]["content"]
    match = re.search(r"exactly (\d+) scenes", system)
    content = json.dumps({"scenes": scenes(int(match.group(1)) if match else 3)})
    return Reply(
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
            "usage": {"prompt_tokens": 900, "completion_tokens": 300, "total_tokens": 1200},
        }
    )


def images(request: RecordedRequest) -> Reply:
    body = request.json()
    width, height = (int(side) for side in body["size"].split("x"))
    picture = png(width, height)
    if body.get("response_format") == "url":
        item = {"url": request.service.add_file(picture)}
    else:
        item = {"b64_json": base64.b64encode(picture).decode()}
    return Reply(json={"created": 0, "data": [item]})


def answer(request: RecordedRequest) -> Reply:
    """What an OpenAI-compatible server answers on success."""
    if request.path.endswith("/chat/completions"):
        return chat(request.json())
    if request.path.endswith("/images/generations"):
        return images(request)
    if request.path.endswith("/models"):
        return Reply(json={"object": "list", "data": [{"id": "llama3.2", "object": "model"}]})
    return Reply(404, json={"error": {"message": f"no route {request.path}"}})
