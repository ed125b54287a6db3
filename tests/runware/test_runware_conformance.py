"""The Runware provider passes storyframe's conformance kit.

The contract checks run against the Runware emulator; the behaviour checks run against the kit's
fake service, answering image tasks the way Runware does (with a URL to an image of the size
asked for) and uploads with a fresh imageUUID. The model is FLUX.1 Kontext, so the reference
checks see two sheets sent by their upload ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr

from storyframe.errors import BadResponse, Transient
from storyframe.testing import HttpFactory, ImageProviderConformance, RecordedRequest, Reply, png
from storyframe_runware.config import RunwareConfig
from storyframe_runware.provider import RunwareImageProvider

KEY = "rw-conformance-key-77aa"
KONTEXT = "runware:106@1"


class TestRunwareConformance(ImageProviderConformance):
    # Runware polls a task whose answer it cannot read (the image may already be paid for), so an
    # unexpected 200 body ends, after poll_timeout, as a Transient "still processing".
    expected_errors = {"unexpected-json": (BadResponse, Transient)}

    @pytest.fixture
    def provider_factory(self, emulator: Any) -> Callable[[], RunwareImageProvider]:
        emulator.api_key = KEY
        config = RunwareConfig(
            model=KONTEXT,
            base_url=emulator.base_url,
            allowed_download_hosts=["127.0.0.1"],
            backoff_base=0.001,
            max_attempts=2,
        )
        return lambda: RunwareImageProvider(config, SecretStr(KEY))

    @pytest.fixture
    def http_factory(self) -> HttpFactory:
        def build(base_url: str, api_key: SecretStr | None, **settings: Any) -> Any:
            config = RunwareConfig(
                model=KONTEXT,
                base_url=base_url,
                allowed_download_hosts=["127.0.0.1"],
                poll_interval=0.05,
                poll_timeout=0.5,
                **settings,
            )
            return RunwareImageProvider(config, api_key)

        return build

    def answer(self, request: RecordedRequest) -> Reply:
        data = []
        for task in request.json():
            if task.get("taskType") == "imageUpload":
                data.append(
                    {
                        "taskType": "imageUpload",
                        "taskUUID": task["taskUUID"],
                        "imageUUID": str(uuid.uuid4()),
                    }
                )
            if task.get("taskType") != "imageInference":
                continue
            url = request.service.add_file(png(task["width"], task["height"]))
            data.append(
                {
                    "taskType": "imageInference",
                    "taskUUID": task["taskUUID"],
                    "imageUUID": task["taskUUID"],
                    "imageURL": url,
                    "seed": task.get("seed"),
                    "cost": 0.0013,
                }
            )
        return Reply(json={"data": data})
