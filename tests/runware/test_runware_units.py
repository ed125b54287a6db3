"""Runware provider pieces in isolation: config, task building, error mapping, envelopes."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from storyframe.errors import (
    AuthError,
    BadResponse,
    ContentRejected,
    InvalidRequest,
    ProviderError,
    QuotaError,
    RateLimited,
    Transient,
)
from storyframe.http import HttpResponse
from storyframe.models import ImageRequest, Style
from storyframe_runware.config import DEFAULT_MODEL, RunwareConfig
from storyframe_runware.errors import classify, error_class, error_from_item
from storyframe_runware.results import Done, Failed, Pending, Unknown, read_envelope
from storyframe_runware.tasks import (
    PROMPT_MAX,
    fit_prompt,
    get_response_task,
    inference_task,
    snap_size,
)

U1 = "a770f077-f413-47de-9dac-be0b26a35da6"
U2 = "50836053-a0ee-4cf5-b9d6-ae7c5d140ada"


def request(**fields: Any) -> ImageRequest:
    values: dict[str, Any] = {
        "scene_number": 1,
        "prompt": "a red fox in the snow",
        "negative_prompt": "blurry",
        "width": 1024,
        "height": 576,
        "seed": 7,
        "style": Style(name="plain"),
    }
    values.update(fields)
    return ImageRequest(**values)


# -- config ----------------------------------------------------------------------------------


def test_config_defaults() -> None:
    config = RunwareConfig()
    assert config.model == DEFAULT_MODEL == "runware:101@1"
    assert config.base_url == "https://api.runware.ai/v1"
    assert config.allowed_download_hosts == ["im.runware.ai"]
    assert (config.delivery, config.output_format, config.batch_size) == ("async", "JPG", 4)


@pytest.mark.parametrize(
    "settings",
    [
        {"modle": "x"},
        {"model": "flux"},
        {"delivery": "webhook"},
        {"output_format": "GIF"},
        {"width": 100},
        {"batch_size": 0},
        {"base_url": "ftp://x"},
        {"allowed_download_hosts": ["https://im.runware.ai/"]},
    ],
)
def test_config_rejects_bad_values(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RunwareConfig(**settings)


def test_config_normalises() -> None:
    config = RunwareConfig(output_format="webp", allowed_download_hosts=[" IM.Runware.AI "])
    assert config.output_format == "WEBP"
    assert config.allowed_download_hosts == ["im.runware.ai"]


# -- task building ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1024, 576), (1024, 576)),
        ((1344, 768), (1344, 768)),
        ((1000, 563), (1024, 576)),
        ((4096, 2304), (2048, 1152)),
        ((64, 64), (128, 128)),
        ((100, 200), (128, 256)),
        ((4096, 64), (2048, 128)),
        ((777, 777), (768, 768)),
    ],
)
def test_snap_size(size: tuple[int, int], expected: tuple[int, int]) -> None:
    width, height = snap_size(*size)
    assert (width, height) == expected
    assert width % 64 == 0 and height % 64 == 0
    assert 128 <= width <= 2048 and 128 <= height <= 2048


def test_fit_prompt_keeps_short_prompts() -> None:
    assert fit_prompt("  a fox  ") == "a fox"


def test_fit_prompt_cuts_the_scene_and_keeps_the_suffix() -> None:
    scene = " ".join(["lantern"] * 600)  # 4799 characters
    tail = "Mara: a tall woman with a red scarf. cinematic film still, dramatic lighting"
    prompt = f"{scene}, {tail}"
    fitted = fit_prompt(prompt, scene=scene)
    assert len(fitted) <= PROMPT_MAX
    assert fitted.endswith(tail)
    head = fitted[: -len(tail)].rstrip(", ").split()
    assert head and set(head) == {"lantern"}, "the scene is cut between words"


def test_fit_prompt_without_scene_keeps_the_end_at_word_boundaries() -> None:
    words = [f"w{i}" for i in range(2000)]
    prompt = " ".join(words) + " cinematic film still"
    fitted = fit_prompt(prompt)
    assert len(fitted) <= PROMPT_MAX
    assert fitted.endswith("w1999 cinematic film still")
    assert fitted.startswith("w0 w1 w2")
    assert all(token in set(words) | {"cinematic", "film", "still"} for token in fitted.split())


def test_fit_prompt_with_an_oversized_tail_keeps_its_end() -> None:
    tail = " ".join(["look"] * 1000) + " style suffix"
    fitted = fit_prompt("short scene, " + tail, scene="short scene,")
    assert len(fitted) <= PROMPT_MAX
    assert fitted.endswith("look style suffix")


def test_inference_task_shape() -> None:
    style = Style(name="cinematic", provider_params={"runware": {"CFGScale": 6.5, "lora": []}})
    task = inference_task(request(style=style), RunwareConfig(), U1)
    assert task == {
        "taskType": "imageInference",
        "taskUUID": U1,
        "model": "runware:101@1",
        "positivePrompt": "a red fox in the snow",
        "negativePrompt": "blurry",
        "width": 1024,
        "height": 576,
        "seed": 7,
        "numberResults": 1,
        "outputType": "URL",
        "outputFormat": "JPG",
        "includeCost": True,
        "deliveryMethod": "async",
        "CFGScale": 6.5,
        "lora": [],
        "safety": {"checkContent": True},
    }
    json.dumps(task)


def test_inference_task_config_wins_and_protected_fields_stay() -> None:
    style = Style(
        name="odd",
        provider_params={
            "runware": {
                "CFGScale": 9,
                "deliveryMethod": "async",
                "taskUUID": "x",
                "numberResults": 4,
            }
        },
    )
    config = RunwareConfig(
        cfg_scale=3.5,
        steps=28,
        scheduler="Euler",
        width=900,
        height=900,
        delivery="async",
        check_content=False,
        output_format="WEBP",
    )
    task = inference_task(request(style=style, seed=0, negative_prompt="x"), config, U2)
    assert task["CFGScale"] == 3.5 and task["steps"] == 28 and task["scheduler"] == "Euler"
    assert (task["width"], task["height"]) == (896, 896)
    assert task["deliveryMethod"] == "async" and task["taskUUID"] == U2
    assert task["numberResults"] == 1
    assert task["seed"] == 1, "Runware seeds start at 1"
    assert "negativePrompt" not in task, "shorter than 2 characters"
    assert "safety" not in task
    assert task["outputFormat"] == "WEBP"


def test_negative_prompt_can_be_switched_off() -> None:
    task = inference_task(request(), RunwareConfig(negative_prompt=False), U1)
    assert "negativePrompt" not in task


def test_scene_prompt_param_guides_trimming() -> None:
    scene = "x" * 2990
    prompt = scene + " Mara wears a red scarf. watercolor"
    task = inference_task(
        request(prompt=prompt, params={"scene_prompt": scene}), RunwareConfig(), U1
    )
    assert len(task["positivePrompt"]) <= PROMPT_MAX
    assert task["positivePrompt"].endswith("Mara wears a red scarf. watercolor")


def test_too_short_prompt_is_invalid() -> None:
    with pytest.raises(InvalidRequest):
        inference_task(request(prompt="a"), RunwareConfig(), U1)


def test_get_response_task_reuses_the_uuid() -> None:
    assert get_response_task(U1) == {"taskType": "getResponse", "taskUUID": U1}


# -- error mapping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("invalidApiKey", AuthError),
        ("missingApiKey", AuthError),
        ("insufficientCredits", QuotaError),
        ("providerInsufficientCredits", QuotaError),
        ("invalidPositivePrompt", InvalidRequest),
        ("missingPositivePrompt", InvalidRequest),
        ("unsupportedParameter", InvalidRequest),
        ("invalidModel", InvalidRequest),
        ("modelNotFound", InvalidRequest),
        ("contentPolicyViolation", ContentRejected),
        ("nsfwContentDetected", ContentRejected),
        ("promptBlocked", ContentRejected),
        ("timeoutProvider", Transient),
        ("providerTimeout", Transient),
        ("inferenceError", Transient),
        ("rateLimitExceeded", RateLimited),
        ("providerRateLimitExceeded", RateLimited),
        ("somethingNew", None),
    ],
)
def test_error_class(code: str, cls: type[ProviderError] | None) -> None:
    assert error_class(code) is cls


def test_error_from_item_uses_status_for_unknown_codes() -> None:
    assert type(error_from_item({"code": "weird"}, status=404)) is InvalidRequest
    assert type(error_from_item({"code": "weird"}, status=200)) is ProviderError
    error = error_from_item({"code": "invalidModel"}, status=503, retry_after=2.0)
    assert isinstance(error, Transient) and error.retry_after == 2.0
    error = error_from_item({"code": "x"}, status=429, retry_after=1.5)
    assert isinstance(error, RateLimited) and error.retry_after == 1.5
    error = error_from_item({"code": "invalidWidth", "message": "bad", "parameter": "width"})
    assert "invalidWidth" in str(error) and "width" in str(error) and error.code == "invalidWidth"


def response(status: int, body: Any, **headers: str) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status=status, headers=headers, body=raw)


def test_classify() -> None:
    assert classify(response(200, {"data": []})) is None
    auth = classify(response(401, {"errors": [{"code": "invalidApiKey", "message": "Invalid"}]}))
    assert isinstance(auth, AuthError) and auth.status == 401
    quota = classify(response(402, {"errors": [{"code": "insufficientCredits", "taskUUID": U1}]}))
    assert isinstance(quota, QuotaError)
    limited = classify(response(429, {"errors": [{"code": "x"}]}, **{"Retry-After": "3"}))
    assert isinstance(limited, RateLimited) and limited.retry_after == 3
    busy = classify(response(503, b"<html>busy</html>", **{"Retry-After": "1"}))
    assert isinstance(busy, Transient) and busy.retry_after == 1
    assert isinstance(classify(response(504, b"")), Transient)
    task_scoped = {"errors": [{"code": "invalidPositivePrompt", "taskUUID": U1}]}
    assert classify(response(400, task_scoped)) is None
    assert isinstance(
        classify(response(400, {"errors": [{"code": "invalidJson"}]})), InvalidRequest
    )
    assert isinstance(classify(response(400, b"nope")), InvalidRequest)
    assert isinstance(classify(response(403, {"error": {"code": "missingApiKey"}})), AuthError)


# -- envelopes -------------------------------------------------------------------------------


def test_read_envelope_matches_by_task_uuid() -> None:
    body = {
        "data": [{"taskType": "imageInference", "taskUUID": U1, "imageURL": "https://im/x.jpg"}],
        "errors": [{"code": "invalidModel", "taskUUID": U2}],
    }
    outcomes = read_envelope(body, [U1, U2])
    assert isinstance(outcomes[U1], Done)
    failed = outcomes[U2]
    assert isinstance(failed, Failed) and isinstance(failed.error, InvalidRequest)


def test_read_envelope_states() -> None:
    u3, u4, u5, u6 = (str(uuid.uuid4()) for _ in range(4))
    body = {
        "data": [
            {"taskType": "imageInference", "taskUUID": U1},
            {"taskType": "imageInference", "taskUUID": U2, "status": "processing"},
            {
                "taskUUID": u3,
                "status": "error",
                "error": {"code": "inferenceError", "message": "x"},
            },
            {"taskUUID": "someone-else", "imageURL": "https://im/y.jpg"},
        ],
        "errors": [
            {"code": "conflictTaskUUID", "taskUUID": u4},
            {"code": "taskNotFound", "taskUUID": u5},
        ],
    }
    outcomes = read_envelope(body, [U1, U2, u3, u4, u5, u6])
    assert outcomes[U1] == Pending("accepted")
    assert outcomes[U2] == Pending("processing")
    failed = outcomes[u3]
    assert isinstance(failed, Failed) and isinstance(failed.error, Transient)
    assert outcomes[u4] == Pending("conflict")
    assert outcomes[u5] == Unknown("taskNotFound")
    assert isinstance(outcomes[u6], Pending)


def test_read_envelope_general_errors() -> None:
    with pytest.raises(AuthError):
        read_envelope({"errors": [{"code": "invalidApiKey"}]}, [U1])
    with pytest.raises(BadResponse):
        read_envelope([1, 2], [U1])
    body = {"data": [{"taskUUID": U1, "imageURL": "https://im/x"}], "errors": [{"code": "oops"}]}
    outcomes = read_envelope(body, [U1, U2])
    assert isinstance(outcomes[U1], Done) and isinstance(outcomes[U2], Failed)


def test_nsfw_flag_rejects_the_image() -> None:
    body = {"data": [{"taskUUID": U1, "imageURL": "https://im/x", "NSFWContent": True}]}
    outcome = read_envelope(body, [U1])[U1]
    assert isinstance(outcome, Failed) and isinstance(outcome.error, ContentRejected)


# -- hygiene ---------------------------------------------------------------------------------


def test_importing_the_plugin_is_cheap() -> None:
    code = (
        "import sys, storyframe_runware, storyframe_runware.config, storyframe_runware.errors, "
        "storyframe_runware.tasks, storyframe_runware.results, storyframe_runware.polling, "
        "storyframe_runware.provider\n"
        "heavy = [m for m in ('aiohttp', 'PIL', 'tenacity') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_registered_through_the_entry_point() -> None:
    from storyframe_runware import register_image_providers
    from storyframe_runware.provider import RunwareImageProvider

    found: list[type] = []
    register_image_providers(found.append)
    assert found == [RunwareImageProvider]
    assert RunwareImageProvider.needs_key and RunwareImageProvider.key_env == "RUNWARE_API_KEY"
    assert RunwareImageProvider.capabilities.size_multiple == 64


def test_key_stays_out_of_reprs() -> None:
    from storyframe_runware.provider import RunwareImageProvider

    key = "rw-units-secret-key-0042"
    provider = RunwareImageProvider(RunwareConfig(), SecretStr(key))
    assert key not in repr(provider) and key not in repr(provider.__dict__)
    assert key not in str(AuthError(f"bad key {key}"))
