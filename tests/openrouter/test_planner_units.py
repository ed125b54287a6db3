"""The planner's pure parts: token estimate, chunking, beat choice, semantic checks."""

from __future__ import annotations

import itertools

from storyframe.models import Character, StoryAnalysis, Style
from storyframe_openrouter.beats import Beat, choose, merge_analysis
from storyframe_openrouter.budget import estimate_tokens, split_story
from storyframe_openrouter.planner import even_pick, gaps
from storyframe_openrouter.schema import BeatsAnswer, CharacterAnswer, SceneAnswer
from storyframe_openrouter.validate import (
    cap_scene,
    locate,
    near_duplicates,
    scene_problems,
)

STYLE = Style(name="watercolor-soft")


def test_estimate_counts_ascii_by_four_and_other_letters_one_each() -> None:
    assert estimate_tokens("abcd" * 100) == 100
    assert estimate_tokens("\u00e9\u00e9\u00e9") == 3
    assert estimate_tokens("") == 0


def test_chunks_cover_the_story_and_end_at_chapters() -> None:
    chapter = "CHAPTER {n}\nTHE TITLE\n" + "Jo ran to the attic and wrote all day long.\n" * 40
    story = "".join(chapter.format(n=n) for n in range(1, 7))
    chunks = split_story(story, estimate_tokens(chapter) * 2)
    assert "".join(c.text for c in chunks) == story
    assert all(c.text == story[c.start : c.end] for c in chunks)
    assert len(chunks) == 3 and all(c.text.startswith("CHAPTER") for c in chunks)
    assert all(estimate_tokens(c.text) <= estimate_tokens(chapter) * 2 for c in chunks)


def test_a_chapter_too_big_is_cut_at_lines_then_sentences() -> None:
    story = "One sentence here. " * 400
    chunks = split_story(story, 100)
    assert "".join(c.text for c in chunks) == story
    assert all(estimate_tokens(c.text) <= 100 for c in chunks)
    assert all(c.text.startswith("One") for c in chunks)


def _beat(i: int, importance: int = 2) -> Beat:
    return Beat(i * 10, i * 10 + 10, f"event {i}", (), "", importance)


def test_choose_keeps_opening_ending_and_climax_and_spreads_by_beats() -> None:
    beats = [_beat(i) for i in range(100)]
    beats[83] = _beat(83, 5)
    beats[20] = _beat(20, 4)
    picks = choose(beats, 10)
    assert len(picks) == 10 and picks == sorted(picks)
    assert picks[0] == 0 and picks[-1] == 99 and 83 in picks and 20 in picks
    gaps_between = [b - a for a, b in itertools.pairwise(picks)]
    assert max(gaps_between) <= 20


def test_choose_takes_every_beat_when_there_are_too_few() -> None:
    assert choose([_beat(i) for i in range(3)], 5) == [0, 1, 2]


def test_even_pick_and_gaps() -> None:
    assert even_pick(10, 4) == [0, 3, 6, 9]
    assert gaps([(0, 50)], 2, 100) == [(50, 100), (75, 100)]


def test_cast_merges_by_name_and_alias() -> None:
    part = BeatsAnswer(
        characters=[CharacterAnswer(name="Jo", look="tall, chestnut hair", aliases=["Josephine"])],
        beats=[],
        themes=["Family"],
        recommended_scenes=3,
    )
    other = BeatsAnswer(
        characters=[
            CharacterAnswer(name="Josephine March", aliases=["Jo"]),
            CharacterAnswer(name="Beth", look="shy"),
        ],
        beats=[],
        themes=["family", "work"],
        recommended_scenes=4,
    )
    analysis = merge_analysis([part, other], (10, 2, 1))
    assert [c.name for c in analysis.characters] == ["Jo", "Beth"]
    assert analysis.characters[0].look == "tall, chestnut hair"
    assert "Josephine March" in analysis.characters[0].aliases
    assert analysis.themes[0] == "family" and analysis.recommended_scenes == 7


def _scene(prompt: str, characters: list[str] | None = None) -> SceneAnswer:
    return SceneAnswer(title="t", description="d", image_prompt=prompt, characters=characters or [])


def test_scene_problems_name_style_words_dialogue_and_strangers() -> None:
    cast = StoryAnalysis(characters=[Character(name="Jo", aliases=["Josephine"])])
    clean = _scene("Jo writes in a cold attic by a window, grey light, medium shot", ["Josephine"])
    assert scene_problems(clean, analysis=cast, style=STYLE) == []
    styled = _scene("Jo in the attic, watercolor, soft wash")
    assert "art style (watercolor)" in scene_problems(styled, analysis=cast, style=STYLE)[0]
    own = _scene("Jo in the attic, watercolor soft palette")
    assert "watercolor soft" in scene_problems(own, analysis=cast, style=STYLE)[0]
    talk = _scene('Jo says "I will write a great book" in the attic')
    assert "dialogue" in scene_problems(talk, analysis=cast, style=STYLE)[0]
    stranger = _scene("Ned and Jo dance", ["Ned", "Jo"])
    assert "Ned are not in the cast" in scene_problems(stranger, analysis=cast, style=STYLE)[0]


def test_near_duplicates_catch_small_rewordings_only() -> None:
    base = "Jo and Laurie skate on the frozen river at dusk, long shot, blue light"
    prompts = [
        base,
        base.replace("dusk", "sunset"),
        "Beth plays the old piano in the quiet parlour, candle glow, close-up",
    ]
    assert near_duplicates(prompts) == {1: 0}


def test_cap_trims_long_fields() -> None:
    capped = cap_scene(_scene("word " * 400, [f"C{i}" for i in range(12)]))
    assert len(capped.image_prompt) <= 1000 and len(capped.characters) == 8


def test_locate_tolerates_spacing_case_and_punctuation() -> None:
    story = "Prologue.\n\n\u201cChristmas won't be Christmas without presents,\u201d grumbled Jo."
    assert locate(story, "Christmas won't be") == story.index("Christmas")
    assert locate(story, "christmas wont be merry") is None  # a paraphrase is not a quote
    assert locate(story, "CHRISTMAS WON'T BE\nCHRISTMAS") == story.index("Christmas")
    assert locate(story, "grumbled Jo", 0, 20) is None
    assert locate(story, "") is None
