"""Load only this plugin (and storyframe's built-ins), afresh for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

DISTRIBUTION = "storyframe-mosaic"


@pytest.fixture(autouse=True)
def _only_this_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from storyframe import plugins

    monkeypatch.setenv("STORYFRAME_LOAD_PLUGINS", DISTRIBUTION)
    monkeypatch.delenv("STORYFRAME_STRICT_PLUGINS", raising=False)
    plugins.reset()
    yield
    plugins.reset()
