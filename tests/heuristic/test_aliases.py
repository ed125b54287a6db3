"""A descriptive name ("the fox") joins the named character the story ties it to, and only then."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyframe.builtins.aliases import combine_looks
from storyframe.builtins.heuristic import HeuristicTextProvider
from storyframe.models import StoryAnalysis, Style

LANTERN = Path(__file__).resolve().parents[1] / "characters" / "lantern.txt"


def names(analysis: StoryAnalysis) -> list[str]:
    return [c.name for c in analysis.characters]


async def test_lantern_fox_and_boy_are_mara_and_tobin(
    provider: HeuristicTextProvider, style: Style
) -> None:
    story = LANTERN.read_text(encoding="utf-8")
    analysis = await provider.analyze(story)
    assert names(analysis) == ["Mara", "Tobin", "Old Wen"]
    mara, tobin = analysis.characters[0], analysis.characters[1]
    assert mara.aliases == ["the fox"] and tobin.aliases == ["the boy"]
    # "Mara" 12 times, "a small red fox" and "stroked the fox"; "Tobin" 11, "a boy", "the boy"
    assert (mara.mentions, tobin.mentions) == (14, 13)
    assert (mara.species, mara.build, mara.colours) == ("fox", "small", "red")
    assert mara.look == "small red fox with a white-tipped tail"  # the fox's look said once
    assert tobin.clothes == "blue coat"

    scenes = await provider.generate_scenes(story, 8, style, analysis)
    for scene in scenes:
        assert len(set(scene.characters)) == len(scene.characters)
        assert set(scene.characters) <= {"Mara", "Tobin", "Old Wen"}
    # "While the boy was gone, Mara lay across the feet of Old Wen ... stroked the fox"
    assert scenes[6].characters == ["Mara", "Old Wen"]


async def test_a_noun_two_named_characters_share_stays_its_own(
    provider: HeuristicTextProvider,
) -> None:
    story = (
        "Mara was a small red fox. Rusk was a big grey fox with a torn ear. "
        "Mara and Rusk lived in the wood. Mara ran to the river, and Rusk followed Mara. "
        "Then the fox stopped. Rusk laughed at the fox, and Mara hid."
    )
    analysis = await provider.analyze(story)
    assert {"Mara", "Rusk", "the fox"} <= set(names(analysis))
    assert all(not c.aliases or c.name == "the fox" for c in analysis.characters)


async def test_no_link_in_the_text_no_merge(provider: HeuristicTextProvider) -> None:
    story = (
        "Mara lived at the edge of the wood. One day a fox came out of the trees. "
        "Mara watched the fox, and the fox watched Mara. Mara went home at dusk."
    )
    analysis = await provider.analyze(story)
    assert names(analysis) == ["Mara", "the fox"]
    assert analysis.characters[0].aliases == []


async def test_a_title_in_a_name_is_no_link(provider: HeuristicTextProvider) -> None:
    story = (
        "King Arthur rode to the castle. The king who lived there was old and grey. "
        "The king bowed to King Arthur, and King Arthur smiled at the king."
    )
    analysis = await provider.analyze(story)
    assert {"King Arthur", "the king"} <= set(names(analysis))


@pytest.mark.parametrize(
    ("story", "name", "alias"),
    [
        (
            "Reynard the fox lived under a hill. Every night Reynard stole a hen, "
            "and in the morning the fox slept in the sun.",
            "Reynard",
            "the fox",
        ),
        (
            "There was once a cook named Gretel, who wore red shoes. Gretel roasted two fowls, "
            "and when they were done the cook tasted them.",
            "Gretel",
            "the cook",
        ),
    ],
)
async def test_epithets_and_called_names_link(
    provider: HeuristicTextProvider, story: str, name: str, alias: str
) -> None:
    analysis = await provider.analyze(story)
    assert names(analysis) == [name]
    assert analysis.characters[0].aliases == [alias]


async def test_giving_someone_a_noun_is_no_epithet(provider: HeuristicTextProvider) -> None:
    story = (
        "Hans walked to the market. The farmer gave Hans the goose, and Hans thanked him. "
        "The goose hissed, and then Hans laughed and the goose ran away."
    )
    analysis = await provider.analyze(story)
    assert "the goose" in names(analysis)
    assert analysis.character("Hans").aliases == []  # type: ignore[union-attr]


async def test_a_noun_used_before_the_name_is_someone_else(
    provider: HeuristicTextProvider,
) -> None:
    story = (
        "The boy ran through the village every morning. The boy was loud and quick. "
        "One day Tobin, a boy of ten, came to live at the mill. Tobin was quiet."
    )
    analysis = await provider.analyze(story)
    assert {"Tobin", "the boy"} <= set(names(analysis))


async def test_a_noun_mostly_far_from_the_name_is_someone_else(
    provider: HeuristicTextProvider,
) -> None:
    far = " ".join(f"The rain fell on field {i} and on the road." for i in range(6))
    story = (
        f"Brooke was a grave young man. Every day Brooke read his book. {far} "
        f"The young man at the inn laughed. {far} The young man at the inn sang. {far} "
        "The young man at the inn slept."
    )
    analysis = await provider.analyze(story)
    assert "the young man" in names(analysis)
    assert analysis.character("Brooke").aliases == []  # type: ignore[union-attr]


def test_looks_are_combined_without_repeats() -> None:
    assert combine_looks("small red fox with a white tail", "small red fox") == (
        "small red fox with a white tail"
    )
    assert combine_looks("fox", "small red fox") == "small red fox"
    assert combine_looks("boy of ten", "ragged boy") == "boy of ten; ragged boy"
    assert combine_looks("", "grey wolf") == "grey wolf"
