"""``storyframe install`` / ``uninstall``: the exact pip command, exit codes, and refusals."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from storyframe.cli import EXIT_ERROR, EXIT_USAGE, cli


class FakeRun:
    """Stands in for subprocess.run: records argv, returns a chosen exit code."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.code = 0

    def __call__(self, argv: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        assert options == {"check": False}
        self.calls.append(argv)
        return subprocess.CompletedProcess(argv, self.code)


@pytest.fixture
def pip(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRun]:
    fake = FakeRun()
    plugins = iter([{"openrouter"}, {"openrouter", "mosaic"}])
    monkeypatch.setattr(subprocess, "run", fake)
    monkeypatch.setattr("storyframe.cli.install._plugin_names", lambda: next(plugins))
    yield fake


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="storyframe", catch_exceptions=False)


PIP = [sys.executable, "-m", "pip"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["install", "storyframe-mosaic"], ["install", "storyframe-mosaic"]),
        (["install", "-U", "a", "b"], ["install", "--upgrade", "a", "b"]),
        (["install", "--upgrade", "a"], ["install", "--upgrade", "a"]),
        (
            ["install", "-e", "./plugins_example", "-e", "../other"],
            ["install", "--editable", "./plugins_example", "--editable", "../other"],
        ),
        (
            ["install", "--pre", "--no-cache-dir", "a==1.0"],
            ["install", "--pre", "--no-cache-dir", "a==1.0"],
        ),
        (["uninstall", "a", "b"], ["uninstall", "a", "b"]),
        (["uninstall", "a", "-y"], ["uninstall", "a", "--yes"]),
    ],
)
def test_pip_runs_in_storyframes_own_environment(
    pip: FakeRun, argv: list[str], expected: list[str]
) -> None:
    result = invoke(*argv)
    assert result.exit_code == 0, result.stderr
    assert pip.calls == [PIP + expected]


def test_install_names_the_plugins_it_added(pip: FakeRun) -> None:
    result = invoke("install", "storyframe-mosaic")
    assert "Added storyframe plugin(s): mosaic." in result.stderr


def test_install_warns_when_nothing_new_appears(
    pip: FakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storyframe.cli.install._plugin_names", lambda: {"openrouter"})
    result = invoke("install", "requests")
    assert result.exit_code == 0
    assert "adds no new storyframe plugin" in result.stderr


@pytest.mark.parametrize("command", ["install", "uninstall"])
def test_pip_exit_code_is_passed_through(pip: FakeRun, command: str) -> None:
    pip.code = 3
    assert invoke(command, "nosuch-package").exit_code == 3


def test_install_needs_a_package(pip: FakeRun) -> None:
    result = invoke("install")
    assert result.exit_code == EXIT_USAGE
    assert "name at least one package, or -e PATH" in result.stderr
    assert pip.calls == []


@pytest.mark.parametrize("name", ["storyframe", "StoryFrame"])
def test_uninstall_refuses_storyframe_itself(pip: FakeRun, name: str) -> None:
    result = invoke("uninstall", "-y", name)
    assert result.exit_code == EXIT_USAGE
    assert "does not remove storyframe itself" in result.stderr
    assert pip.calls == []


def test_without_pip_the_error_says_how_to_add_plugins(
    pip: FakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pip" else real(name, *a)
    )
    result = invoke("install", "storyframe-mosaic")
    assert result.exit_code == EXIT_ERROR
    assert "pip is not installed" in result.stderr
    assert "uv tool install storyframe --with PACKAGE" in result.stderr
    assert pip.calls == []
