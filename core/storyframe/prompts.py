"""Turning a scene into an image request: prompt composition and reproducible seeds."""

from __future__ import annotations

import hashlib
import re

from storyframe.models import ImageRequest, Scene, StoryAnalysis, Style

MAX_SEED = 2**31 - 1


def story_seed(story_sha256: str, seed: int | None = None) -> int:
    """The story-level seed: the one given, else one derived from the story's hash."""
    if seed is not None:
        return seed % (MAX_SEED + 1)
    return int(story_sha256[:12], 16) % (MAX_SEED + 1)


def scene_seed(base: int, number: int) -> int:
    """A per-scene seed derived from the story seed, stable across runs."""
    digest = hashlib.sha256(f"{base}:{number}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % (MAX_SEED + 1)


def character_looks(scene: Scene, analysis: StoryAnalysis | None) -> list[str]:
    """``"Name: look"`` for each character present in the scene whose look is known."""
    if analysis is None:
        return []
    looks: list[str] = []
    prompt = scene.image_prompt.casefold()
    for name in scene.characters:
        character = analysis.character(name)
        if character is None or not character.look:
            continue
        look = character.look.casefold()
        bare_name = character.name.casefold().removeprefix("the ").removeprefix("a ")
        # A look that only repeats the name, or that the prompt already says, adds nothing.
        if look in (bare_name, character.name.casefold()) or look in prompt:
            continue
        looks.append(f"{character.name}: {character.look}")
    return looks


def _says(prompt: str, phrase: str) -> bool:
    """Whether ``prompt`` holds ``phrase`` as whole words, case-insensitively."""
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", prompt, re.IGNORECASE) is not None


def framing(scene: Scene) -> str:
    """``"wide shot, low angle"`` from the scene's shot and camera, minus what its prompt says.

    A shot gains the word "shot" ("close-up" -> "close-up shot"). A part is left out when the
    prompt already holds it: the phrase as it would be added, or the value itself when that is
    distinctive (several words or hyphenated: "close-up", "low angle", not a bare "wide").
    """
    parts = []
    prompt = scene.image_prompt
    for value, is_shot in ((scene.shot, True), (scene.camera, False)):
        value = " ".join(value.split()).strip(" ,.;")
        if not value:
            continue
        phrase = f"{value} shot" if is_shot and not _says(value, "shot") else value
        distinctive = " " in value or "-" in value
        if _says(prompt, phrase) or (distinctive and _says(prompt, value)):
            continue
        parts.append(phrase)
    return ", ".join(parts)


def scene_part(scene: Scene) -> str:
    """The scene's own part of the prompt: its framing, then its image prompt."""
    prompt = scene.image_prompt.strip().rstrip(".")
    front = framing(scene)
    return f"{front}, {prompt}" if front else prompt


def compose_prompt(scene: Scene, style: Style, analysis: StoryAnalysis | None) -> str:
    """The scene's framing and prompt, the looks of the characters in it, the style's suffix."""
    parts = [scene_part(scene)]
    looks = character_looks(scene, analysis)
    if looks:
        parts.append("; ".join(looks))
    if style.prompt_suffix:
        parts.append(style.prompt_suffix)
    return ". ".join(p for p in parts if p)


def build_request(
    scene: Scene,
    style: Style,
    analysis: StoryAnalysis | None,
    *,
    base_seed: int,
    width: int,
    height: int,
    prompt: str | None = None,
) -> ImageRequest:
    """The image request for one scene."""
    return ImageRequest(
        scene_number=scene.number,
        title=scene.title,
        prompt=prompt or compose_prompt(scene, style, analysis),
        negative_prompt=style.negative_prompt,
        width=width,
        height=height,
        seed=scene_seed(base_seed, scene.number),
        style=style,
        # The scene's own part of the prompt, so a provider that must shorten the prompt can cut
        # there and keep the character looks and the style suffix.
        params={"scene_prompt": scene_part(scene)},
    )
