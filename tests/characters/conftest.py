"""A project with a character bible, and an image provider that takes references and uploads."""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path
from typing import Any, ClassVar

import pytest

from storyframe.config import parse_config
from storyframe.errors import BadResponse, Transient
from storyframe.models import (
    Character,
    GeneratedImage,
    ImageRequest,
    ReferenceImage,
    RunSettings,
    Scene,
    SceneRecord,
    StoryAnalysis,
    Storyboard,
    StoryInfo,
)
from storyframe.pipeline import Pipeline
from storyframe.plugins import get_host
from storyframe.project import Project
from storyframe.providers import Capabilities, ImageProvider
from storyframe.registry import Registry


def png(seed: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (seed % 256, (seed >> 8) % 256, 40)).save(buffer, "PNG")
    return buffer.getvalue()


class Service:
    """What the service behind :class:`Refs` did: every request and upload, in order."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.done: dict[str, GeneratedImage] = {}
        self.upload_failure = ""  # "raise", "hang", "error"
        self.hang_sheets = False
        self.fail_sheets = False

    def requests(self, kind: str = "") -> list[tuple[Any, ...]]:
        return [e for e in self.log if e[0] == "generate" and (not kind or e[1] == kind)]

    def uploads(self) -> list[tuple[Any, ...]]:
        return [e for e in self.log if e[0] == "upload"]


SERVICE = Service()


class Refs(ImageProvider):
    """A paid image provider that carries 2 references a request and keeps uploads."""

    name: ClassVar[str] = "refs"
    needs_key: ClassVar[bool] = True
    key_env: ClassVar[str | None] = "REFS_API_KEY"
    capabilities: ClassVar[Capabilities] = Capabilities(
        references=2, reference_mechanism="test", uploads=True, recover=True
    )

    async def upload_reference(self, reference: ReferenceImage) -> str | None:
        data = await asyncio.to_thread(Path(reference.path).read_bytes)
        assert hashlib.sha256(data).hexdigest() == reference.sha256
        SERVICE.log.append(("upload", reference.name))
        if SERVICE.upload_failure == "raise":
            raise RuntimeError("upload endpoint moved")
        if SERVICE.upload_failure == "hang":
            await asyncio.sleep(3600)
        if SERVICE.upload_failure == "error":
            raise Transient("HTTP 503 from the upload endpoint")
        return f"up-{reference.name}"

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        sent = request.references[: self.max_references()]
        kind = "sheet" if request.scene_number > 1000 else "scene"
        if kind == "sheet" and SERVICE.fail_sheets:
            raise BadResponse("the model refused the prompt")
        SERVICE.log.append(
            (
                "generate",
                kind,
                request.scene_number,
                [(r.name, r.uploads.get(self.name)) for r in sent],
                request.seed,
                request.prompt,
            )
        )
        image = GeneratedImage(
            scene_number=request.scene_number,
            provider=self.name,
            model="refs-1",
            data=png(request.seed),
            seed=request.seed,
            cost=0.01,
            task_id=request.handle,
            references=[r.name for r in sent],
        )
        assert request.handle is not None
        SERVICE.done[request.handle] = image
        if kind == "sheet" and SERVICE.hang_sheets:
            await asyncio.sleep(3600)  # the service did the work; the answer never comes
        return image

    async def recover(self, request: ImageRequest) -> GeneratedImage | None:
        SERVICE.log.append(("recover", request.handle))
        found = SERVICE.done.get(request.handle or "")
        return found.model_copy(update={"data": found.data}) if found else None


class Broken(ImageProvider):
    """A provider that never draws: the chain falls back."""

    name: ClassVar[str] = "broken"

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        raise BadResponse("the model is gone")


CAST = [
    Character(name="Mara", mentions=20, aliases=["the fox"], species="fox", colours="rust red"),
    Character(name="Tobin", mentions=12, age="ten", hair="black curls", clothes="blue coat"),
    Character(name="Old Wen", mentions=7, look="a stooped woman with a lantern"),
    Character(name="Baker", mentions=1),
]

# Who is in each of the 8 scenes (by name or alias, in the text provider's order).
PRESENT = [
    ["Mara"],
    ["Tobin", "the fox"],
    ["Old Wen"],
    [],
    ["Old Wen", "Tobin", "Mara"],
    ["Tobin"],
    ["Old Wen", "Baker"],
    ["Baker"],
]


def make_board(seed: int = 7) -> Storyboard:
    analysis = StoryAnalysis(title="The fox", characters=[c.model_copy() for c in CAST])
    return Storyboard(
        story=StoryInfo(path="fox.txt", sha256="cd" * 32, title="The fox"),
        settings=RunSettings(
            scenes=8,
            style="cinematic",
            seed=seed,
            width=96,
            height=64,
            text_providers=["heuristic"],
            image_providers=["refs"],
        ),
        analysis=analysis,
        scenes=[
            SceneRecord(
                scene=Scene(
                    number=i,
                    title=f"Scene {i}",
                    description=f"what happens in scene {i}",
                    image_prompt=f"picture {i}",
                    characters=names,
                )
            )
            for i, names in enumerate(PRESENT, 1)
        ],
    )


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Service:
    global SERVICE
    SERVICE = Service()
    monkeypatch.setenv("REFS_API_KEY", "test-key")
    return SERVICE


def pipeline(**image: Any) -> Pipeline:
    host = get_host()
    host.image_providers["refs"] = Refs
    host.image_providers["broken"] = Broken
    config = parse_config(
        {
            "image": {"providers": ["refs"], "sheets": 3, **image},
            "run": {"concurrency": 4},
            "providers": {"refs": {"deadline": 0.5}},
        }
    )
    return Pipeline(config, registry=Registry(config, host))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = Project(tmp_path / "fox")
    project.prepare()
    project.save(make_board())
    return project
