"""Load only this plugin (and storyframe's built-ins), afresh for every test; no OpenAI key."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

DISTRIBUTION = "storyframe-openai-compat"

pytest_plugins = ["storyframe.testing.plugin"]  # storyframe's fake_service fixture

# The tests import the fake OpenAI-compatible server (fake_openai.py) that sits beside them.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _only_this_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from storyframe import plugins

    monkeypatch.setenv("STORYFRAME_LOAD_PLUGINS", DISTRIBUTION)
    monkeypatch.delenv("STORYFRAME_STRICT_PLUGINS", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    plugins.reset()
    yield
    plugins.reset()


@pytest.fixture
def allowed_hosts() -> list[str]:
    """Under pytest-recording's --block-network, the fake server on 127.0.0.1 stays reachable."""
    return [r"^127\.0\.0\.1$"]
