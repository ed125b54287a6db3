"""The Runware provider passes storyframe's provider conformance suite (against the emulator)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr

from storyframe.testing import ImageProviderConformance
from storyframe_runware.config import RunwareConfig
from storyframe_runware.provider import RunwareImageProvider

KEY = "rw-conformance-key-77aa"


class TestRunwareConformance(ImageProviderConformance):
    @pytest.fixture
    def provider_factory(self, emulator: Any) -> Callable[[], RunwareImageProvider]:
        emulator.api_key = KEY
        config = RunwareConfig(
            base_url=emulator.base_url,
            allowed_download_hosts=["127.0.0.1"],
            backoff_base=0.001,
            max_attempts=2,
        )
        return lambda: RunwareImageProvider(config, SecretStr(KEY))
