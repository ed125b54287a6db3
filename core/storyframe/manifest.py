"""The manifest's models: ``storyboard.json`` (:class:`Storyboard`) and what it records.

Import them from :mod:`storyframe.models`, which re-exports them with the provider contracts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, PrivateAttr

from storyframe.contracts import Scene, StoryAnalysis, TextCall, Usage, _Model, utcnow

SCHEMA_VERSION = 2

SceneStatus = Literal["pending", "done", "failed"]


def _scene_count(value: Any) -> int | Literal["auto"]:
    if value == "auto":
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 200:
        return value
    raise ValueError('must be an integer from 1 to 200, or "auto"')


SceneCount = Annotated[int | Literal["auto"], PlainValidator(_scene_count)]
"""A number of scenes (1 to 200), or "auto" for the count the story's analysis recommends."""


class ImageFile(_Model):
    """An image stored in the project folder."""

    path: str
    sha256: str
    media_type: str
    width: int
    height: int
    bytes: int


class PaidJob(_Model):
    """Paid work in flight for a scene: journaled before the request is sent.

    ``state`` is ``submitted`` (the request may have reached the service) or ``finished`` (the
    service answered with a result, ``url`` if it gave one, not yet stored in the project).
    """

    provider: str
    handle: str
    state: Literal["submitted", "finished"] = "submitted"
    url: str | None = None
    model: str | None = None
    seed: int | None = None
    cost: float | None = None
    media_type: str | None = None
    references: list[str] = Field(default_factory=list)
    """The characters whose reference sheets the request sent, in order: a recovery sends the
    same ones and the recovered image records them."""
    submitted_at: datetime = Field(default_factory=utcnow)


class Fallback(_Model):
    """Work done by a later provider of a chain because an earlier one failed."""

    provider: str
    after: str
    reason: str


class SceneRecord(_Model):
    """A scene in the manifest: the scene itself, whether to draw it, and what happened."""

    scene: Scene
    approved: bool = True
    status: SceneStatus = "pending"
    prompt: str = ""
    negative_prompt: str = ""
    seed: int | None = None
    provider: str | None = None
    model: str | None = None
    cost: float | None = None
    attempts: list[str] = Field(default_factory=list)
    error: str | None = None
    image: ImageFile | None = None
    job: PaidJob | None = None
    task_id: str | None = None
    fallback: Fallback | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    seconds: float | None = None
    references: list[str] = Field(default_factory=list)
    """The characters whose reference sheets the drawn image was made with."""
    variants: list[Variant] = Field(default_factory=list)
    """Every image drawn for the scene, in the order drawn (numbered from 1); ``image`` is the
    chosen one."""


class Variant(_Model):
    """One candidate image of a scene: another take, kept when a new one is drawn."""

    image: ImageFile
    seed: int | None = None
    prompt: str = ""
    provider: str | None = None
    model: str | None = None
    cost: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class CharacterSheet(_Model):
    """A main character's reference sheet: a neutral full-figure portrait on a plain background.

    Drawn once (resumable, paid work journaled like a scene's), redrawn on request; ``uploads``
    maps a provider name to the id its service gave the uploaded sheet.
    """

    name: str
    status: SceneStatus = "pending"
    prompt: str = ""
    seed: int | None = None
    provider: str | None = None
    model: str | None = None
    cost: float | None = None
    error: str | None = None
    image: ImageFile | None = None
    job: PaidJob | None = None
    task_id: str | None = None
    uploads: dict[str, str] = Field(default_factory=dict)
    fallback: Fallback | None = None
    """Set when a later provider of the chain drew the sheet because an earlier one failed."""
    finished_at: datetime | None = None


class StoryInfo(_Model):
    """The story a project was made from."""

    path: str
    sha256: str
    title: str = ""
    characters: int = 0


class RunSettings(_Model):
    """The settings that shape a project's output; a resume must use the same ones."""

    scenes: SceneCount
    """A count, or "auto": as many as the analysis recommends (the manifest's scenes count)."""
    style: str
    seed: int = Field(ge=0)
    width: int = Field(ge=64, le=4096)
    height: int = Field(ge=64, le=4096)
    text_providers: list[str]
    image_providers: list[str]


class StageCost(_Model):
    """What one stage (``text`` or ``images``) cost and took, over every run of the project.

    ``cost`` is ``None`` when some of the stage's paid work has no known price (``unknown``
    counts those pieces); ``known`` is the sum of the known figures.
    """

    cost: float | None = 0.0
    known: float = 0.0
    unknown: int = Field(default=0, ge=0)
    requests: int = Field(default=0, ge=0)
    seconds: float = Field(default=0.0, ge=0)


class Storyboard(_Model):
    """The project manifest, ``storyboard.json``."""

    schema_version: int = SCHEMA_VERSION
    generator: str = "storyframe"
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    story: StoryInfo
    settings: RunSettings
    analysis: StoryAnalysis | None = None
    text_provider: str | None = None
    text_fallback: Fallback | None = None
    text_usage: Usage = Field(default_factory=Usage)
    text_calls: list[TextCall] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    scenes: list[SceneRecord] = Field(default_factory=list)
    sheets: list[CharacterSheet] = Field(default_factory=list)
    """Reference sheets of the main characters (``storyframe characters``), most important first."""
    _positions: dict[int, int] = PrivateAttr(default_factory=dict)
    stage_costs: dict[str, StageCost] = Field(default_factory=dict)
    """Cost and time per stage (``text``, ``images``); see :mod:`storyframe.cost`."""

    def record(self, number: int) -> SceneRecord:
        """The record of scene ``number``; raises ``KeyError`` if there is none.

        O(1): positions are cached and each hit checked, so edits to ``scenes`` are seen.
        """
        scenes = self.scenes
        position = self._positions.get(number)
        if position is None or position >= len(scenes) or scenes[position].scene.number != number:
            self._positions = {r.scene.number: i for i, r in enumerate(scenes)}
            position = self._positions.get(number)
            if position is None:
                raise KeyError(number)
        return scenes[position]

    @property
    def image_cost(self) -> float:
        """The total cost of the images drawn so far (every variant), in USD."""
        return round(
            sum(
                sum(v.cost or 0.0 for v in r.variants) if r.variants else r.cost or 0.0
                for r in self.scenes
            ),
            8,
        )


__all__ = [
    "SCHEMA_VERSION",
    "CharacterSheet",
    "Fallback",
    "ImageFile",
    "PaidJob",
    "RunSettings",
    "SceneCount",
    "SceneRecord",
    "SceneStatus",
    "StageCost",
    "StoryInfo",
    "Storyboard",
    "Variant",
]
