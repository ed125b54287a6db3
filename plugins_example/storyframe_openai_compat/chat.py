"""``openai-chat``: scenes written by a model behind ``POST {base_url}/chat/completions``."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field
from storyframe.errors import BadResponse, InvalidRequest
from storyframe.models import Scene, StoryAnalysis, Style, Usage
from storyframe.providers import Capabilities, TextProvider

from storyframe_openai_compat.images import OpenAIConfig, OpenAIService

INSTRUCTIONS = (
    "Split the story the user sends into exactly {n} scenes, in story order, spread over the "
    "whole story. For each scene give: a short title; a one-sentence description of what "
    "happens; the names of the characters present; and an image_prompt, one visual sentence "
    "saying what a picture of this moment shows (who, where, doing what, the light). Name no "
    "art style: storyframe adds the style itself. Answer with JSON only: "
    '{{"scenes": [{{"title", "description", "characters", "image_prompt"}}, ...]}}.'
)

_TEXT = {"type": "string"}
SCENES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["scenes"],
    "properties": {
        "scenes": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["title", "description", "characters", "image_prompt"],
                "properties": {
                    "title": _TEXT,
                    "description": _TEXT,
                    "characters": {"type": "array", "items": _TEXT},
                    "image_prompt": _TEXT,
                },
            },
        }
    },
}
"""The JSON schema of the answer, sent when the server takes ``json_schema`` output."""


class ChatConfig(OpenAIConfig):
    """``[providers.openai-chat]``."""

    model: str = "gpt-4o-mini"
    structured_output: Literal["auto", "json_schema", "json_object"] = Field(
        default="auto",
        description="auto: json_schema, and json_object if the server rejects json_schema.",
    )
    temperature: float = Field(default=0.7, ge=0, le=2)
    max_story_chars: int = Field(default=60_000, ge=1000, description="Longer stories are cut.")


class OpenAIChatProvider(OpenAIService, TextProvider):
    """Asks the model for all the scenes in one structured answer."""

    name = "openai-chat"
    description = "Scenes from any OpenAI-compatible /chat/completions endpoint."
    config_model = ChatConfig
    capabilities = Capabilities(structured_output=True)
    config: ChatConfig
    _mode: str | None = None

    async def analyze(self, story: str) -> StoryAnalysis:
        """Counts only: the model's work is the scenes."""
        paragraphs = [p for p in story.split("\n\n") if p.strip()]
        return StoryAnalysis(
            word_count=len(story.split()),
            paragraph_count=len(paragraphs),
            recommended_scenes=max(1, min(12, len(paragraphs))),
        )

    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None = None
    ) -> list[Scene]:
        messages = [
            {"role": "system", "content": INSTRUCTIONS.format(n=n)},
            {"role": "user", "content": story[: self.config.max_story_chars]},
        ]
        answer = await self.complete(messages)
        try:
            raw = json.loads(answer["choices"][0]["message"]["content"])["scenes"]
            scenes = [
                Scene(
                    number=number,
                    title=item["title"],
                    description=item["description"],
                    image_prompt=item["image_prompt"],
                    characters=item.get("characters") or [],
                )
                for number, item in enumerate(raw[:n], start=1)
            ]
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise BadResponse(
                f"the model's answer holds no scenes ({type(error).__name__})", provider=self.name
            ) from None
        if not scenes:
            raise BadResponse("the model wrote no scenes", provider=self.name)
        return scenes

    async def complete(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        """One chat completion in JSON mode, its usage counted."""
        mode = self._mode or self.config.structured_output
        try:
            answer = await self.http.request_json(
                "POST", "/chat/completions", json=self.payload(messages, mode)
            )
        except InvalidRequest:
            if self.config.structured_output != "auto" or mode == "json_object":
                raise
            self._mode = "json_object"  # the server does not take json_schema
            return await self.complete(messages)
        if not isinstance(answer, dict):
            raise BadResponse("the answer is not a JSON object", provider=self.name)
        used = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
        self.usage.add(
            Usage(
                calls=1,
                prompt_tokens=int(used.get("prompt_tokens") or 0),
                completion_tokens=int(used.get("completion_tokens") or 0),
                cost=float(used.get("cost") or 0.0),
            )
        )
        return answer

    def payload(self, messages: list[dict[str, str]], mode: str) -> dict[str, Any]:
        """The request body; ``mode`` is the structured-output kind to ask for."""
        response_format: dict[str, Any] = {"type": "json_object"}
        if mode != "json_object":
            schema = {"name": "scenes", "strict": True, "schema": SCENES_SCHEMA}
            response_format = {"type": "json_schema", "json_schema": schema}
        return {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "response_format": response_format,
        }
