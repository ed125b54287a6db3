"""The planner's conversations: the whole story in one call, one chunk's beats, a batch of scenes.

Item blocks are plain tagged text (``<item ref="3">...</item>``) so that a model, or the test
look-alike, can tell the pieces apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storyframe.models import StoryAnalysis, Style
from storyframe_openrouter.prompts import (
    FRAMING_TASK,
    LOOK_TASK,
    SYSTEM_JSON,
    Message,
    _cast,
    _story_block,
)

PROMPT_VERSION = "1"
"""Part of the beat cache key: change it when the beat instructions change.

Still "1" after the look fields were added to the instructions: an answer cached before has
every field the new one has but the look parts, which read as '' (not known), so the paid
answers are kept rather than bought again."""

_ANALYSIS_TASK = (
    f"- characters: everyone who appears on stage. For each, {LOOK_TASK} aliases: other names "
    "the text uses.\n"
    "- places: the main settings as short visual phrases; themes: two to five; mood: a few "
    "words; complexity: 1-10.\n"
)

_SCENE_RULES = (
    "For each scene: title (at most eight words); description (what happens, one to three "
    "sentences); image_prompt (ONE moment, 40-90 words: who is where doing what, one or two "
    "defining visual traits of each character present, setting, time of day, lighting; only "
    "what can be seen: no art-style words, no dialogue or quotation marks, no text in the "
    f"picture); {FRAMING_TASK}; characters (names from the cast); place; time_of_day; anchor "
    "(the first 6 to 12 words of the passage the scene shows, copied exactly).\n"
)


def _style_line(style: Style) -> str:
    described = f" ({style.description})" if style.description else ""
    return (
        f"The pictures will be drawn in the '{style.name}'{described} style, which is added "
        "later; choose moments and compositions that suit it.\n"
    )


def story_messages(
    story: str, style: Style | None, n: int | None, scene_range: tuple[int, int]
) -> list[Message]:
    """Ask for the analysis and the scenes of a story that fits one call."""
    if n is None:
        low, high = scene_range
        count = (
            f"Choose how many scenes tell this story well, between {low} and {high}; set "
            "recommended_scenes to that number and write that many scenes"
        )
    else:
        count = (
            f"recommended_scenes: how many pictures would tell it well. Write exactly {n} scenes"
        )
    task = (
        "Analyse this story for an illustrated storyboard, then split it into scenes.\n"
        f"{_ANALYSIS_TASK}"
        f"- {count}, in story order from beginning to end, spread over the whole story.\n"
        f"{_SCENE_RULES}"
        f"{_style_line(style) if style is not None else ''}\n"
        f"{_story_block(story)}"
    )
    return [{"role": "system", "content": SYSTEM_JSON}, {"role": "user", "content": task}]


def beats_messages(chunk: str, part: int, parts: int, beats: int) -> list[Message]:
    """Ask for the beats of one chunk, with what the chunk shows of cast, places and mood."""
    task = (
        f"This is part {part} of {parts} of a long story. Summarise it as story beats for "
        f"planning illustrations: up to {beats} beats, one per distinct event (fewer where "
        "little happens), in order. For each beat: anchor (the first 6 to 12 words of the "
        "passage where it happens, copied exactly), who, where, what (one sentence), "
        "importance (1 passing detail ... 5 a turning point or climax).\n"
        "Also for this part:\n"
        f"{_ANALYSIS_TASK}"
        "- title: the story's title if this part shows it, else ''; recommended_scenes: how "
        "many pictures this part deserves.\n\n"
        f"{_story_block(chunk)}"
    )
    return [{"role": "system", "content": SYSTEM_JSON}, {"role": "user", "content": task}]


@dataclass(frozen=True)
class Item:
    """One scene to write: its number, its source passage and the beat it shows (if any)."""

    ref: int
    passage: str
    beat: str = ""
    repair: str = ""


def batch_messages(
    items: Sequence[Item],
    analysis: StoryAnalysis | None,
    names: Sequence[str] | None,
    context: Sequence[str],
    style: Style,
) -> list[Message]:
    """Ask for one scene per item, each from its passage, with the cast and nearby beats."""
    count = len(items)
    cast = _cast(analysis, list(names) if names is not None else None)
    blocks = []
    for item in items:
        beat = f"Beat: {item.beat}\n" if item.beat else ""
        repair = (
            f"An earlier answer for this item could not be used: {item.repair}. Fix that.\n"
            if item.repair
            else ""
        )
        blocks.append(
            f'<item ref="{item.ref}">\n{beat}{repair}<passage>\n{item.passage}\n</passage>\n</item>'
        )
    nearby = "".join(f"- {line}\n" for line in context)
    task = (
        f"Write exactly {count} storyboard {'scene' if count == 1 else 'scenes'}, one per item "
        "below, each showing a moment of its item's passage; set ref to the item's number.\n"
        f"{_SCENE_RULES}"
        f"{_style_line(style)}"
        + (
            f"\nCharacters and their fixed looks (use these names exactly):\n{cast}\n"
            if cast
            else ""
        )
        + (f"\nWhat happens around these items, for continuity:\n{nearby}" if nearby else "")
        + "\n"
        + "\n".join(blocks)
    )
    return [{"role": "system", "content": SYSTEM_JSON}, {"role": "user", "content": task}]
