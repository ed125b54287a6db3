"""Throwaway plugin distributions for the plugin-loading tests.

Each test builds plugin distributions as ``*.dist-info`` folders next to their module in a
temporary directory on ``sys.path``, which ``importlib.metadata`` discovers like any installed
distribution. No pip, no venv: every test runs in milliseconds.
"""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storyframe import plugins
from storyframe.plugins import get_host

MakePlugin = Callable[..., tuple[str, str]]

TEXT_PROVIDER = """
from storyframe import hookimpl
from storyframe.models import Scene, StoryAnalysis
from storyframe.providers import TextProvider


class EchoTextProvider(TextProvider):
    name = {provider!r}

    async def analyze(self, story):
        return StoryAnalysis(title="echo")

    async def generate_scenes(self, story, n, style, analysis=None):
        return [Scene(number=1, title="All", description=story, image_prompt=story)]


@hookimpl
def register_text_providers(register):
    register(EchoTextProvider)
"""


@pytest.fixture
def make_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakePlugin]:
    """Build a plugin distribution on ``sys.path``; returns its (distribution, entry point) names.

    ``source`` is the module's code. Names are unique per call, so modules never clash in
    ``sys.modules``; the modules are forgotten after the test.
    """
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    modules: list[str] = []

    def make(source: str, *, entry_point: str | None = None) -> tuple[str, str]:
        token = uuid.uuid4().hex[:8]
        distribution = f"sf-test-plugin-{token}"
        module = f"sf_test_plugin_{token}"
        entry_point = entry_point or f"test-{token}"
        modules.append(module)
        (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        info = site / f"{module}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.2.3\n", encoding="utf-8"
        )
        (info / "entry_points.txt").write_text(
            f"[storyframe]\n{entry_point} = {module}\n", encoding="utf-8"
        )
        return distribution, entry_point

    yield make
    for module in modules:
        sys.modules.pop(module, None)


def load(monkeypatch: pytest.MonkeyPatch, *names: str, strict: bool = False) -> plugins.PluginHost:
    """A fresh host that loads the built-ins and the named plugins only."""
    monkeypatch.setenv(plugins.LOAD_ENV, ",".join(names))
    if strict:
        monkeypatch.setenv(plugins.STRICT_ENV, "1")
    plugins.reset()
    return get_host()
