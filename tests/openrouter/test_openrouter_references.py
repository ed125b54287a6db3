"""Character reference sheets on the OpenRouter image provider: image parts of the user turn."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from storyframe.errors import InvalidRequest
from storyframe.models import ImageRequest, ReferenceImage
from storyframe.styles import BUILTIN_STYLES
from storyframe.testing import png
from storyframe_openrouter.image import OpenRouterImageProvider
from tests.openrouter.emulator import OpenRouterEmulator

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])

Make = Callable[..., OpenRouterImageProvider]


@pytest.fixture
def sheets(tmp_path: Path) -> list[ReferenceImage]:
    refs = []
    for i, name in enumerate(["Wren", "Tobias", "Martha"]):
        path = tmp_path / f"sheet-{i}.png"
        path.write_bytes(png(24 + i, 24, (50 * i, 80, 140)))
        refs.append(ReferenceImage(name=name, path=path, uploads={"runware": "not-for-us"}))
    return refs


def request(references: list[ReferenceImage]) -> ImageRequest:
    return ImageRequest(
        scene_number=2,
        prompt="Wren and Tobias row through the fog",
        width=1024,
        height=1024,
        seed=7,
        style=BUILTIN_STYLES[0],
        references=references,
    )


def data_url(ref: ReferenceImage) -> str:
    return "data:image/png;base64," + base64.b64encode(ref.path.read_bytes()).decode()


async def test_text_first_then_one_image_part_per_sheet_cut_to_the_max(
    emulator: OpenRouterEmulator, make_image: Make, sheets: list[ReferenceImage]
) -> None:
    provider = make_image()
    assert provider.max_references() == 2 and not provider.capabilities.uploads
    image = await provider.generate(request(sheets))

    (message,) = emulator.chat_requests[0].body["messages"]
    assert message["role"] == "user"
    text, *images = message["content"]
    assert text["type"] == "text" and text["text"].startswith("Generate an image: Wren and Tobias")
    assert "in this order: Wren, Tobias." in text["text"] and "Martha" not in text["text"]
    assert images == [
        {"type": "image_url", "image_url": {"url": data_url(sheets[0])}},
        {"type": "image_url", "image_url": {"url": data_url(sheets[1])}},
    ]
    assert image.references == ["Wren", "Tobias"]


async def test_max_references_from_the_config(
    emulator: OpenRouterEmulator, make_image: Make, sheets: list[ReferenceImage]
) -> None:
    image = await make_image(max_references=3).generate(request(sheets))
    assert len(emulator.chat_requests[0].body["messages"][0]["content"]) == 4
    assert image.references == ["Wren", "Tobias", "Martha"]


async def test_without_references_the_message_stays_plain_text(
    emulator: OpenRouterEmulator, make_image: Make, sheets: list[ReferenceImage]
) -> None:
    for provider, refs in ((make_image(), []), (make_image(max_references=0), sheets)):
        image = await provider.generate(request(refs))
        assert isinstance(emulator.chat_requests[-1].body["messages"][0]["content"], str)
        assert image.references == []


async def test_a_model_without_image_input_gets_the_documented_404(
    emulator: OpenRouterEmulator, make_image: Make, sheets: list[ReferenceImage]
) -> None:
    provider = make_image(model="openai/gpt-3.5-turbo")
    with pytest.raises(InvalidRequest) as caught:
        await provider.generate(request(sheets))
    assert caught.value.status == 404
    assert "No endpoints found that support image input" in str(caught.value)
    assert "max_references = 0" in caught.value.one_line()
    assert len(emulator.chat_requests) == 1, "a 404 is not retried"


async def test_the_emulator_answers_the_404_body_verbatim(
    emulator: OpenRouterEmulator, sheets: list[ReferenceImage]
) -> None:
    import aiohttp

    body: dict[str, Any] = {
        "model": "openai/gpt-3.5-turbo",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Who is this?"},
                    {"type": "image_url", "image_url": {"url": data_url(sheets[0])}},
                ],
            }
        ],
    }
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emulator.base_url}/chat/completions", json=body, headers=headers) as r,
    ):
        assert r.status == 404
        assert await r.json() == {
            "error": {"message": "No endpoints found that support image input", "code": 404}
        }
        body["model"] = "openai/gpt-4o-mini"  # a vision model takes it
        async with session.post(
            f"{emulator.base_url}/chat/completions", json=body, headers=headers
        ) as ok:
            assert ok.status == 200
        body["messages"][0]["content"][1]["image_url"]["url"] = "data:image/png;base64,R0lGODlh"
        async with session.post(
            f"{emulator.base_url}/chat/completions", json=body, headers=headers
        ) as bad:
            assert bad.status == 400, "GIF bytes declared as PNG"


async def test_a_missing_sheet_is_a_clear_error_before_any_request(
    emulator: OpenRouterEmulator, make_image: Make, tmp_path: Path
) -> None:
    gone = ReferenceImage(name="Pip", path=tmp_path / "gone.png")
    with pytest.raises(InvalidRequest, match="cannot read the reference sheet of Pip"):
        await make_image().generate(request([gone]))
    assert emulator.chat_requests == []
