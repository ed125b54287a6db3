"""Character reference sheets on Runware: uploads, referenceImages, ipAdapters, exact shapes."""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

from storyframe.errors import BadResponse, InvalidRequest, Transient
from storyframe.models import ReferenceImage
from storyframe.testing import png
from storyframe_runware.config import RunwareConfig
from storyframe_runware.references import read_upload

Make = Callable[..., Any]
KONTEXT = "runware:106@1"


@pytest.fixture
def sheets(tmp_path: Path) -> list[ReferenceImage]:
    """Three sheets, most important first, each a distinct PNG."""
    refs = []
    for i, name in enumerate(["Wren", "Tobias", "Martha"]):
        path = tmp_path / f"sheet-{i}.png"
        path.write_bytes(png(32 + i, 32, (40 * i, 90, 160)))
        refs.append(ReferenceImage(name=name, path=path))
    return refs


def data_uri(ref: ReferenceImage) -> str:
    return "data:image/png;base64," + base64.b64encode(ref.path.read_bytes()).decode()


async def upload_all(provider: Any, refs: list[ReferenceImage]) -> list[ReferenceImage]:
    """What storyframe does before drawing: upload each sheet once, keep the id."""
    for ref in refs:
        image_uuid = await provider.upload_reference(ref)
        assert image_uuid
        ref.uploads[provider.name] = image_uuid
    return refs


# -- uploads -------------------------------------------------------------------------------------


async def test_upload_sends_an_image_upload_task_and_returns_the_image_uuid(
    make_provider: Make, emulator: Any, sheets: list[ReferenceImage]
) -> None:
    provider = make_provider(model=KONTEXT)
    image_uuid = await provider.upload_reference(sheets[0])

    (task,) = emulator.upload_tasks()
    assert set(task) == {"taskType", "taskUUID", "image"}
    assert task["taskType"] == "imageUpload" and task["image"] == data_uri(sheets[0])
    uuid.UUID(task["taskUUID"], version=4)
    assert image_uuid in emulator.uploads and image_uuid != task["taskUUID"]
    assert emulator.uploads[image_uuid][1] == sheets[0].path.read_bytes()


async def test_upload_reads_the_object_form_too(
    make_provider: Make, emulator: Any, sheets: list[ReferenceImage]
) -> None:
    emulator.upload_form = "object"
    image_uuid = await make_provider(model=KONTEXT).upload_reference(sheets[0])
    assert image_uuid in emulator.uploads


def test_read_upload_never_takes_the_task_uuid() -> None:
    with pytest.raises(BadResponse):
        read_upload({"data": [{"taskType": "imageUpload", "taskUUID": "t-1"}]}, "t-1")
    with pytest.raises(BadResponse):
        read_upload({"data": [{"taskUUID": "t-1", "imageUUID": "t-1"}]}, "t-1")
    assert read_upload({"data": {"taskUUID": "t-1", "imageUUID": "i-9"}}, "t-1") == "i-9"


async def test_a_sheet_that_is_not_an_image_is_refused_before_any_request(
    make_provider: Make, emulator: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "sheet.png"
    bad.write_bytes(b"<html>not an image</html>")
    with pytest.raises(InvalidRequest, match="not a PNG, JPEG or WEBP"):
        await make_provider(model=KONTEXT).upload_reference(ReferenceImage(name="Wren", path=bad))
    missing = ReferenceImage(name="Pip", path=tmp_path / "gone.png")
    with pytest.raises(InvalidRequest, match="cannot read the reference sheet of Pip"):
        await make_provider(model=KONTEXT).upload_reference(missing)
    assert emulator.bodies == []


async def test_the_emulator_refuses_an_upload_that_is_not_an_image(emulator: Any) -> None:
    fake_png = "data:image/png;base64," + base64.b64encode(b"GIF89a....").decode()
    task = {"taskType": "imageUpload", "taskUUID": str(uuid.uuid4()), "image": fake_png}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            emulator.base_url, json=[task], headers={"Authorization": f"Bearer {emulator.api_key}"}
        ) as response,
    ):
        body = await response.json()
    assert response.status == 400
    assert body["errors"][0]["code"] == "invalidImage"
    assert emulator.uploads == {}


# -- referenceImages -----------------------------------------------------------------------------


async def test_reference_images_carry_the_upload_ids_in_order_cut_to_the_models_max(
    make_provider: Make, make_request: Make, emulator: Any, sheets: list[ReferenceImage]
) -> None:
    provider = make_provider(model=KONTEXT)
    assert provider.max_references() == 2
    refs = await upload_all(provider, sheets)
    uploads_before = len(emulator.upload_tasks())

    image = await provider.generate(make_request(references=refs))

    (task,) = emulator.inference_tasks()
    assert task["referenceImages"] == [refs[0].uploads["runware"], refs[1].uploads["runware"]]
    assert "ipAdapters" not in task
    assert image.references == ["Wren", "Tobias"]
    assert len(emulator.upload_tasks()) == uploads_before == 3, "no upload while drawing"


async def test_a_second_scene_with_the_ids_present_sends_no_upload(
    make_provider: Make, make_request: Make, emulator: Any, sheets: list[ReferenceImage]
) -> None:
    provider = make_provider(model="runware:108@20")  # Qwen-Image-Edit: one reference
    refs = await upload_all(provider, sheets[:1])
    first = await provider.generate(make_request(1, references=refs))
    second = await provider.generate(make_request(2, references=refs))

    assert len(emulator.upload_tasks()) == 1
    assert [t["referenceImages"] for t in emulator.inference_tasks()] == [
        [refs[0].uploads["runware"]]
    ] * 2
    assert first.references == second.references == ["Wren"]


async def test_without_an_upload_id_the_sheet_goes_inline_as_a_data_uri(
    make_provider: Make, make_request: Make, emulator: Any, sheets: list[ReferenceImage]
) -> None:
    sheets[1].uploads = {"another-provider": str(uuid.uuid4())}  # not Runware's id
    image = await make_provider(model=KONTEXT).generate(make_request(references=sheets))
    (task,) = emulator.inference_tasks()
    assert task["referenceImages"] == [data_uri(sheets[0]), data_uri(sheets[1])]
    assert emulator.upload_tasks() == []
    assert image.references == ["Wren", "Tobias"]


async def test_batched_scenes_keep_their_own_references(
    make_provider: Make, make_request: Make, emulator: Any, sheets: list[ReferenceImage]
) -> None:
    provider = make_provider(model=KONTEXT, batch_size=3)
    refs = await upload_all(provider, sheets)
    ids = [r.uploads["runware"] for r in refs]
    requests = [
        make_request(1, references=[refs[2]]),
        make_request(2),
        make_request(3, references=[refs[1], refs[0]]),
    ]
    results = await provider.generate_many(requests)

    (body,) = emulator.inference_bodies()
    assert [t.get("referenceImages") for t in body] == [[ids[2]], None, [ids[1], ids[0]]]
    assert [r.references for r in results] == [["Martha"], [], ["Tobias", "Wren"]]


async def test_a_model_without_references_gets_none(
    make_provider: Make, make_request: Make, emulator: Any, sheets: list[ReferenceImage]
) -> None:
    provider = make_provider()  # FLUX.1 dev: not an edit model
    assert provider.max_references() == 0
    assert await provider.upload_reference(sheets[0]) is None
    image = await provider.generate(make_request(references=sheets))
    (task,) = emulator.inference_tasks()
    assert "referenceImages" not in task and "ipAdapters" not in task
    assert image.references == []
    assert emulator.upload_tasks() == [], "nothing is uploaded for a model that takes none"


async def test_off_sends_none_even_on_an_edit_model(
    make_provider: Make, make_request: Make, emulator: Any, sheets: list[ReferenceImage]
) -> None:
    provider = make_provider(model=KONTEXT, references="off")
    assert provider.max_references() == 0
    image = await provider.generate(make_request(references=sheets))
    assert "referenceImages" not in emulator.inference_tasks()[0]
    assert image.references == []


async def test_too_many_references_is_a_clear_invalid_request(
    make_provider: Make, make_request: Make, emulator: Any, sheets: list[ReferenceImage]
) -> None:
    provider = make_provider(model="runware:108@20", max_references=3)  # wrong override
    with pytest.raises(InvalidRequest) as caught:
        await provider.generate(make_request(references=sheets))
    assert caught.value.code == "invalidReferenceImagesCount"
    assert "max_references" in caught.value.one_line()
    assert emulator.images_paid == 0


async def test_the_emulator_refuses_references_on_a_model_that_takes_none(
    make_provider: Make, make_request: Make, emulator: Any, sheets: list[ReferenceImage]
) -> None:
    provider = make_provider(model="runware:101@1", references="referenceImages", max_references=1)
    with pytest.raises(InvalidRequest) as caught:
        await provider.generate(make_request(references=sheets))
    assert caught.value.code == "invalidReferenceImagesCount"


# -- forgotten uploads ---------------------------------------------------------------------------


async def test_a_forgotten_upload_is_uploaded_again_once_and_the_scene_drawn_again(
    make_provider: Make,
    make_request: Make,
    emulator: Any,
    sheets: list[ReferenceImage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider = make_provider(model=KONTEXT)
    refs = await upload_all(provider, sheets[:2])
    stale = refs[0].uploads["runware"]
    emulator.forget(stale)
    reported: list[tuple[str, str, str | None]] = []

    async def listener(ref: ReferenceImage, upload_id: str | None) -> None:
        reported.append((ref.name, ref.uploads["runware"], upload_id))

    provider.upload_listener = listener

    result = (await provider.generate_many([make_request(references=refs)]))[0]
    assert isinstance(result, Transient) and result.resubmit_safe
    assert result.code == "invalidReferenceImages" and "Wren" in str(result)
    assert "no longer holds" in caplog.text
    uploads = emulator.upload_tasks()
    assert len(uploads) == 4, "both sheets sent by id were uploaded again"
    assert uploads[2]["image"] == data_uri(refs[0])
    # Each new id is reported with the id it replaces, for storyframe to save.
    assert [(name, old) for name, old, _ in reported] == [
        ("Wren", stale),
        ("Tobias", refs[1].uploads["runware"]),
    ]
    assert all(new and emulator.holds(new) and new != old for _, old, new in reported)

    image = await provider.generate(make_request(references=refs))  # as the chain resubmits
    fresh = emulator.inference_tasks()[-1]["referenceImages"]
    assert stale not in fresh and all(emulator.holds(i) for i in fresh)
    assert image.references == ["Wren", "Tobias"]
    assert len(emulator.upload_tasks()) == 4, "a working id is never uploaded again"
    assert emulator.images_paid == 1


async def test_an_upload_forgotten_twice_is_an_invalid_request(
    make_provider: Make, make_request: Make, emulator: Any, sheets: list[ReferenceImage]
) -> None:
    provider = make_provider(model="runware:108@20")
    refs = await upload_all(provider, sheets[:1])
    emulator.forget(refs[0].uploads["runware"])
    first = (await provider.generate_many([make_request(references=refs)]))[0]
    assert isinstance(first, Transient)
    for image_uuid in list(emulator.uploads):
        emulator.forget(image_uuid)
    second = (await provider.generate_many([make_request(references=refs)]))[0]
    assert isinstance(second, InvalidRequest) and second.code == "invalidReferenceImages"
    assert len(emulator.upload_tasks()) == 2


async def test_an_upload_that_cannot_be_made_again_is_reported_as_gone(
    make_provider: Make,
    make_request: Make,
    emulator: Any,
    sheets: list[ReferenceImage],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = make_provider(model=KONTEXT)
    refs = await upload_all(provider, sheets[:1])
    emulator.forget(refs[0].uploads["runware"])
    reported: list[tuple[str, str | None]] = []

    async def listener(ref: ReferenceImage, upload_id: str | None) -> None:
        reported.append((ref.name, upload_id))

    async def refused(reference: ReferenceImage) -> str:
        raise Transient("HTTP 503 from the upload endpoint", provider="runware")

    provider.upload_listener = listener
    monkeypatch.setattr(provider, "upload_reference", refused)
    result = (await provider.generate_many([make_request(references=refs)]))[0]
    assert isinstance(result, Transient) and result.resubmit_safe
    assert reported == [("Wren", None)], "the forgotten id is dropped, not kept"
    image = await provider.generate(make_request(references=refs))  # the sheet goes inline
    assert emulator.inference_tasks()[-1]["referenceImages"] == [data_uri(refs[0])]
    assert image.references == ["Wren"]


# -- ipAdapters ----------------------------------------------------------------------------------


async def test_ip_adapters_carry_one_guide_image_per_sheet(
    make_provider: Make, make_request: Make, emulator: Any, sheets: list[ReferenceImage]
) -> None:
    provider = make_provider(
        model="civitai:101055@128078",
        ip_adapter_model="runware:55@1",
        ip_adapter_weight=0.6,
        max_references=2,
    )
    refs = await upload_all(provider, sheets)
    image = await provider.generate(make_request(references=refs))
    (task,) = emulator.inference_tasks()
    assert task["ipAdapters"] == [
        {"model": "runware:55@1", "guideImage": refs[0].uploads["runware"], "weight": 0.6},
        {"model": "runware:55@1", "guideImage": refs[1].uploads["runware"], "weight": 0.6},
    ]
    assert "referenceImages" not in task
    assert image.references == ["Wren", "Tobias"]


def test_ip_adapters_need_a_model_and_unknown_edit_models_a_max() -> None:
    with pytest.raises(ValidationError, match="ip_adapter_model"):
        RunwareConfig(references="ipAdapters")
    with pytest.raises(ValidationError, match="max_references"):
        RunwareConfig(references="referenceImages", model="runware:400@1")
    assert RunwareConfig(references="referenceImages", model="runware:400@1", max_references=4)


async def test_the_emulator_checks_the_ip_adapter_shape(
    make_provider: Make, make_request: Make, emulator: Any
) -> None:
    provider = make_provider()
    bad = make_request()
    bad.style = bad.style.model_copy(
        update={"provider_params": {"runware": {"ipAdapters": [{"guideImage": "x"}]}}}
    )
    with pytest.raises(InvalidRequest) as caught:
        await provider.generate(bad)
    assert caught.value.code == "invalidIpAdapters"


# -- recovery ------------------------------------------------------------------------------------


async def test_recovery_resends_the_same_references(
    make_provider: Make, make_request: Make, emulator: Any, sheets: list[ReferenceImage]
) -> None:
    provider = make_provider(model=KONTEXT)
    refs = await upload_all(provider, sheets[:2])
    handle = str(uuid.uuid4())
    request = make_request(references=refs, handle=handle)

    image = await provider.recover(request)  # Runware never got it: sent under the handle

    assert image is not None and image.references == ["Wren", "Tobias"]
    (task,) = emulator.inference_tasks()
    assert task["taskUUID"] == handle
    assert task["referenceImages"] == [r.uploads["runware"] for r in refs]
    assert emulator.images_paid == 1


def test_uploads_add_nothing_to_the_estimate(make_request: Make, sheets: Any) -> None:
    import asyncio

    from storyframe_runware.provider import RunwareImageProvider

    provider = RunwareImageProvider(RunwareConfig(model=KONTEXT))
    plain = asyncio.run(provider.estimate(make_request()))
    with_refs = asyncio.run(provider.estimate(make_request(references=sheets)))
    assert plain == with_refs


def test_a_jpeg_sheet_goes_as_image_jpeg(tmp_path: Path) -> None:
    from PIL import Image

    from storyframe_runware.references import data_uri as encode

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, format="JPEG")
    path = tmp_path / "sheet.png"  # the name lies; the bytes decide
    path.write_bytes(buffer.getvalue())
    assert encode(ReferenceImage(name="Wren", path=path)).startswith("data:image/jpeg;base64,")


# -- the emulator's strictness -------------------------------------------------------------------


async def post_tasks(emulator: Any, tasks: list[dict[str, Any]]) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(emulator.base_url, json=tasks, headers=headers) as response,
    ):
        return response.status, await response.json()


def inference(model: str, **extra: Any) -> dict[str, Any]:
    return {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": model,
        "positivePrompt": "a ferryman",
        "width": 512,
        "height": 512,
        **extra,
    }


async def test_the_emulator_serves_an_upload_at_its_image_url(
    emulator: Any, sheets: list[ReferenceImage]
) -> None:
    task = {"taskType": "imageUpload", "taskUUID": str(uuid.uuid4()), "image": data_uri(sheets[0])}
    status, body = await post_tasks(emulator, [task])
    (item,) = body["data"]
    assert status == 200 and set(item) == {"taskType", "taskUUID", "imageUUID", "imageURL"}
    async with aiohttp.ClientSession() as session, session.get(item["imageURL"]) as response:
        assert await response.read() == sheets[0].path.read_bytes()


async def test_the_emulator_decodes_and_checks_inline_references(
    emulator: Any, sheets: list[ReferenceImage]
) -> None:
    raw = base64.b64encode(sheets[0].path.read_bytes()).decode()
    ok = inference(KONTEXT, referenceImages=[data_uri(sheets[0]), raw])
    status, body = await post_tasks(emulator, [ok])
    assert status == 200 and body["data"][0]["imageURL"]
    as_jpeg = "data:image/jpeg;base64," + raw  # PNG bytes declared as JPEG
    for bad in (as_jpeg, "data:image/png;base64,not-base64!", str(uuid.uuid4())):
        status, body = await post_tasks(emulator, [inference(KONTEXT, referenceImages=[bad])])
        assert status == 400 and body["errors"][0]["code"] == "invalidReferenceImages", bad
    assert emulator.images_paid == 1


async def test_ace_plus_plus_takes_its_one_reference_only_with_an_ace_object(
    emulator: Any, sheets: list[ReferenceImage]
) -> None:
    refs = [data_uri(sheets[0])]
    status, body = await post_tasks(emulator, [inference("runware:102@1", referenceImages=refs)])
    assert status == 400 and body["errors"][0]["code"] == "invalidReferenceImagesCount"
    ace = {"type": "portrait"}
    status, _ = await post_tasks(
        emulator, [inference("runware:102@1", referenceImages=refs, acePlusPlus=ace)]
    )
    assert status == 200
    status, body = await post_tasks(
        emulator, [inference("runware:102@1", referenceImages=refs * 2, acePlusPlus=ace)]
    )
    assert body["errors"][0]["code"] == "invalidReferenceImagesCount"
    assert body["errors"][0]["max"] == 1
