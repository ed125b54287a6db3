"""The built-in offline providers pass the conformance suite plugin authors run."""

from __future__ import annotations

import pytest

from storyframe.builtins.placeholder import PlaceholderImageProvider
from storyframe.providers import TextProvider
from storyframe.testing import ImageProviderConformance, TextProviderConformance


class TestHeuristicConformance(TextProviderConformance):
    """``heuristic``, built through the fixture (the other way to name the provider)."""

    @pytest.fixture
    def provider_factory(self) -> type[TextProvider]:
        from storyframe.builtins.heuristic import HeuristicTextProvider

        return HeuristicTextProvider


class TestPlaceholderConformance(ImageProviderConformance):
    """``placeholder``, built from its class with the default config."""

    provider_class = PlaceholderImageProvider
