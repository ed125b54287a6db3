"""Turning a scene into an image request: prompt composition and reproducible seeds."""

from __future__ import annotations

import hashlib

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


def compose_prompt(scene: Scene, style: Style, analysis: StoryAnalysis | None) -> str:
    """The scene's prompt, then the looks of the characters in it, then the style's suffix."""
    parts = [scene.image_prompt.strip().rstrip(".")]
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
        params={"scene_prompt": scene.image_prompt},
    )
