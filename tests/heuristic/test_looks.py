"""The heuristic analysis' look fields and scene framing, on real tales and small texts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from storyframe.builtins.heuristic import HeuristicTextProvider
from storyframe.builtins.phrasing import camera_angle
from storyframe.models import Character, StoryAnalysis
from storyframe.prompts import CAMERAS, LOOK_FIELDS, SHOTS, compose_prompt, look_text
from storyframe.styles import BUILTIN_STYLES

Read = Callable[[str], str]
RED_CAP = "22-little-red-cap-little-red-riding-hood.txt"


async def analyse(text: str) -> StoryAnalysis:
    return await HeuristicTextProvider().analyze(text)


def named(analysis: StoryAnalysis, name: str) -> Character:
    character = analysis.character(name)
    assert character is not None, [c.name for c in analysis.characters]
    return character


async def test_little_red_cap(read_story: Read) -> None:
    analysis = await analyse(read_story(RED_CAP))
    wolf = named(analysis, "the wolf")
    assert wolf.species == "wolf"
    red_cap = named(analysis, "Little Red-Cap")
    assert red_cap.species == ""
    assert "cap" in red_cap.clothes and "red" in red_cap.clothes, red_cap
    assert "red" in red_cap.colours
    assert named(analysis, "the grandmother").species == ""
    assert "cap" in look_text(red_cap) and "Red-Cap" not in look_text(red_cap)


@pytest.mark.parametrize(
    ("story", "name", "field", "value"),
    [
        ("01-the-golden-bird.txt", "the fox", "species", "fox"),
        ("01-the-golden-bird.txt", "the horse", "colours", "golden"),
        ("05-old-sultan.txt", "Sultan", "species", "dog"),  # "a faithful dog called Sultan"
        ("16-rapunzel.txt", "Rapunzel", "hair", "magnificent long hair, fine as spun gold"),
        ("31-snowdrop.txt", "Snowdrop", "hair", "hair as black as ebony"),
        ("37-the-wolf-and-the-seven-little-kids.txt", "the goat", "age", "old"),
        ("51-the-water-of-life.txt", "the dwarf", "clothes", "new scarlet cloak, sugarloaf cap"),
    ],
)
async def test_looks_the_story_gives(
    read_story: Read, story: str, name: str, field: str, value: str
) -> None:
    assert getattr(named(await analyse(read_story(story)), name), field) == value


async def test_nothing_is_invented() -> None:
    text = (
        "There was once a baker who lived by the mill. The baker went to the mill every day.\n\n"
        "One day the baker met a fox by the road. The fox asked the baker for bread, and the "
        "baker gave the fox a loaf. The fox thanked the baker and ran into the wood."
    )
    analysis = await analyse(text)
    baker = named(analysis, "the baker")
    assert all(getattr(baker, f) == "" for f in LOOK_FIELDS), baker
    fox = named(analysis, "the fox")
    assert fox.species == "fox" and fox.age == fox.clothes == fox.hair == ""


async def test_clothes_go_to_the_one_who_wears_them() -> None:
    text = (
        "An old king had a young daughter called Mira. Mira wore a green silk dress and her "
        "golden crown; she was fair, and she sang.\n\nThe old king sat on his throne. The king "
        "called Mira to him. Mira came at once, and the king smiled at Mira."
    )
    analysis = await analyse(text)
    mira = named(analysis, "Mira")
    assert "green silk dress" in mira.clothes and "golden crown" in mira.clothes
    assert mira.age == "young" and set(mira.colours.split(", ")) == {"green", "golden"}
    king = named(analysis, "the king")
    assert king.clothes == "" and king.age == "old"


async def test_every_scene_has_a_shot_and_a_camera_said_once(read_story: Read) -> None:
    provider = HeuristicTextProvider()
    story = read_story(RED_CAP)
    analysis = await provider.analyze(story)
    scenes = await provider.generate_scenes(story, 8, BUILTIN_STYLES[0], analysis)
    for scene in scenes:
        assert scene.shot in SHOTS and scene.camera in CAMERAS
        prompt = compose_prompt(scene, BUILTIN_STYLES[0], analysis)
        assert prompt.count(f"{scene.shot} shot") == 1 and prompt.count(scene.camera) == 1
    wolf_scenes = [s for s in scenes if "the wolf" in s.characters]
    assert any("wolf" in compose_prompt(s, BUILTIN_STYLES[0], analysis) for s in wolf_scenes)


@pytest.mark.parametrize(
    ("action", "talk", "camera"),
    [
        ("The tailor looked up at the giant in the tree", False, "low angle"),
        ("The giant took the trunk on his shoulder", False, "low angle"),
        ("The prince looked down from the tower at the sea", False, "high angle"),
        ("The king's son leapt down from the tower", False, "high angle"),
        ("The cat speaks to the fox", True, "over the shoulder"),
        ("The queen sat down upon her throne", False, "eye level"),
    ],
)
def test_camera_angle_from_the_moment(action: str, talk: bool, camera: str) -> None:
    assert camera_angle(action, talk) == camera
