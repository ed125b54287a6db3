"""The built-in ``heuristic`` text provider, on real stories and on small inline texts."""

# Non-English sample texts and CJK punctuation are deliberate.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from storyframe.builtins.heuristic import HeuristicTextProvider
from storyframe.builtins.textsplit import prepare, segments
from storyframe.errors import InputError
from storyframe.models import Character, Scene, StoryAnalysis, Style

ReadStory = Callable[[str], str]
GOLDEN_BIRD = "01-the-golden-bird.txt"
HANSEL = "19-hansel-and-gretel.txt"
RED_CAP = "22-little-red-cap-little-red-riding-hood.txt"
SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’»)\]」』]*$")


def body_text(story: str) -> str:
    """The story's sentences (headings left out), whitespace-normalised, in order."""
    return " ".join(u.text for u in prepare(story).units if not u.heading)


def sentence(i: int, words: int = 12) -> str:
    """A sentence of a fixed length (for i < 100), different for each i."""
    return "Sentence " + " ".join(f"w{i:02d}x{k:02d}" for k in range(words)) + "."


# Scene counts and boundaries ---------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 5, 8, 12])
async def test_exactly_n_scenes_numbered_from_one(
    provider: HeuristicTextProvider, style: Style, read_story: ReadStory, n: int
) -> None:
    scenes = await provider.generate_scenes(read_story(GOLDEN_BIRD), n, style)
    assert [s.number for s in scenes] == list(range(1, n + 1))
    assert all(s.title and s.image_prompt and s.description for s in scenes)


async def test_fewer_scenes_when_the_story_is_short(
    provider: HeuristicTextProvider, style: Style
) -> None:
    story = "A fox found a bell in the snow. He rang it once. Nobody came, so he went home."
    scenes = await provider.generate_scenes(story, 10, style)
    assert [s.description for s in scenes] == [
        "A fox found a bell in the snow.",
        "He rang it once.",
        "Nobody came, so he went home.",
    ]


@pytest.mark.parametrize("name", [GOLDEN_BIRD, HANSEL, RED_CAP])
async def test_scenes_cover_the_story_in_order_and_end_at_sentence_ends(
    untrimmed: HeuristicTextProvider, style: Style, read_story: ReadStory, name: str
) -> None:
    story = read_story(name)
    scenes = await untrimmed.generate_scenes(story, 8, style)
    assert " ".join(s.description for s in scenes) == body_text(story)
    assert all(SENTENCE_END.search(s.description) for s in scenes)


@pytest.mark.parametrize("name", [GOLDEN_BIRD, HANSEL])
async def test_scene_lengths_are_balanced(
    untrimmed: HeuristicTextProvider, style: Style, read_story: ReadStory, name: str
) -> None:
    scenes = await untrimmed.generate_scenes(read_story(name), 8, style)
    lengths = [len(s.description) for s in scenes]
    assert max(lengths) / min(lengths) <= 3


async def test_a_time_cue_near_a_cut_point_starts_a_scene(
    untrimmed: HeuristicTextProvider, style: Style
) -> None:
    plain = [sentence(i) for i in range(20)]
    cued = [*plain[:11], "The next morning " + plain[11], *plain[12:]]
    without = await untrimmed.generate_scenes(" ".join(plain), 2, style)
    with_cue = await untrimmed.generate_scenes(" ".join(cued), 2, style)
    assert without[1].description.startswith(plain[10])  # the equal-length cut
    assert with_cue[1].description.startswith("The next morning")


async def test_a_paragraph_break_is_preferred_to_a_mid_paragraph_cut(
    untrimmed: HeuristicTextProvider, style: Style
) -> None:
    plain = [sentence(i) for i in range(20)]
    story = " ".join(plain[:9]) + "\n\n" + " ".join(plain[9:])
    scenes = await untrimmed.generate_scenes(story, 2, style)
    assert scenes[1].description.startswith(plain[9])


async def test_novel_into_fifty_scenes_starts_scenes_at_chapters(
    provider: HeuristicTextProvider, style: Style, read_story: ReadStory
) -> None:
    story = read_story("novel-connecticut-yankee.txt")
    scenes = await provider.generate_scenes(story, 50, style)
    assert len(scenes) == 50
    doc = prepare(story)
    assert sum(u.text.startswith("CHAPTER") for u in doc.units if u.heading) > 40
    # Chapters are the strongest cue: a scene opens with one whenever one is close by.
    opening = [u.text for u in doc.units if u.heading]
    assert sum(s.description.startswith(tuple(opening)) for s in scenes) == 0  # headings skipped
    starts = {start for start, _ in segments(doc.units, 50)}
    assert sum(doc.units[i].heading for i in starts) >= 20


# Analysis ----------------------------------------------------------------------------------


async def test_analysis_of_the_golden_bird(
    provider: HeuristicTextProvider, read_story: ReadStory
) -> None:
    analysis = await provider.analyze(read_story(GOLDEN_BIRD))
    assert analysis.title == "The Golden Bird"
    assert analysis.word_count > 2000 and analysis.sentence_count > 50
    assert analysis.paragraph_count == 19
    for wanted in ("fox", "king", "princess"):
        character = analysis.character(wanted)
        assert character is not None and character.mentions >= 5, wanted
    assert analysis.character("fox") is analysis.characters[0]
    assert analysis.character("princess").look == "beautiful princess"  # type: ignore[union-attr]
    assert {"the castle", "the wood"} <= set(analysis.places)
    assert "golden" in analysis.themes and "the" not in analysis.themes
    assert analysis.mood and 1 <= analysis.complexity <= 10
    assert 4 <= analysis.recommended_scenes <= 12


async def test_analysis_finds_named_characters_with_looks(
    provider: HeuristicTextProvider, read_story: ReadStory
) -> None:
    analysis = await provider.analyze(read_story(HANSEL))
    names = [c.name for c in analysis.characters]
    assert names[:2] == ["Hansel", "Gretel"]
    assert analysis.character("Hansel").look == "boy"  # type: ignore[union-attr]
    assert "the forest" in analysis.places


async def test_analysis_merges_name_forms_into_aliases(
    provider: HeuristicTextProvider, read_story: ReadStory
) -> None:
    analysis = await provider.analyze(read_story(RED_CAP))
    red_cap = analysis.character("Red-Cap")
    assert red_cap is not None and red_cap.name == "Little Red-Cap"
    assert red_cap.aliases == ["Red-Cap"] and red_cap.mentions > 20


async def test_looks_come_from_descriptions_near_first_mentions(
    provider: HeuristicTextProvider,
) -> None:
    story = (
        "At the edge of the wood lived a little old woman with a crooked stick. "
        "Every day the old woman walked to the well. "
        "In the village lived a ferryman named Tobias Reed. "
        "He was a tall, stooped old man with a white beard, and he never smiled. "
        "Tobias rowed the old woman across the river, and Tobias sang."
    )
    analysis = await provider.analyze(story)
    assert analysis.character("old woman").look == "little old woman with a crooked stick"  # type: ignore[union-attr]
    tobias = analysis.character("Tobias")
    assert tobias is not None and tobias.name == "Tobias Reed" and tobias.aliases == ["Tobias"]
    assert tobias.look == "ferryman; tall, stooped old man with a white beard"


async def test_proper_place_names_are_places_not_characters(
    provider: HeuristicTextProvider,
) -> None:
    story = (
        "Anna lived in Hollow Ford. Anna went to Hollow Ford market every day. "
        "At Hollow Ford the river was wide. Anna loved Hollow Ford, said Anna."
    )
    analysis = await provider.analyze(story)
    assert "Hollow Ford" in analysis.places
    assert [c.name for c in analysis.characters] == ["Anna"]


async def test_recommended_scenes_scale_with_length(
    provider: HeuristicTextProvider, read_story: ReadStory
) -> None:
    short = await provider.analyze("The cat sat. The dog ran. The sun set.")
    tale = await provider.analyze(read_story(GOLDEN_BIRD))
    assert short.recommended_scenes <= 3 < tale.recommended_scenes <= 12
    assert short.complexity <= tale.complexity


# Scene contents ----------------------------------------------------------------------------


async def test_scene_fields_are_concrete(provider: HeuristicTextProvider, style: Style) -> None:
    story = (
        "The fox lived in the forest with his friend the owl. The fox was hungry.\n\n"
        "That night the fox crept to the castle. The king was asleep, and the fox stole "
        "a golden apple from the king's table. The owl watched from the tower.\n\n"
        "The next morning the king ran into the garden and shouted at his guards."
    )
    scenes = await provider.generate_scenes(story, 3, style)
    night = scenes[1]
    assert night.place == "the castle" and night.time_of_day == "night"
    assert night.characters[:2] == ["the fox", "the king"]
    assert night.title == "The fox steals a golden apple"  # the event, not who and where
    assert "the fox" in night.image_prompt.lower() and "castle" in night.image_prompt
    assert scenes[2].time_of_day == "morning" and scenes[2].place == "the garden"
    assert scenes[0].place == "the forest"


async def test_titles_are_short_unique_and_not_the_first_sentence(
    provider: HeuristicTextProvider, style: Style, read_story: ReadStory
) -> None:
    scenes = await provider.generate_scenes(read_story(GOLDEN_BIRD), 10, style)
    titles = [s.title for s in scenes]
    assert len(set(titles)) == len(titles)
    assert all(
        len(t) <= 60 and not s.description.startswith(t)
        for t, s in zip(titles, scenes, strict=True)
    )
    assert any("Fox" in t for t in titles)


@pytest.mark.parametrize("name", [GOLDEN_BIRD, HANSEL, RED_CAP])
async def test_prompts_are_visual_bounded_and_not_the_first_sentence(
    provider: HeuristicTextProvider, style: Style, read_story: ReadStory, name: str
) -> None:
    scenes = await provider.generate_scenes(read_story(name), 6, style)
    for scene in scenes:
        first = prepare(scene.description).units[0].text
        assert scene.image_prompt != first and not scene.image_prompt.startswith(first)
        assert 20 <= len(scene.image_prompt) <= 400
        assert style.prompt_suffix not in scene.image_prompt
        assert "'" not in scene.image_prompt[:1] and "\n" not in scene.image_prompt
        assert scene.characters and scene.characters[0].lower() in scene.image_prompt.lower()


async def test_descriptions_are_trimmed_at_a_sentence_end(
    provider: HeuristicTextProvider, style: Style, read_story: ReadStory
) -> None:
    scenes = await provider.generate_scenes(read_story(HANSEL), 4, style)
    for scene in scenes:
        assert len(scene.description) <= 602
        assert scene.description.endswith(" …")
        assert SENTENCE_END.search(scene.description[:-2])


async def test_characters_given_by_another_analysis_are_found(
    provider: HeuristicTextProvider, style: Style
) -> None:
    story = "Tobias rowed across the river. The boat rocked. Wren held the lantern high."
    analysis = StoryAnalysis(
        characters=[Character(name="Tobias Reed", aliases=["Tobias"]), Character(name="Wren")],
        places=["the Hollow River"],
    )
    scenes = await provider.generate_scenes(story, 3, style, analysis)
    assert [s.characters for s in scenes] == [["Tobias Reed"], [], ["Wren"]]
    assert scenes[0].place == "the river"


async def test_enhance_prompt_keeps_the_prompt(
    provider: HeuristicTextProvider, style: Style
) -> None:
    scene = Scene(number=1, title="T", description="D", image_prompt="A fox in the snow")
    assert await provider.enhance_prompt(scene, None, style) == "A fox in the snow"


# Input handling ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "story", ["", "   \n\t\n", "*** START OF THE PROJECT GUTENBERG EBOOK X ***\n"]
)
async def test_empty_input_is_an_input_error(
    provider: HeuristicTextProvider, style: Style, story: str
) -> None:
    with pytest.raises(InputError):
        await provider.analyze(story)
    with pytest.raises(InputError):
        await provider.generate_scenes(story, 3, style)


async def test_zero_scenes_is_an_input_error(provider: HeuristicTextProvider, style: Style) -> None:
    with pytest.raises(InputError):
        await provider.generate_scenes("A story. It ends.", 0, style)


async def test_gutenberg_boilerplate_is_ignored(
    untrimmed: HeuristicTextProvider, style: Style, read_story: ReadStory
) -> None:
    tale = read_story(GOLDEN_BIRD)
    wrapped = (
        "The Project Gutenberg EBook of Grimms' Fairy Tales\n\nTitle: Grimms' Fairy Tales\n\n"
        "*** START OF THIS PROJECT GUTENBERG EBOOK GRIMMS' FAIRY TALES ***\n\n"
        "Produced by Emma Dudding, John Bickers, and Dagny\n\n"
        f"{tale}\n\nEnd of Project Gutenberg's Grimms' Fairy Tales\n\n"
        "*** END OF THIS PROJECT GUTENBERG EBOOK GRIMMS' FAIRY TALES ***\n\n"
        "Updated editions will replace the previous one. Project Gutenberg-tm license...\n"
    )
    plain = await untrimmed.generate_scenes(tale, 6, style)
    scenes = await untrimmed.generate_scenes(wrapped, 6, style)
    assert [s.description for s in scenes] == [s.description for s in plain]
    assert (await untrimmed.analyze(wrapped)).title == "Grimms' Fairy Tales"


async def test_bom_and_windows_line_endings_change_nothing(
    provider: HeuristicTextProvider, style: Style, read_story: ReadStory
) -> None:
    tale = read_story(RED_CAP)
    windows = "\ufeff" + tale.replace("\n", "\r\n")
    assert await provider.analyze(windows) == await provider.analyze(tale)
    assert await provider.generate_scenes(windows, 5, style) == await provider.generate_scenes(
        tale, 5, style
    )


async def test_markdown_is_stripped(untrimmed: HeuristicTextProvider, style: Style) -> None:
    story = (
        "# The *Brave* Fox\n\n"
        "The **fox** lived in the [forest](https://example.org/forest). He was _very_ clever.\n\n"
        "## Part two\n\n"
        "> One day the fox met a `wolf`.\n"
        "- The wolf ran away.\n"
    )
    analysis = await untrimmed.analyze(story)
    assert analysis.title == "The Brave Fox"
    scenes = await untrimmed.generate_scenes(story, 2, style)
    text = " ".join(s.description for s in scenes)
    assert text == (
        "The fox lived in the forest. He was very clever. One day the fox met a wolf. "
        "The wolf ran away."
    )
    assert scenes[1].description.startswith("One day")  # the section heading starts a scene


async def test_dialogue_only_text(provider: HeuristicTextProvider, style: Style) -> None:
    story = "\n".join(
        [
            '"Where are you going?" asked Tom.',
            '"To the market," said Anna.',
            '"May I come?"',
            '"Of course you may."',
            '"What will we buy?" asked Tom.',
            '"Apples and bread," said Anna.',
        ]
    )
    analysis = await provider.analyze(story)
    assert [c.name for c in analysis.characters] == ["Tom", "Anna"]
    scenes = await provider.generate_scenes(story, 3, style)
    assert len(scenes) == 3
    assert all('"' not in s.image_prompt for s in scenes)


@pytest.mark.parametrize(
    ("story", "sentences"),
    [
        (
            "从前有一个小村庄。村里住着一位老渔夫。有一天，他捉到了一条金鱼！金鱼说：“请放了我吧。”妻子很生气？",
            5,
        ),
        (
            "昔々、ある村におじいさんが住んでいました。おじいさんは山へ行きました。大きな桃が流れてきました！",
            3,
        ),
        (
            "Жил-был старик. Он ловил рыбу! Однажды пришёл невод с рыбкой. "
            "«Отпусти меня», сказала рыбка.",
            4,
        ),
        ("¿Dónde está el rey? ¡Nadie lo sabe! El rey salió del castillo. La reina lo buscó.", 4),
    ],
)
async def test_non_english_text_splits_on_its_sentence_ends(
    untrimmed: HeuristicTextProvider, style: Style, story: str, sentences: int
) -> None:
    analysis = await untrimmed.analyze(story)
    assert analysis.sentence_count == sentences
    scenes = await untrimmed.generate_scenes(story, 2, style)
    assert len(scenes) == 2
    assert all(SENTENCE_END.search(s.description) for s in scenes)
    assert "".join(s.description for s in scenes).replace(" ", "") == story.replace(" ", "")


async def test_text_without_punctuation_splits_on_lines_then_length(
    untrimmed: HeuristicTextProvider, style: Style
) -> None:
    lines = ["the old man walked to the river", "the river was cold", "a boat came out of the fog"]
    scenes = await untrimmed.generate_scenes("\n".join(lines), 5, style)
    assert [s.description for s in scenes] == lines
    one_line = " ".join(f"word{i}" for i in range(3000))
    scenes = await untrimmed.generate_scenes(one_line, 6, style)
    assert len(scenes) == 6 and " ".join(s.description for s in scenes) == one_line


async def test_very_long_paragraph_is_split_on_sentences(
    untrimmed: HeuristicTextProvider, style: Style
) -> None:
    story = " ".join(sentence(i) for i in range(300))  # one paragraph, no line breaks
    scenes = await untrimmed.generate_scenes(story, 7, style)
    assert len(scenes) == 7
    assert all(s.description.startswith("Sentence ") for s in scenes)


async def test_same_input_same_output(style: Style, read_story: ReadStory) -> None:
    story = read_story(HANSEL)
    first, second = HeuristicTextProvider(), HeuristicTextProvider()
    assert await first.analyze(story) == await second.analyze(story)
    a = await first.generate_scenes(story, 7, style)
    b = await second.generate_scenes(story, 7, style)
    assert [s.model_dump() for s in a] == [s.model_dump() for s in b]


async def test_returned_analysis_is_a_copy(provider: HeuristicTextProvider) -> None:
    analysis = await provider.analyze("The fox ran. The fox hid.")
    analysis.title = "changed"
    assert (await provider.analyze("The fox ran. The fox hid.")).title == ""
