"""docs/plugins.md matches the code: its files are the plugin's files, its snippets run.

A code block after ``<!-- file: PATH -->`` must equal that file; after ``<!-- excerpt: PATH -->``
it must appear in it verbatim. Every other Python block is executed (the test functions it
defines run against a fake service), and every TOML block is parsed and validated.
"""

from __future__ import annotations

import ast
import fnmatch
import inspect
import re
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from storyframe import plugins
from storyframe.config import parse_config
from storyframe.models import Style
from storyframe.testing import FakeService

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "plugins.md"
BLOCK = re.compile(r"(?:<!-- (file|excerpt): (\S+) -->\n)?```(\w*)\n(.*?)```", re.S)
pytest.importorskip("storyframe_openai_compat", reason="pip install -e ./plugins_example")


@pytest.fixture
def allowed_hosts() -> list[str]:
    """The snippets' fake service listens on 127.0.0.1 (the network stays blocked)."""
    return [r"^127\.0\.0\.1$"]


def blocks(language: str) -> list[tuple[str, str, str]]:
    """(marker, path, code) of every block in ``language``."""
    text = DOC.read_text(encoding="utf-8")
    return [(m, p, code) for m, p, lang, code in BLOCK.findall(text) if lang == language]


PYTHON = blocks("python")
MARKED = [(m, p, code) for m, p, code in PYTHON if m]
RUNNABLE = [code for m, _, code in PYTHON if not m]


@pytest.mark.parametrize(("marker", "path", "code"), MARKED, ids=[f"{m}:{p}" for m, p, _ in MARKED])
def test_shown_code_is_the_plugins_code(marker: str, path: str, code: str) -> None:
    source = (REPO / path).read_text(encoding="utf-8")
    if marker == "file":
        assert code == source, f"docs/plugins.md shows an outdated {path}"
    else:
        assert code in source, f"docs/plugins.md quotes {path} as it no longer reads"


@pytest.mark.parametrize("code", RUNNABLE, ids=[f"snippet-{i}" for i in range(len(RUNNABLE))])
async def test_snippets_run(code: str) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_plugins_snippet"}
    exec(compile(code, str(DOC), "exec"), namespace)
    for name, value in namespace.items():
        if name.startswith("test_") and inspect.iscoroutinefunction(value):
            async with FakeService() as service:
                await value(service)
    if "register_styles" in namespace:
        styles: list[Style] = []
        namespace["register_styles"](styles.append)
        assert styles and all(isinstance(style, Style) for style in styles)
    if "register_commands" in namespace:
        cli = click.Group("storyframe")
        namespace["register_commands"](cli)
        name = next(iter(cli.commands))
        result = CliRunner().invoke(cli, [name, str(DOC)])
        assert result.exit_code == 0 and int(result.output) > 10, result.output


def test_toml_blocks_are_valid_config_and_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plugins.LOAD_ENV, "storyframe-openai-compat")
    plugins.reset()
    host = plugins.get_host()
    project = tomllib.loads((REPO / "plugins_example" / "pyproject.toml").read_text("utf-8"))
    for _, _, code in blocks("toml"):
        data = tomllib.loads(code)
        if "project" in data:
            wanted = project["project"]["entry-points"]["storyframe"]
            for name, module in data["project"]["entry-points"]["storyframe"].items():
                assert wanted[name] == module
        elif "providers" in data:
            config = parse_config(data)
            for name in config.providers:
                cls = host.provider_class(name)
                assert cls is not None, name
                config.provider_config(cls)


def test_the_tutorial_provider_is_under_50_lines() -> None:
    source = (REPO / "plugins_example/storyframe_openai_compat/images.py").read_text("utf-8")
    skip: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            skip.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            skip.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    lines = [
        line
        for number, line in enumerate(source.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#") and number not in skip
    ]
    assert len(lines) < 50
    assert f"That is {len(lines)} lines of code" in DOC.read_text(encoding="utf-8")


def test_the_trace_shown_is_the_trace_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = DOC.read_text(encoding="utf-8")
    shown = [line.strip() for line in doc.splitlines() if "storyframe: trace:" in line]
    monkeypatch.setenv(plugins.TRACE_ENV, "1")
    monkeypatch.setenv(plugins.LOAD_ENV, "storyframe-openai-compat")
    plugins.reset()
    plugins.get_host()
    printed = capsys.readouterr().err.splitlines()
    assert len(shown) == 3
    for line in shown:
        pattern = re.sub(r"\d+\.\d+ ms", "* ms", line)
        assert fnmatch.filter(printed, pattern), f"no trace line like {line!r}"


def test_the_doc_has_the_blocks_this_test_expects() -> None:
    assert len(MARKED) >= 5 and len(RUNNABLE) >= 4  # a broken marker would skip comparisons
