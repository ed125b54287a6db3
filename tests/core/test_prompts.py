"""Prompt composition and seeds: what every image provider receives."""

from __future__ import annotations

from storyframe.models import Character, Scene, StoryAnalysis, Style
from storyframe.prompts import build_request, compose_prompt, scene_seed, story_seed

STYLE = Style(name="ink", prompt_suffix="ink drawing", negative_prompt="colour")
ANALYSIS = StoryAnalysis(
    characters=[
        Character(name="Gretel", look="a small girl in a red shawl"),
        Character(name="the witch", look="a hunched old woman with a crooked stick"),
        Character(name="the young man", look="young man"),
    ]
)


def scene(prompt: str, *characters: str) -> Scene:
    return Scene(
        number=2, title="t", description="d", image_prompt=prompt, characters=list(characters)
    )


def test_prompt_is_scene_then_looks_of_present_characters_then_style() -> None:
    prompt = compose_prompt(scene("Gretel pushes the witch into the oven.", "Gretel", "the witch"),
                            STYLE, ANALYSIS)  # fmt: skip
    assert prompt == (
        "Gretel pushes the witch into the oven. Gretel: a small girl in a red shawl; "
        "the witch: a hunched old woman with a crooked stick. ink drawing"
    )


def test_absent_characters_and_empty_looks_are_left_out() -> None:
    prompt = compose_prompt(scene("A dark wood at night", "the young man"), STYLE, ANALYSIS)
    assert prompt == "A dark wood at night. ink drawing"
    assert compose_prompt(scene("A wood", "Hansel"), STYLE, None) == "A wood. ink drawing"


def test_a_look_the_prompt_already_holds_is_not_repeated() -> None:
    prompt = compose_prompt(scene("a small girl in a red shawl runs", "Gretel"), STYLE, ANALYSIS)
    assert prompt.count("red shawl") == 1


def test_seeds_are_reproducible_and_differ_per_scene() -> None:
    base = story_seed("ab" * 32)
    assert base == story_seed("ab" * 32)
    assert story_seed("ab" * 32, 42) == 42
    assert scene_seed(base, 1) == scene_seed(base, 1)
    assert len({scene_seed(base, n) for n in range(1, 50)}) == 49
    request = build_request(scene("x y", "Gretel"), STYLE, ANALYSIS, base_seed=7, width=640,
                            height=384)  # fmt: skip
    assert request.seed == scene_seed(7, 2)
    assert request.negative_prompt == "colour"
    assert (request.width, request.height, request.scene_number) == (640, 384, 2)
