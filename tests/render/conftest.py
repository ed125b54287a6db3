"""A sample project for the HTML tests: placeholder images; done, failed and pending scenes."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from storyframe.builtins.placeholder import PlaceholderImageProvider
from storyframe.models import (
    Character,
    GeneratedImage,
    ImageFile,
    ImageRequest,
    RunSettings,
    Scene,
    SceneRecord,
    StoryAnalysis,
    Storyboard,
    StoryInfo,
    Usage,
)
from storyframe.styles import BUILTIN_STYLES

EVIL = "<script>alert(1)</script>"

SCENES = [
    (
        "The keeper's last night",
        "Mara climbs the spiral stairs of the lighthouse as the storm gathers over the bay.",
        "a lighthouse keeper climbing spiral stairs at dusk, storm clouds, lantern light",
        ["Mara"],
    ),
    (
        "A light on the water",
        "Far out, a small boat fights the waves; Tom signals with a lantern.",
        "a small fishing boat in heavy seas at night, a lantern signal, spray",
        ["Tom"],
    ),
    (
        EVIL,
        'An evil title <b>bold</b> & "quotes" that must be escaped.',
        f"prompt with {EVIL} and <img src=x onerror=alert(2)>",
        ["Mara", "Tom"],
    ),
    (
        "The rope",
        "Mara throws a rope from the rocks; the boat swings towards the harbour.",
        "a woman on wet rocks throwing a rope to a boat, crashing waves, dawn light",
        ["Mara", "Tom"],
    ),
    (
        "Morning",
        "The storm is gone. Two figures walk up the hill to the lighthouse.",
        "two figures walking up a green hill to a white lighthouse, calm morning sea",
        ["Mara", "Tom"],
    ),
]

# scene number -> what happened to it
OUTCOMES = {1: "done", 2: "done", 3: "failed", 4: "done", 5: "pending"}
FAILED_ERROR = "runware: content rejected (NSFW filter) <b>not bold</b>"


def build_project(root: Path, *, style_name: str = "cinematic", size: int = 480) -> Storyboard:
    """Draw placeholder images into ``root/images`` and return the matching storyboard."""
    style = next(s for s in BUILTIN_STYLES if s.name == style_name)
    width, height = size, round(size * style.height / style.width)
    (root / "images").mkdir(parents=True, exist_ok=True)
    analysis = StoryAnalysis(
        title="The Keeper of Gull Rock",
        characters=[
            Character(name="Mara", look="tall woman in her forties, grey wool coat, red scarf"),
            Character(name="Tom", look="wiry young fisherman, yellow oilskins, black beard"),
        ],
        places=["Gull Rock lighthouse", "the harbour"],
        themes=["duty", "storm", "rescue"],
        mood="tense, then hopeful",
    )
    records = []
    requests = []
    for number, (title, description, prompt, cast) in enumerate(SCENES, start=1):
        scene = Scene(
            number=number,
            title=title,
            description=description,
            image_prompt=prompt,
            characters=cast,
            place="Gull Rock",
            time_of_day="night" if number < 5 else "morning",
        )
        composed = f"{prompt}, {style.prompt_suffix}"
        record = SceneRecord(scene=scene, prompt=composed, negative_prompt=style.negative_prompt)
        records.append(record)
        if OUTCOMES[number] == "done":
            requests.append(
                ImageRequest(
                    scene_number=number,
                    title=title,
                    prompt=composed,
                    width=width,
                    height=height,
                    seed=1000 + number,
                    style=style,
                )
            )
    images = asyncio.run(PlaceholderImageProvider().generate_many(requests))
    for image in images:
        assert isinstance(image, GeneratedImage) and image.data is not None
        record = records[image.scene_number - 1]
        path = f"images/scene-{image.scene_number:02d}.png"
        (root / path).write_bytes(image.data)
        record.status = "done"
        record.provider, record.model = image.provider, image.model
        record.seed, record.cost, record.seconds = image.seed, 0.0, 0.04
        record.image = ImageFile(
            path=path,
            sha256=hashlib.sha256(image.data).hexdigest(),
            media_type="image/png",
            width=width,
            height=height,
            bytes=len(image.data),
        )
    failed = records[2]
    failed.status, failed.error = "failed", FAILED_ERROR
    failed.attempts = ["runware", "placeholder"]
    return Storyboard(
        story=StoryInfo(path="stories/gull-rock.txt", sha256="0" * 64, title=analysis.title),
        settings=RunSettings(
            scenes=len(SCENES),
            style=style.name,
            seed=1001,
            width=width,
            height=height,
            text_providers=["heuristic"],
            image_providers=["runware", "placeholder"],
        ),
        analysis=analysis,
        text_provider="heuristic",
        text_usage=Usage(),
        notes=["runware is not configured (no RUNWARE_API_KEY): used placeholder instead"],
        scenes=records,
    )


@pytest.fixture
def project(tmp_path: Path) -> tuple[Storyboard, Path]:
    """A sample project folder with images, and its storyboard."""
    root = tmp_path / "gull-rock"
    return build_project(root), root


@pytest.fixture
def sample() -> SimpleNamespace:
    """The sample's constants and builder (test modules cannot import this conftest)."""
    return SimpleNamespace(
        EVIL=EVIL, FAILED_ERROR=FAILED_ERROR, SCENES=SCENES, build_project=build_project
    )
