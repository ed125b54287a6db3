"""The mosaic provider passes storyframe's provider conformance suite."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from storyframe.testing import ImageProviderConformance

from storyframe_mosaic.provider import MosaicConfig, MosaicImageProvider


class TestMosaicConformance(ImageProviderConformance):
    """With the default config."""

    provider_class = MosaicImageProvider


class TestConfiguredMosaicConformance(ImageProviderConformance):
    """With a config of its own, built through the ``provider_factory`` fixture."""

    @pytest.fixture
    def provider_factory(self) -> Callable[[], MosaicImageProvider]:
        config = MosaicConfig(tile_size=8, grout=0, jitter=0.0, concurrency=2)
        return lambda: MosaicImageProvider(config)
