"""Well-behaved HTTP providers for a made-up JSON service, and the service's success answers.

The tests in this folder break them one rule at a time and check the conformance kit notices.
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar

from pydantic import SecretStr

from storyframe.errors import BadResponse
from storyframe.http import HttpClient
from storyframe.models import (
    GeneratedImage,
    ImageRequest,
    ReferenceImage,
    Scene,
    StoryAnalysis,
    Style,
    Usage,
)
from storyframe.providers import (
    BaseURL,
    Capabilities,
    ImageProvider,
    Provider,
    ProviderConfig,
    TextProvider,
)
from storyframe.testing import RecordedRequest, Reply, png


class ServiceConfig(ProviderConfig):
    """[providers.NAME] of the made-up service."""

    base_url: BaseURL = "http://127.0.0.1:9"


class _ServiceClient:
    name: ClassVar[str]
    config: ServiceConfig
    api_key: SecretStr | None
    _client: HttpClient | None = None

    @property
    def client(self) -> HttpClient:
        if self._client is None:
            key = self.api_key.get_secret_value() if self.api_key else ""
            self._client = HttpClient(
                self.name,
                self.config,
                base_url=self.config.base_url,
                headers={"Authorization": f"Bearer {key}"},
            )
        return self._client

    async def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = await self.client.request_json("POST", path, json=payload)
        if not isinstance(answer, dict):
            raise BadResponse(f"expected an object, got {answer!r:.80}", provider=self.name)
        return answer

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class GoodHttpImage(_ServiceClient, ImageProvider):
    """Draws through ``POST /draw``: the answer carries base64 PNG bytes and the seed used."""

    name = "good-http-image"
    config_model = ServiceConfig
    capabilities = Capabilities(seed=True)

    def payload(self, request: ImageRequest) -> dict[str, Any]:
        return {
            "prompt": request.prompt,
            "width": request.width,
            "height": request.height,
            "seed": request.seed,
        }

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        answer = await self.post("/draw", self.payload(request))
        try:
            data = base64.b64decode(answer["image"])
        except (KeyError, TypeError, ValueError):
            raise BadResponse("no image in the answer", provider=self.name) from None
        return GeneratedImage(
            scene_number=request.scene_number,
            provider=self.name,
            data=data,
            seed=answer.get("seed"),
        )


class GoodHttpImageWithSheets(GoodHttpImage):
    """Takes up to two character sheets, sent as base64 in ``references``."""

    name = "good-http-sheets"
    capabilities = Capabilities(seed=True, references=2, reference_mechanism="JSON base64")

    def sheets(self, request: ImageRequest) -> list[ReferenceImage]:
        return request.references[: self.max_references()]

    def payload(self, request: ImageRequest) -> dict[str, Any]:
        sheets = [base64.b64encode(ref.path.read_bytes()).decode() for ref in self.sheets(request)]
        return {**super().payload(request), "references": sheets}

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        image = await super().generate(request)
        image.references = [ref.name for ref in self.sheets(request)]
        return image


class GoodHttpText(_ServiceClient, TextProvider):
    """Writes scenes through ``POST /scenes``; the answer reports the tokens used."""

    name = "good-http-text"
    config_model = ServiceConfig

    async def analyze(self, story: str) -> StoryAnalysis:
        return StoryAnalysis(word_count=len(story.split()))

    def scene(self, number: int, raw: dict[str, Any], style: Style) -> Scene:
        return Scene(
            number=number,
            title=raw["title"],
            description=raw["description"],
            image_prompt=raw["prompt"],
        )

    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None = None
    ) -> list[Scene]:
        answer = await self.post("/scenes", {"story": story[:200], "n": n})
        try:
            scenes = [self.scene(i, raw, style) for i, raw in enumerate(answer["scenes"], 1)]
            tokens = answer["usage"]
            self.account(
                Usage(calls=1, prompt_tokens=tokens["in"], completion_tokens=tokens["out"])
            )
        except (KeyError, TypeError, ValueError):
            raise BadResponse("no scenes in the answer", provider=self.name) from None
        return scenes

    def account(self, usage: Usage) -> None:
        self.usage.add(usage)


PLACES = ["landing", "river", "reeds", "sandbar", "bakery", "bell tower", "lane", "marsh"]


def answer(request: RecordedRequest) -> Reply:
    """The service's success answer to ``/draw`` or ``/scenes``."""
    body = request.json()
    if request.path == "/draw":
        image = base64.b64encode(png(body["width"], body["height"])).decode()
        return Reply(json={"image": image, "seed": body["seed"]})
    scenes = [
        {
            "title": f"At the {place}",
            "description": f"The ferryman rows past the {place}.",
            "prompt": f"An old ferryman at the {place} at night, lantern light",
        }
        for place in PLACES[: body["n"]]
    ]
    return Reply(json={"scenes": scenes, "usage": {"in": 100, "out": 40}})


def factory_for(cls: type[Provider]) -> Any:
    """An ``http_factory`` for one of the classes above (or a broken subclass)."""

    def build(base_url: str, api_key: SecretStr | None, **settings: Any) -> Provider:
        return cls(ServiceConfig(base_url=base_url, **settings), api_key)

    return build
