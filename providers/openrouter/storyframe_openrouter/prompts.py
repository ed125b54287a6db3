"""The conversations storyframe has with the LLM: analysis, scenes, prompt enhancement, repair."""

from __future__ import annotations

from storyframe.models import ImageRequest, Scene, StoryAnalysis, Style
from storyframe.prompts import CAMERAS, SHOTS, look_text

Message = dict[str, str]

SYSTEM_JSON = (
    "You are a storyboard artist's assistant. You read stories closely and plan illustrations. "
    "Answer with one JSON object that matches the given schema exactly: no prose, no markdown, "
    "no code fences. Stay faithful to the story; where it is silent about how something looks, "
    "invent plausible, specific visual details that fit it."
)

SYSTEM_ENHANCE = (
    "You write prompts for a text-to-image model. Answer with the prompt only: one paragraph of "
    "plain text, no title, no quotes, no markdown, no preamble."
)


LOOK_TASK = (
    "a look to draw them the same in every picture: `look` (one line) and its parts `species` "
    "('fox'; '' for humans), `age`, `build`, `face`, `hair` (or fur), `clothes` (with colours), "
    "`colours`; from the story, else plausible; '' if nothing fits."
)
"""How the analysis asks for each character's look (shared with the planner's prompts)."""
FRAMING_TASK = (
    f"shot ({', '.join(SHOTS)}) and camera ({', '.join(CAMERAS)}): eye level unless the "
    "moment calls for another (up at a giant or tower: low angle; down from a height: high "
    "angle; two talking: over the shoulder); framing goes there, not in image_prompt"
)
"""How scenes are asked for their framing (shared with the planner's prompts)."""


def _story_block(story: str) -> str:
    return f"<story>\n{story.strip()}\n</story>"


def _cast(analysis: StoryAnalysis | None, names: list[str] | None = None) -> str:
    """The characters (all, or those named) with their looks, one per line."""
    if analysis is None or not analysis.characters:
        return ""
    wanted = {name.casefold() for name in names} if names is not None else None
    lines = []
    for character in analysis.characters:
        if wanted is not None and character.name.casefold() not in wanted:
            continue
        look = look_text(character) or "(look not described)"
        lines.append(f"- {character.name}: {look}")
    return "\n".join(lines)


def analysis_messages(story: str) -> list[Message]:
    """Ask for the story's characters (with reusable looks), places, themes and mood."""
    task = (
        "Analyse this story for an illustrated storyboard.\n"
        "- characters: everyone who appears on stage (people, animals, talking objects). For "
        f"each, {LOOK_TASK}\n"
        "- aliases: other names or epithets the story uses for that character.\n"
        "- places: the main settings as short visual phrases; themes: two to five; mood: a few "
        "words; complexity: 1-10; recommended_scenes: how many pictures tell the story well "
        "(3-12).\n\n"
        f"{_story_block(story)}"
    )
    return [{"role": "system", "content": SYSTEM_JSON}, {"role": "user", "content": task}]


def scenes_messages(
    story: str, n: int, style: Style, analysis: StoryAnalysis | None
) -> list[Message]:
    """Ask for exactly ``n`` scenes with concrete image prompts and consistent characters."""
    word = "scene" if n == 1 else "scenes"
    cast = _cast(analysis)
    cast_block = (
        "Characters and their fixed looks (use these names exactly; keep every character "
        f"looking the same in every scene):\n{cast}\n\n"
        if cast
        else "Give every recurring character one fixed look and keep it in every scene.\n\n"
    )
    style_line = f"'{style.name}'" + (f" ({style.description})" if style.description else "")
    task = (
        f"Split this story into exactly {n} {word} for an illustrated storyboard, in story "
        f'order, from beginning to end. Answer {{"scenes": [...]}} with exactly {n} items.\n'
        "For each scene:\n"
        "- title: at most eight words;\n"
        "- description: what happens, one to three sentences;\n"
        "- image_prompt: a concrete visual description of ONE moment, 40-90 words: who is "
        "where, doing what, with one or two defining visual traits of each character present, "
        "the setting, time of day and lighting. Describe only what can be seen: no art-style "
        "words (the style is added later), no dialogue, no text or captions in the picture;\n"
        f"- {FRAMING_TASK};\n"
        "- characters: the names of the characters in the picture;\n"
        "- place and time_of_day: short phrases ('' if unclear).\n"
        f"The pictures will be drawn in the {style_line} style; choose moments and compositions "
        "that suit it.\n\n"
        f"{cast_block}"
        f"{_story_block(story)}"
    )
    return [{"role": "system", "content": SYSTEM_JSON}, {"role": "user", "content": task}]


def repair_message(problem: str, *, n: int | None = None) -> Message:
    """The follow-up that tells the LLM what was wrong with its answer."""
    count = f" with exactly {n} scenes" if n is not None else ""
    return {
        "role": "user",
        "content": (
            f"That answer could not be used: {problem}. Reply again with only the corrected "
            f"JSON object{count}, matching the schema, and nothing else."
        ),
    }


def enhance_messages(
    scene: Scene, analysis: StoryAnalysis | None, style: Style, max_chars: int
) -> list[Message]:
    """Ask for a richer image prompt for one scene, in the story's context."""
    context = []
    if analysis is not None:
        if analysis.title:
            context.append(f"Story: {analysis.title}")
        if analysis.mood:
            context.append(f"Mood: {analysis.mood}")
    cast = _cast(analysis, scene.characters)
    if cast:
        context.append(f"Characters in this picture, with their fixed looks:\n{cast}")
    where = ", ".join(part for part in (scene.place, scene.time_of_day) if part)
    if where:
        context.append(f"Setting: {where}")
    framing = ", ".join(
        part for part in (f"{scene.shot} shot" if scene.shot else "", scene.camera) if part
    )
    if framing:
        context.append(f"Framing (added separately; do not repeat it): {framing}")
    context.append(f"Scene {scene.number}: {scene.title}. {scene.description}")
    context.append(f"Current image prompt: {scene.image_prompt}")
    style_note = f"'{style.name}'" + (f" ({style.description})" if style.description else "")
    task = (
        "\n".join(context)
        + "\n\nRewrite the current image prompt so an image model draws this exact moment "
        "vividly and consistently with the rest of the story: keep its content, name the "
        "characters with their defining visual traits, and make setting, lighting and framing "
        f"concrete. It will be drawn in the {style_note} style, which is added separately, so "
        f"do not name a style. At most {max_chars} characters."
    )
    return [{"role": "system", "content": SYSTEM_ENHANCE}, {"role": "user", "content": task}]


def image_messages(request: ImageRequest) -> list[Message]:
    """The single user turn that asks an image-capable chat model for one picture."""
    text = f"Generate an image: {request.prompt.strip()}"
    if request.negative_prompt:
        text += f"\nAvoid: {request.negative_prompt.strip()}"
    text += "\nNo text, captions or watermarks in the image."
    return [{"role": "user", "content": text}]
