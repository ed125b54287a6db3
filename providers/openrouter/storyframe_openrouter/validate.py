"""Semantic checks on the scenes an LLM wrote, beyond their JSON shape.

:func:`scene_problems` says what is wrong with one scene (a reason the repair round quotes);
:func:`near_duplicates` finds prompts that repeat another's; :func:`cap_scene` trims fields to
their caps; :func:`locate` turns an anchor (the passage's first words) into a character offset.
"""

from __future__ import annotations

import re

from storyframe.models import StoryAnalysis, Style
from storyframe.prompts import CAMERAS, SHOTS, normalise_camera, normalise_shot
from storyframe_openrouter.schema import SceneAnswer

TITLE_CAP = 80
DESCRIPTION_CAP = 600
PROMPT_CAP = 1000
MAX_CHARACTERS = 8
DUPLICATE_SIMILARITY = 0.6
"""Word-trigram Jaccard similarity from which two prompts count as the same picture."""

STYLE_WORDS = (
    "watercolor",
    "watercolour",
    "oil painting",
    "anime",
    "manga",
    "pixel art",
    "photorealistic",
    "digital art",
    "concept art",
    "artstation",
    "unreal engine",
    "octane render",
    "cel-shaded",
    "art style",
    "in the style of",
    "8k",
)
_DIALOGUE = re.compile(r"[\"\u201c][^\"\u201c\u201d]*\w+\W+\w+\W+\w+[^\"\u201c\u201d]*[\"\u201d]")


def cap_scene(answer: SceneAnswer) -> SceneAnswer:
    """``answer`` with its text fields trimmed to their caps and at most eight characters, and
    the framing its image prompt says moved to ``shot`` and ``camera`` (:func:`settle_framing`)."""
    from storyframe_openrouter.text import bound

    prompt, shot, camera = settle_framing(answer.image_prompt, answer.shot, answer.camera)
    return answer.model_copy(
        update={
            "title": bound(answer.title, TITLE_CAP),
            "description": bound(answer.description, DESCRIPTION_CAP),
            "image_prompt": bound(prompt, PROMPT_CAP),
            "characters": list(dict.fromkeys(answer.characters))[:MAX_CHARACTERS],
            "shot": shot,
            "camera": camera,
        }
    )


_PARTS = re.compile(r"(\s*[,;]\s*)")
_FRAMING_HINT = re.compile(r"shot|close|angle|view|level|shoulder|framing|\s")


def _framing_term(part: str) -> tuple[str, str] | None:
    """``("shot", "wide")`` or ``("camera", "low angle")`` if ``part`` is only a framing term
    of the vocabulary ("medium shot", "low angle", "aerial view"), else ``None``."""
    part = part.strip().strip(".")
    if not _FRAMING_HINT.search(part.casefold()):
        return None  # a bare word ("high", "long") may be part of the picture
    shot, camera = normalise_shot(part), normalise_camera(part)
    if shot in SHOTS:
        return "shot", shot
    if camera in CAMERAS:
        return "camera", camera
    return None


def settle_framing(
    prompt: str, shot: str, camera: str, *, fill: bool = True
) -> tuple[str, str, str]:
    """The prompt without the framing terms that open or close it, and the shot and camera.

    Models often end an image prompt with ", medium shot" although the scene's ``shot`` says
    the framing: the image prompt would then carry it twice (or two different ones), since
    :func:`storyframe.prompts.framing` puts the fields in front. A term fills an empty field;
    a field already set wins. Terms inside a sentence ("a close-up of her hand") stay. With
    ``fill=False`` a term whose field is unset stays in the prompt (the fields are not changed).
    """
    text = prompt.strip().rstrip(".")
    pieces = _PARTS.split(text)  # parts at even indices, their separators between
    found = {"shot": shot, "camera": camera}
    while len(pieces) > 1 and (term := _framing_term(pieces[-1])) is not None:
        if not fill and not found[term[0]]:
            break
        found[term[0]] = found[term[0]] or term[1]
        del pieces[-2:]
    while len(pieces) > 1 and (term := _framing_term(pieces[0])) is not None:
        if not fill and not found[term[0]]:
            break
        found[term[0]] = found[term[0]] or term[1]
        del pieces[:2]
    kept = "".join(pieces)
    if kept == text:
        return prompt, shot, camera
    return kept[:1].upper() + kept[1:], found["shot"], found["camera"]


def style_words(style: Style) -> list[str]:
    """The words an image prompt must not contain: art styles, and this style's own name."""
    return [*STYLE_WORDS, style.name.replace("-", " ")]


def scene_problems(
    answer: SceneAnswer, *, analysis: StoryAnalysis | None, style: Style
) -> list[str]:
    """What is wrong with one scene, as short reasons (empty when it is usable)."""
    problems = []
    prompt = answer.image_prompt.casefold()
    found = [w for w in style_words(style) if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", prompt)]
    if found:
        problems.append(
            f"image_prompt names an art style ({', '.join(found)}); describe only what is seen"
        )
    if _DIALOGUE.search(answer.image_prompt):
        problems.append("image_prompt quotes dialogue; show the moment instead")
    if analysis is not None and analysis.characters:
        strangers = [n for n in answer.characters if analysis.character(n) is None]
        if strangers:
            cast = ", ".join(c.name for c in analysis.characters[:20])
            problems.append(
                f"characters {', '.join(strangers)} are not in the cast; use these names: {cast}"
            )
    return problems


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.casefold())
    return {tuple(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def similarity(a: str, b: str) -> float:
    """Word-trigram Jaccard similarity of two texts, 0 to 1."""
    left, right = _trigrams(a), _trigrams(b)
    return len(left & right) / len(left | right) if left | right else 1.0


def near_duplicates(prompts: list[str]) -> dict[int, int]:
    """``{later index: earlier index}`` for each prompt that nearly repeats an earlier one."""
    grams = [_trigrams(p) for p in prompts]
    out: dict[int, int] = {}
    for j in range(len(prompts)):
        for i in range(j):
            union = grams[i] | grams[j]
            if union and len(grams[i] & grams[j]) / len(union) >= DUPLICATE_SIMILARITY:
                out[j] = i
                break
    return out


def locate(story: str, anchor: str, start: int = 0, end: int | None = None) -> int | None:
    """Where ``anchor`` (a passage's first words) begins in ``story[start:end]``, or ``None``.

    Exact first; then the first eight (then four) words in order, ignoring case, punctuation and
    line breaks, since models copy the words but not always the spacing.
    """
    end = len(story) if end is None else end
    anchor = anchor.strip()
    if not anchor:
        return None
    position = story.find(anchor, start, end)
    if position >= 0:
        return position
    words = re.findall(r"\w+", anchor)
    for count in (8, 4):
        if len(words) < min(count, 3):
            continue
        pattern = r"\W+".join(re.escape(w) for w in words[:count])
        match = re.compile(rf"(?<!\w){pattern}", re.I).search(story, start, end)
        if match:
            return match.start()
    return None
