"""The character bible (look fields) and scene framing (shot, camera) from OpenRouter."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from storyframe.prompts import CAMERAS, LOOK_FIELDS, SHOTS, compose_prompt
from storyframe.providers import TextJob
from storyframe.story import read_story
from storyframe.styles import BUILTIN_STYLES
from storyframe_openrouter.beats import merge_analysis
from storyframe_openrouter.config import OpenRouterConfig
from storyframe_openrouter.schema import (
    BatchAnswer,
    BeatsAnswer,
    CharacterAnswer,
    SceneAnswer,
    StoryAnswer,
    strict_schema,
)
from storyframe_openrouter.text import OpenRouterTextProvider
from storyframe_openrouter.validate import settle_framing
from tests.conftest import STORIES
from tests.openrouter import emulator as emu
from tests.openrouter.conftest import FAST
from tests.openrouter.emulator import OpenRouterEmulator

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])

STYLE = BUILTIN_STYLES[0]
STORY = (
    "Anna left the village at dawn. She walked into the pine forest with her red cloak. "
    "A fox followed her to the river. She crossed the bridge and reached her grandmother's "
    "house. They drank tea by the fire until night fell."
)
TALE = STORIES / "18-the-valiant-little-tailor.txt"
MakeText = Callable[..., OpenRouterTextProvider]


# --- the schema -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", [StoryAnswer, BeatsAnswer])
def test_every_character_is_asked_for_the_look_fields(model: Any) -> None:
    character = strict_schema(model)["properties"]["characters"]["items"]
    for field in ("look", *LOOK_FIELDS):
        assert character["properties"][field]["type"] == "string"
        assert field in character["required"]
    assert character["additionalProperties"] is False


@pytest.mark.parametrize("model", [StoryAnswer, BatchAnswer])
def test_scenes_choose_shot_and_camera_from_the_vocabulary(model: Any) -> None:
    scene = strict_schema(model)["properties"]["scenes"]["items"]
    assert scene["properties"]["shot"] == {"type": "string", "enum": list(SHOTS)}
    assert scene["properties"]["camera"] == {"type": "string", "enum": list(CAMERAS)}
    assert {"shot", "camera"} <= set(scene["required"])


# --- answers: cleaned and normalised -------------------------------------------------------


def scene_answer(**fields: Any) -> SceneAnswer:
    return SceneAnswer.model_validate(
        {"title": "t", "description": "d", "image_prompt": "Anna by the river", **fields}
    )


@pytest.mark.parametrize(
    ("shot", "camera", "expected"),
    [
        ("Close up", "Low-angle shot", ("close-up", "low angle")),
        ("CLOSEUP SHOT", "Bird's Eye View", ("close-up", "bird's-eye")),
        ("long shot", "overhead", ("wide", "bird's-eye")),
        ("Medium Shot", "eye-level", ("medium", "eye level")),
        ("Tracking", "POV", ("tracking", "point of view")),  # short unknown: kept as said
        ("N/A", "none", ("", "")),  # placeholders: dropped
        ("a sweeping view of the whole valley at dawn", "", ("", "")),  # too long: dropped
        (None, 3, ("", "")),  # not text at all
    ],
)
def test_odd_framing_values_are_normalised(
    shot: Any, camera: Any, expected: tuple[str, str]
) -> None:
    answer = scene_answer(shot=shot, camera=camera)
    assert (answer.shot, answer.camera) == expected


def test_look_fields_are_cleaned() -> None:
    answer = CharacterAnswer.model_validate(
        {
            "name": "Anna",
            "species": "Human",
            "age": " about\nten ",
            "hair": "N/A",
            "clothes": ["red cloak", "brown boots"],
            "face": "x " * 200,
            "colours": None,
        }
    )
    assert answer.species == "" and answer.hair == "" and answer.colours == ""
    assert answer.age == "about ten"
    assert answer.clothes == "red cloak, brown boots"
    assert 0 < len(answer.face) <= 120


@pytest.mark.parametrize(
    ("prompt", "shot", "camera", "expected"),
    [
        ("Anna by the river, soft light, wide shot", "close-up", "",
         ("Anna by the river, soft light", "close-up", "")),
        ("Anna by the river, low angle", "", "", ("Anna by the river", "", "low angle")),
        ("Close-up, Anna holds the key; candle glow, tight framing", "", "",
         ("Anna holds the key; candle glow", "close-up", "")),
        ("a close-up of her hand on the key", "", "",
         ("a close-up of her hand on the key", "", "")),
        ("Anna on the tower, high", "wide", "", ("Anna on the tower, high", "wide", "")),
    ],
)  # fmt: skip
def test_framing_the_prompt_says_moves_to_the_fields(
    prompt: str, shot: str, camera: str, expected: tuple[str, str, str]
) -> None:
    assert settle_framing(prompt, shot, camera) == expected


def test_a_look_field_one_chunk_fills_is_not_wiped_by_another() -> None:
    def chunk(**look: str) -> BeatsAnswer:
        character = {"name": "Anna", "aliases": ["the girl"], **look}
        return BeatsAnswer.model_validate({"characters": [character], "beats": []})

    merged = merge_analysis(
        [
            chunk(hair="red braids", look="a girl in red"),
            chunk(hair="", clothes="red cloak", name_note=""),
            chunk(hair="blue curls", age="about ten", species=""),
        ],
        (100, 10, 3),
    )
    (anna,) = merged.characters
    assert anna.hair == "red braids"  # the first chunk that says it wins
    assert anna.clothes == "red cloak" and anna.age == "about ten"
    assert anna.look == "a girl in red" and anna.species == ""


# --- against the look-alike -----------------------------------------------------------------


async def test_the_analysis_fills_the_character_bible(make_text: MakeText) -> None:
    analysis = await make_text().analyze(STORY)
    anna = analysis.character("Anna")
    assert anna is not None
    assert (anna.age, anna.build, anna.hair, anna.clothes) == (
        "about ten",
        "thin",
        "red braids",
        "red wool cloak, brown boots",
    )
    assert anna.face == "freckled, grey eyes" and anna.colours == "red, brown"
    assert anna.species == ""


async def test_scenes_carry_shot_and_camera_once_in_the_prompt(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    provider = make_text()
    analysis = await provider.analyze(STORY)
    scenes = await provider.generate_scenes(STORY, 6, STYLE, analysis)
    sent = emulator.chat_requests[-1].body["messages"][-1]["content"]
    assert "over the shoulder" in sent and "not in image_prompt" in sent
    for scene in scenes:
        assert scene.shot in SHOTS and scene.camera in CAMERAS
        prompt = compose_prompt(scene, STYLE, analysis).casefold()
        shot_phrase = f"{scene.shot} shot"
        assert prompt.startswith(f"{shot_phrase}, {scene.camera}")
        assert prompt.count(shot_phrase) == 1
        # the framing the model also wrote in the image prompt is not left to contradict it
        others = [f"{s} shot" for s in ("wide", "medium") if s != scene.shot]
        assert not any(other in prompt for other in others)
        # Anna's look parts reach the picture, once each
        assert prompt.count("red braids") == 1 and prompt.count("freckled") == 1


async def test_odd_values_from_a_lax_route_are_normalised(
    emulator: OpenRouterEmulator, make_text: MakeText
) -> None:
    scene = {
        "title": "The bridge",
        "description": "Anna crosses the bridge.",
        "image_prompt": "Anna crosses a wooden bridge over the river at noon, medium shot",
        "characters": ["Anna"],
        "place": "bridge",
        "time_of_day": "noon",
    }
    answer = {"scenes": [{**scene, "shot": "Close up", "camera": "Looking up"}]}
    emulator.push(emu.content(json.dumps(answer)))
    (made,) = await make_text().generate_scenes(STORY, 1, STYLE)
    assert (made.shot, made.camera) == ("close-up", "low angle")
    assert made.image_prompt == "Anna crosses a wooden bridge over the river at noon"


async def test_a_long_story_merges_the_look_across_chunks(
    emulator: OpenRouterEmulator, tmp_path: Path
) -> None:
    tale = read_story(TALE).text
    config = OpenRouterConfig(
        base_url=emulator.base_url, model="openai/gpt-3.5-turbo", context_share=0.1, **FAST
    )
    provider = OpenRouterTextProvider(config, SecretStr(emulator.api_key))
    provider.job = TextJob(6, (4, 12), tmp_path)
    try:
        analysis = await provider.analyze(tale)
        scenes = await provider.generate_scenes(tale, 6, STYLE, analysis)
    finally:
        await provider.aclose()
    beats = [c for c in provider.calls if c.purpose.startswith("beats")]
    assert len(beats) >= 3
    # The look-alike tells a character's age and clothes in parts 1, 4, 7..., its hair, face and
    # colours in parts 2, 5..., its build in parts 3, 6... and '' for the rest: the merged cast
    # keeps what each part told (a later part's '' wipes nothing).
    lead = max(analysis.characters, key=lambda c: c.mentions)
    assert (lead.age, lead.build) == ("about sixteen", "slender")
    assert lead.clothes == "plain wool dress of the 1860s" and lead.species == ""
    assert all(s.shot in SHOTS and s.camera in CAMERAS for s in scenes)


def test_an_enhanced_prompt_keeps_framing_the_scene_does_not_set() -> None:
    kept = settle_framing("A fox at the gate, low angle, wide shot", "medium", "", fill=False)
    assert kept == ("A fox at the gate, low angle", "medium", "")
