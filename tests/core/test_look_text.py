"""look_text and the framing vocabulary in storyframe.prompts."""

from __future__ import annotations

import pytest

from storyframe.models import Character, Scene, StoryAnalysis, Style
from storyframe.prompts import (
    CAMERAS,
    SHOTS,
    compose_prompt,
    look_text,
    normalise_camera,
    normalise_shot,
)

WOLF = Character(
    name="the wolf",
    look="a big grey wolf",
    species="wolf",
    age="old",
    hair="shaggy grey fur",
    clothes="the grandmother's nightcap",
    colours="grey, white",
)


def test_look_text_says_each_part_once() -> None:
    assert look_text(WOLF) == (
        "a big grey wolf, old, shaggy grey fur, wearing the grandmother's nightcap, colours white"
    )


def test_look_text_without_a_look_line() -> None:
    girl = Character(name="Little Red-Cap", age="little", clothes="red velvet cap", colours="red")
    assert look_text(girl) == "wearing red velvet cap"  # "little" and "red" said already


def test_look_text_leaves_out_what_the_prompt_says() -> None:
    text = look_text(WOLF, said="the old wolf in the grandmother's nightcap lies in bed")
    assert text == "a big grey wolf, shaggy grey fur, colours white"
    assert look_text(Character(name="the fox", species="fox")) == ""
    assert look_text(Character(name="Anna", hair="long red")) == "long red hair"


def test_scene_prompts_carry_the_look_fields() -> None:
    analysis = StoryAnalysis(characters=[WOLF])
    scene = Scene(
        number=1,
        title="t",
        description="d",
        image_prompt="the old wolf lies in the bed",
        characters=["the wolf"],
        shot="close-up",
        camera="eye level",
    )
    prompt = compose_prompt(scene, Style(name="ink"), analysis)
    assert prompt == (
        "close-up shot, eye level, the old wolf lies in the bed. the wolf: a big grey wolf, "
        "shaggy grey fur, wearing the grandmother's nightcap, colours white"
    )


@pytest.mark.parametrize("value", [*SHOTS, *(s.upper() + " shot" for s in SHOTS)])
def test_every_shot_normalises_to_itself(value: str) -> None:
    assert normalise_shot(value) in SHOTS


@pytest.mark.parametrize("value", [*CAMERAS, *(c.title() for c in CAMERAS)])
def test_every_camera_normalises_to_itself(value: str) -> None:
    assert normalise_camera(value) in CAMERAS
