"""Turning a scene into an image request: prompt composition and reproducible seeds.

Also the vocabulary of framing (:data:`SHOTS`, :data:`CAMERAS`, :func:`normalise_shot`,
:func:`normalise_camera`) that text providers fill ``Scene.shot`` and ``Scene.camera`` with, and
:func:`look_text`, a character's whole look as one text (scene prompts, reference sheets).
"""

from __future__ import annotations

import hashlib
import re

from storyframe.models import Character, ImageRequest, Scene, StoryAnalysis, Style

MAX_SEED = 2**31 - 1

SHOTS = (
    "establishing",
    "wide",
    "full",
    "medium",
    "medium close-up",
    "close-up",
    "extreme close-up",
)
"""Shot sizes, widest first: what text providers put in ``Scene.shot``."""
CAMERAS = (
    "eye level",
    "low angle",
    "high angle",
    "over the shoulder",
    "bird's-eye",
    "worm's-eye",
    "dutch angle",
    "point of view",
)
"""Camera angles: what text providers put in ``Scene.camera``."""

_SHOT_SYNONYMS = {
    "establishing": ("master", "extreme wide", "extreme long", "panorama", "panoramic"),
    "wide": ("long", "wide angle", "full landscape", "very wide", "vista"),
    "full": ("full body", "full figure", "full length", "full-length", "head to toe"),
    "medium": (
        "mid",
        "mid shot",
        "midshot",
        "medium wide",
        "medium long",
        "cowboy",
        "two",
        "waist",
    ),
    "medium close-up": ("medium close", "medium closeup", "mcu", "chest"),
    "close-up": ("close", "closeup", "close up", "tight", "cu", "head and shoulders"),
    "extreme close-up": ("extreme close", "extreme closeup", "extreme close up", "ecu", "macro"),
}
_CAMERA_SYNONYMS = {
    "eye level": ("eye-level", "eyelevel", "straight on", "straight-on", "neutral", "level"),
    "low angle": ("low", "from below", "looking up", "low-angle", "upward"),
    "high angle": ("high", "from above", "looking down", "high-angle", "downward"),
    "over the shoulder": ("over-the-shoulder", "over shoulder", "ots", "over the shoulder shot"),
    "bird's-eye": ("bird's eye", "birds eye", "birds-eye", "overhead", "top down", "top-down",
                   "aerial", "bird's-eye view", "bird's eye view"),
    "worm's-eye": ("worm's eye", "worms eye", "worms-eye", "worm's-eye view", "ground level"),
    "dutch angle": ("dutch", "dutch tilt", "canted", "canted angle", "tilted", "oblique"),
    "point of view": ("pov", "point-of-view", "first person", "first-person", "subjective"),
}  # fmt: skip
_PLACEHOLDERS = {
    *("none", "n/a", "na", "unknown", "unspecified", "any", "default", "unclear", "null", "-"),
    *("not applicable", "not specified", "no", "other"),
}
_SHORT_PHRASE = re.compile(r"[a-z][a-z' -]{0,29}")


def _key(value: str) -> str:
    value = value.casefold().replace("\u2019", "'").replace("_", " ")
    value = re.sub(r"\s+", " ", value).strip(' .,;:!"()')
    return value


def _lookup(synonyms: dict[str, tuple[str, ...]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, others in synonyms.items():
        for form in (canonical, *others):
            table[form] = canonical
            table[form.replace("-", " ")] = canonical
    return table


_SHOT_TABLE = _lookup(_SHOT_SYNONYMS)
_CAMERA_TABLE = _lookup(_CAMERA_SYNONYMS)


def _normalise(value: str, table: dict[str, str], suffixes: tuple[str, ...]) -> str:
    key = _key(value)
    for candidate in (key, *(key.removesuffix(s).strip() for s in suffixes if key.endswith(s))):
        for form in (candidate, candidate.replace("-", " ")):
            if form in table:
                return table[form]
    # Not in the vocabulary: a short plain phrase is kept as said; anything else is dropped.
    if key in _PLACEHOLDERS or key.removesuffix(" shot") in _PLACEHOLDERS:
        return ""
    if _SHORT_PHRASE.fullmatch(key) and len(key.split()) <= 3:
        return key
    return ""


def normalise_shot(value: str) -> str:
    """A shot size from :data:`SHOTS` for a value as a model or a user wrote it.

    Case, spacing, hyphens, a trailing "shot" and common synonyms do not matter: ``"Close up"``,
    ``"closeup shot"`` and ``"CU"`` are ``"close-up"``; ``"long shot"`` is ``"wide"``. A value
    outside the vocabulary is kept, lower-cased, when it is a short plain phrase (at most three
    words and 30 characters, letters only: ``"tracking"``); placeholders (``"none"``,
    ``"n/a"``) and anything longer are dropped (``""``).
    """
    return _normalise(value, _SHOT_TABLE, (" shot", " view", " framing"))


def normalise_camera(value: str) -> str:
    """A camera angle from :data:`CAMERAS` for a value as written, by the rules of
    :func:`normalise_shot` (``"Low-angle shot"`` is ``"low angle"``, ``"overhead"`` is
    ``"bird's-eye"``)."""
    return _normalise(value, _CAMERA_TABLE, (" shot", " view", " angle"))


LOOK_FIELDS = ("species", "age", "build", "face", "hair", "clothes", "colours")
"""The look fields of :class:`~storyframe.models.Character`, in the order :func:`look_text`
says them."""
_HAIR_WORDS = re.compile(r"\b(?:hair|beard|bald|locks|braids?|tresses|curls|moustache|mane|fur)\b")
_WEAR_WORDS = re.compile(r"^(?:wearing|in|dressed|clad|with)\b")


def _phrase(field: str, value: str) -> str:
    if field == "hair" and not _HAIR_WORDS.search(value.casefold()):
        return f"{value} hair"
    if field == "clothes" and not _WEAR_WORDS.match(value.casefold()):
        return f"wearing {value}"
    if field == "colours":
        return f"colours {value}"
    return value


def _says(text: str, phrase: str) -> bool:
    """Whether ``text`` holds ``phrase`` as whole words, case-insensitively."""
    if phrase.casefold() not in text.casefold():  # the common answer, without a regex
        return False
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, re.IGNORECASE) is not None


def look_text(character: Character, *, said: str = "") -> str:
    """The character's whole look as one line: its ``look``, then each look field.

    The fields follow in the order of :data:`LOOK_FIELDS` ("wolf, old, grey fur, wearing a red
    cap"): hair gains "hair" and clothes "wearing" where the value does not say so. Nothing is
    said twice: a field the look (or an earlier field) already holds is left out, as is any
    part ``said`` (the rest of a prompt, for instance) already holds, and the bare name. An
    empty string when nothing is known. Scene prompts use it through :func:`character_looks`;
    a reference-sheet prompt can use it as it is.
    """
    name = character.name.strip()
    bare = re.sub(r"^(?:the|a|an)\s+", "", name, flags=re.IGNORECASE)
    known = " ".join(part for part in (said, name) if part)
    parts: list[str] = []
    look = " ".join(character.look.split()).strip(" ,;.")
    if look and look.casefold() not in (name.casefold(), bare.casefold()):
        if not _says(known, look):
            parts.append(look)
        known = f"{known} {look}"
    for field in LOOK_FIELDS:
        value = " ".join(str(getattr(character, field)).split()).strip(" ,;.")
        if not value or value.casefold() in (name.casefold(), bare.casefold()):
            continue
        if field == "colours":
            fresh = [c.strip() for c in value.split(",") if c.strip()]
            fresh = [c for c in fresh if not _says(known, c)]
            value = ", ".join(fresh)
            if not value:
                continue
        elif _says(known, value):
            continue
        parts.append(_phrase(field, value))
        known = f"{known} {value}"
    return ", ".join(parts)


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
    """``"Name: look"`` for each character present in the scene whose look is known.

    The look is :func:`look_text`, less what the scene's prompt already says: a look that only
    repeats the name, or whose every part the prompt holds, adds nothing and is left out.
    """
    if analysis is None:
        return []
    looks: list[str] = []
    for name in scene.characters:
        character = analysis.character(name)
        if character is None:
            continue
        look = look_text(character, said=scene.image_prompt)
        if look:
            looks.append(f"{character.name}: {look}")
    return looks


def framing(scene: Scene) -> str:
    """``"wide shot, low angle"`` from the scene's shot and camera, minus what its prompt says.

    A shot gains the word "shot" ("close-up" -> "close-up shot"), a bird's- or worm's-eye camera
    the word "view". A part is left out when the
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
        if not is_shot and value.endswith("eye"):
            phrase = f"{value} view"  # "bird's-eye" -> "bird's-eye view"
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
