"""Shot and camera in the image prompt: at the front, once, and nothing when unset."""

from __future__ import annotations

import pytest

from storyframe.models import Scene, Style
from storyframe.prompts import build_request, compose_prompt, framing

STYLE = Style(name="ink", prompt_suffix="ink drawing")


def scene(prompt: str, shot: str = "", camera: str = "") -> Scene:
    return Scene(
        number=1, title="t", description="d", image_prompt=prompt, shot=shot, camera=camera
    )


def test_shot_and_camera_go_first() -> None:
    prompt = compose_prompt(scene("a fox at the gate.", "wide", "low angle"), STYLE, None)
    assert prompt == "wide shot, low angle, a fox at the gate. ink drawing"


def test_unset_framing_leaves_the_prompt_as_before() -> None:
    assert (
        compose_prompt(scene("a fox at the gate."), STYLE, None) == "a fox at the gate. ink drawing"
    )


@pytest.mark.parametrize(
    ("prompt", "shot", "camera", "expected"),
    [
        ("Wide shot of a fox", "wide", "low angle", "low angle"),
        ("a close-up of a hand", "close-up", "", ""),
        ("a fox seen from a low angle", "medium shot", "low angle", "medium shot"),
        ("a wide river", "wide", "", "wide shot"),  # a bare "wide" is not a shot
        (
            "a fox",
            "  extreme   close-up ",
            "over the shoulder.",
            "extreme close-up shot, over the shoulder",
        ),
    ],
)
def test_never_said_twice(prompt: str, shot: str, camera: str, expected: str) -> None:
    assert framing(scene(prompt, shot, camera)) == expected


def test_request_scene_prompt_starts_the_prompt() -> None:
    request = build_request(
        scene("a fox", "close-up"), STYLE, None, base_seed=1, width=64, height=64
    )
    assert request.params["scene_prompt"] == "close-up shot, a fox"
    assert request.prompt.startswith(request.params["scene_prompt"])


def test_old_manifests_without_the_fields_still_load() -> None:
    loaded = Scene.model_validate(
        {"number": 1, "title": "t", "description": "", "image_prompt": "p"}
    )
    assert (loaded.shot, loaded.camera) == ("", "")
