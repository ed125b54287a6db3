"""What the LLM must answer: pydantic models, their strict JSON schema, and answer parsing.

The models here describe the *wire* answer (what the LLM writes); :mod:`storyframe_openrouter.text`
maps them onto :class:`storyframe.models.StoryAnalysis` and :class:`storyframe.models.Scene`.
Parsing is lenient about packaging (code fences, prose around the JSON, a bare list of scenes)
and strict about content (counts, required text).
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from storyframe.prompts import CAMERAS, SHOTS, normalise_camera, normalise_shot

ANALYSIS_SCHEMA_NAME = "storyframe_analysis"
SCENES_SCHEMA_NAME = "storyframe_scenes"
STORY_SCHEMA_NAME = "storyframe_story"
BEATS_SCHEMA_NAME = "storyframe_beats"
BATCH_SCHEMA_NAME = "storyframe_scene_batch"

# Keywords every strict structured-output implementation accepts; the rest (title, default,
# minimum, ...) are dropped so that strict providers don't reject the schema.
_KEEP = {"type", "properties", "required", "additionalProperties", "items", "enum", "description"}

M = TypeVar("M", bound=BaseModel)


class AnswerError(ValueError):
    """The answer is not the JSON asked for; the message says why, for the repair round."""


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


LOOK_CAP = 120
"""The most characters a look field keeps (cut at a word)."""
_NOT_SAID = {"", "-", "none", "n/a", "na", "unknown", "unspecified", "not specified", "null"}
_HUMAN = {"human", "person", "people", "man", "woman", "human being", "humans"}


def _look_value(value: object, *, species: bool = False) -> str:
    """One look field as one short line; placeholders (and "human" as a species) are ''."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value if v)
    text = " ".join(str(value).split()).strip(" ,;.")
    if text.casefold() in _NOT_SAID or (species and text.casefold() in _HUMAN):
        return ""
    if len(text) > LOOK_CAP:
        text = text[:LOOK_CAP].rsplit(" ", 1)[0].rstrip(" ,;:")
    return text


class CharacterAnswer(_Answer):
    """One character as the LLM describes it: a one-line look and the look's parts."""

    name: str = Field(description="The name the story uses most.")
    look: str = Field(
        default="",
        description="How they look, one line of 8-20 words.",
    )
    aliases: list[str] = Field(
        default_factory=list, description="Other names or epithets the story uses for them."
    )
    # The look's parts: the instructions say what goes in each ('' when nothing fits). They
    # carry no description here, to keep the schema sent with every call short.
    species: str = ""
    age: str = ""
    build: str = ""
    face: str = ""
    hair: str = ""
    clothes: str = ""
    colours: str = ""

    @field_validator("name")
    @classmethod
    def _non_blank(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("age", "build", "face", "hair", "clothes", "colours", mode="before")
    @classmethod
    def _look_part(cls, value: object) -> str:
        return _look_value(value)

    @field_validator("species", mode="before")
    @classmethod
    def _species(cls, value: object) -> str:
        return _look_value(value, species=True)


class AnalysisAnswer(_Answer):
    """The story analysis as the LLM writes it."""

    title: str = Field(default="", description="The story's title, or a short fitting one.")
    characters: list[CharacterAnswer] = Field(description="Every character who appears.")
    places: list[str] = Field(
        default_factory=list, description="The main settings, as short visual phrases."
    )
    themes: list[str] = Field(
        default_factory=list, description="Two to five themes, a few words each."
    )
    mood: str = Field(default="", description="The overall mood in a few words.")
    complexity: int = Field(default=5, description="How complex the story is, 1 (simple) to 10.")
    recommended_scenes: int = Field(
        default=6, description="How many pictures tell it well, 3 to 12."
    )

    @field_validator("complexity")
    @classmethod
    def _clamp_complexity(cls, value: int) -> int:
        return min(10, max(1, value))

    @field_validator("recommended_scenes")
    @classmethod
    def _clamp_scenes(cls, value: int) -> int:
        return min(30, max(1, value))


class SceneAnswer(_Answer):
    """One scene as the LLM writes it."""

    title: str = Field(description="A short title, at most eight words.")
    description: str = Field(description="What happens in this scene, one to three sentences.")
    image_prompt: str = Field(
        description="A concrete visual description of one moment for an image model: who is "
        "where, doing what, their key visual traits, setting, time of day, lighting. No "
        "framing (see shot, camera), no art-style words, no dialogue, no text in the picture. "
        "40-90 words."
    )
    shot: str = Field(default="", json_schema_extra={"enum": list(SHOTS)})
    camera: str = Field(default="", json_schema_extra={"enum": list(CAMERAS)})
    characters: list[str] = Field(
        default_factory=list, description="Names of the characters in the picture."
    )
    place: str = Field(default="", description="Where it happens, a short phrase.")
    time_of_day: str = Field(
        default="", description="Morning, noon, dusk, night, ... or '' if unclear."
    )
    anchor: str = Field(
        default="",
        description="The first 6 to 12 words of the story passage this scene shows, copied "
        "exactly from the story.",
    )

    @field_validator("title", "description", "image_prompt")
    @classmethod
    def _non_blank(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("shot", mode="before")
    @classmethod
    def _shot(cls, value: object) -> str:
        return normalise_shot(value) if isinstance(value, str) else ""

    @field_validator("camera", mode="before")
    @classmethod
    def _camera(cls, value: object) -> str:
        return normalise_camera(value) if isinstance(value, str) else ""


class ScenesAnswer(_Answer):
    """The scene list as the LLM writes it."""

    scenes: list[SceneAnswer] = Field(description="The scenes, in story order.")


class StoryAnswer(AnalysisAnswer):
    """The analysis and the scenes in one answer (a story that fits one call)."""

    scenes: list[SceneAnswer] = Field(description="The scenes, in story order.")


class BeatAnswer(_Answer):
    """One event of the story as the LLM summarises it."""

    anchor: str = Field(
        description="The first 6 to 12 words of the passage where it happens, copied exactly."
    )
    who: list[str] = Field(default_factory=list, description="The characters involved.")
    where: str = Field(default="", description="Where it happens, a short phrase.")
    what: str = Field(description="What happens, one sentence.")
    importance: int = Field(
        default=3,
        description="1 (passing detail) to 5 (a turning point or the climax of the story).",
    )

    @field_validator("importance")
    @classmethod
    def _clamp(cls, value: int) -> int:
        return min(5, max(1, value))


class BeatsAnswer(AnalysisAnswer):
    """One chunk's beats, with what the chunk shows of the cast, places, themes and mood."""

    beats: list[BeatAnswer] = Field(description="The chunk's events, in order.")


class BatchSceneAnswer(SceneAnswer):
    """A scene written for one numbered item of a batch."""

    ref: int = Field(description="The number of the item this scene is for.")


class BatchAnswer(_Answer):
    """The scenes of one writing batch."""

    scenes: list[BatchSceneAnswer] = Field(description="One scene per item, in item order.")


def strict_schema(model: type[BaseModel], **descriptions: str) -> dict[str, Any]:
    """``model``'s JSON schema made strict-compatible.

    References are inlined, every property is required, ``additionalProperties`` is false and
    only widely supported keywords are kept. ``descriptions`` override property descriptions
    (to put a per-request count into the schema, for instance).
    """
    raw = model.model_json_schema()
    definitions = raw.get("$defs", {})

    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return convert(definitions[node["$ref"].rsplit("/", 1)[-1]])
        out = {key: convert(value) for key, value in node.items() if key in _KEEP}
        if "properties" in node:
            out["properties"] = {k: convert(v) for k, v in node["properties"].items()}
        if out.get("type") == "object":
            out.pop("description", None)  # class docstrings are for Python readers
            out["required"] = list(out.get("properties", {}))
            out["additionalProperties"] = False
        return out

    schema: dict[str, Any] = convert(raw)
    for key, text in descriptions.items():
        schema["properties"][key]["description"] = text
    return schema


def response_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The ``response_format`` object for a strict JSON-schema answer."""
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}


_MAX_STARTS = 64
_OPENER = re.compile(r"[{\[]")
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)


def extract_json(text: str | None) -> Any:
    """The first JSON object (or list of objects) in ``text``, ignoring fences and prose.

    A value nested inside broken JSON is not picked up: after a failed parse the search resumes
    where the parser gave up, so a truncated answer is reported as invalid JSON.
    """
    if not text or not text.strip():
        raise AnswerError("the answer was empty")
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    problem = "no JSON object found"
    for candidate in candidates:
        position, tries = 0, 0
        while tries < _MAX_STARTS:
            match = _OPENER.search(candidate, position)
            if match is None:
                break
            tries += 1
            try:
                value, end = decoder.raw_decode(candidate, match.start())
            except json.JSONDecodeError as error:
                if problem == "no JSON object found":
                    problem = f"invalid JSON ({error})"
                position = max(error.pos, match.start() + 1)
                continue
            if isinstance(value, dict) or (
                isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
            ):
                return value
            position = end
    raise AnswerError(problem)


def parse_answer(text: str | None, model: type[M]) -> M:
    """Parse and validate an answer against ``model``; :class:`AnswerError` says what is wrong."""
    value = extract_json(text)
    if isinstance(value, list) and model is ScenesAnswer:
        value = {"scenes": value}
    try:
        return model.model_validate(value)
    except ValidationError as error:
        raise AnswerError(_summarise(error)) from None


def parse_scenes(text: str | None, n: int, *, fewer_ok: bool = False) -> list[SceneAnswer]:
    """The scenes of an answer, which must hold exactly ``n`` (or 1..n if ``fewer_ok``)."""
    scenes = parse_answer(text, ScenesAnswer).scenes
    if len(scenes) == n or (fewer_ok and 1 <= len(scenes) < n):
        return scenes
    raise AnswerError(f"expected exactly {n} scenes in 'scenes', got {len(scenes)}")


def _summarise(error: ValidationError, limit: int = 5) -> str:
    problems = []
    for item in error.errors()[:limit]:
        where = ".".join(str(part) for part in item["loc"]) or "answer"
        problems.append(f"{where}: {item['msg']}")
    more = error.error_count() - limit
    if more > 0:
        problems.append(f"and {more} more")
    return "; ".join(problems)
