"""The data contracts between storyframe and its providers (pydantic v2).

What a text provider returns (:class:`StoryAnalysis`, :class:`Scene`, :class:`Usage`,
:class:`TextCall`), a :class:`Style`, and what an image provider is asked and answers
(:class:`ImageRequest`, :class:`ReferenceImage`, :class:`GeneratedImage`). Import them from
:mod:`storyframe.models`, which re-exports them with the manifest's models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


def utcnow() -> datetime:
    """The current time in UTC, second precision (what the manifest records)."""
    return datetime.now(UTC).replace(microsecond=0)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)


class Character(_Model):
    """A character of the story, with the look that keeps it consistent from scene to scene."""

    name: str
    look: str = ""
    mentions: int = Field(default=0, ge=0)
    aliases: list[str] = Field(default_factory=list)
    age: str = ""
    build: str = ""
    hair: str = ""
    face: str = ""
    clothes: str = ""
    colours: str = ""
    species: str = ""
    """For animals and other non-humans ("fox", "dragon"); empty for people."""


class StoryAnalysis(_Model):
    """What a text provider learned about the whole story."""

    title: str = ""
    word_count: int = Field(default=0, ge=0)
    sentence_count: int = Field(default=0, ge=0)
    paragraph_count: int = Field(default=0, ge=0)
    characters: list[Character] = Field(default_factory=list)
    places: list[str] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    mood: str = ""
    complexity: int = Field(default=5, ge=1, le=10)
    recommended_scenes: int = Field(default=6, ge=1)

    def character(self, name: str) -> Character | None:
        """The character called ``name`` (or with that alias), case-insensitively."""
        wanted = name.casefold()
        for character in self.characters:
            if character.name.casefold() == wanted or wanted in (
                alias.casefold() for alias in character.aliases
            ):
                return character
        return None


class Scene(_Model):
    """One scene of the storyboard, as a text provider wrote it (and a user may edit it)."""

    number: int = Field(ge=1)
    title: str
    description: str
    image_prompt: str
    characters: list[str] = Field(default_factory=list)
    place: str = ""
    time_of_day: str = ""
    shot: str = ""  # framing: "wide", "medium", "close-up", "extreme close-up", ...
    camera: str = ""  # camera angle: "eye level", "low angle", "over the shoulder", ...
    source_start: int | None = Field(default=None, ge=0)
    source_end: int | None = Field(default=None, ge=0)
    """The passage the scene shows, as character offsets into the story (if known)."""

    @field_validator("title", "image_prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()


class Style(_Model):
    """A visual style as data: what it adds to prompts and how providers should draw it.

    ``provider_params`` maps a provider name to extra parameters that provider understands
    (for example ``{"runware": {"CFGScale": 4}}``); providers ignore names that are not theirs.
    """

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    description: str = ""
    prompt_suffix: str = ""
    negative_prompt: str = ""
    palette: list[str] = Field(default_factory=lambda: ["#1f2933", "#e4e7eb", "#c05621"])
    width: int = Field(default=1024, ge=64, le=4096)
    height: int = Field(default=576, ge=64, le=4096)
    provider_params: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("palette")
    @classmethod
    def _hex_colours(cls, value: list[str]) -> list[str]:
        for colour in value:
            if not (colour.startswith("#") and len(colour) == 7):
                raise ValueError(f"{colour!r} is not a #rrggbb colour")
            int(colour[1:], 16)
        if len(value) < 2:
            raise ValueError("needs at least two colours (background, text)")
        return value


class ImageRequest(_Model):
    """Everything an image provider needs to draw one scene.

    ``prompt`` is composed as scene prompt + character looks + style suffix; ``params`` carries
    ``scene_prompt`` (the first part alone), for providers that must shorten the prompt.
    """

    scene_number: int = Field(ge=1)
    title: str = ""
    prompt: str
    negative_prompt: str = ""
    width: int = Field(ge=64, le=4096)
    height: int = Field(ge=64, le=4096)
    seed: int = Field(ge=0)
    style: Style
    params: dict[str, Any] = Field(default_factory=dict)
    references: list[ReferenceImage] = Field(default_factory=list)
    """Reference sheets of the characters present, most important first; a provider sends at
    most :meth:`ImageProvider.max_references` of them and names those it sent in
    ``GeneratedImage.references``."""
    handle: str | None = None
    """The idempotency key of this piece of paid work, saved before the request is sent.

    Providers whose service takes a client-chosen task id (Runware's ``taskUUID``) use it, so a
    later run can ask the service for the work instead of buying it again.
    """


class ReferenceImage(_Model):
    """A character's reference sheet, carried by the image requests of the scenes it is in.

    ``path`` is the sheet's image file; ``uploads`` maps a provider name to the id the service
    gave the uploaded sheet (Runware's ``imageUUID``), so a sheet is uploaded once per provider.
    """

    name: str
    path: Path
    media_type: str = "image/png"
    sha256: str = ""
    uploads: dict[str, str] = Field(default_factory=dict)


class GeneratedImage(_Model):
    """What an image provider returned for one request: a URL to fetch, or the bytes."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, defer_build=True)

    scene_number: int = Field(ge=1)
    provider: str
    model: str = ""
    url: str | None = None
    data: bytes | None = Field(default=None, repr=False, exclude=True)
    path: Path | None = Field(default=None, exclude=True)
    """A verified image file storyframe may move into the project (set by ``fetch``)."""
    sha256: str | None = None
    file_size: int | None = None
    media_type: str = "image/png"
    seed: int | None = None
    cost: float | None = None
    elapsed: float = 0.0
    task_id: str | None = None
    width: int | None = None
    height: int | None = None
    references: list[str] = Field(default_factory=list)
    """The characters whose reference sheets were sent with the request, in the order sent."""


class Usage(_Model):
    """Spending and token counts, summed over calls."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    unpriced: int = Field(default=0, ge=0)
    """Calls whose cost is unknown (the service gave none and no price is configured)."""

    def add(self, other: Usage) -> None:
        """Add another usage record to this one, in place."""
        self.calls += other.calls
        self.unpriced += other.unpriced
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost = round(self.cost + other.cost, 8)


class TextCall(_Model):
    """One call a text provider made: what for, and what it cost."""

    provider: str
    purpose: str
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0
    finish_reason: str | None = None


__all__ = [
    "Character",
    "GeneratedImage",
    "ImageRequest",
    "ReferenceImage",
    "Scene",
    "StoryAnalysis",
    "Style",
    "TextCall",
    "Usage",
    "utcnow",
]
