"""Fixtures for the heuristic text provider's tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from storyframe.builtins.heuristic import HeuristicConfig, HeuristicTextProvider
from storyframe.models import Style
from storyframe.styles import BUILTIN_STYLES

STORIES = Path(__file__).resolve().parents[3] / "shared" / "stories"


@pytest.fixture
def read_story() -> Callable[[str], str]:
    """Read one of the shared public-domain stories (skip the test if they are not there)."""

    def read(name: str) -> str:
        path = STORIES / name
        if not path.exists():
            pytest.skip(f"shared story {name} not available")
        return path.read_text(encoding="utf-8")

    return read


@pytest.fixture
def provider() -> HeuristicTextProvider:
    """The provider with its default config."""
    return HeuristicTextProvider()


@pytest.fixture
def untrimmed() -> HeuristicTextProvider:
    """A provider whose scene descriptions hold the scene's whole text."""
    return HeuristicTextProvider(HeuristicConfig(max_description_chars=10**9))


@pytest.fixture
def style() -> Style:
    """A built-in style (its suffix must never end up in a scene's own prompt)."""
    return BUILTIN_STYLES[0]
