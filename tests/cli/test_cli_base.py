"""What every command shares: one-line usage errors, --config help, the unexpected-error line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from storyframe.cli import EXIT_ERROR, EXIT_USAGE, cli


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="storyframe", catch_exceptions=False)


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["run"], "Error: Missing argument 'STORY' (see 'storyframe run --help')"),
        (
            ["run", "s.txt", "-n", "x"],
            "Error: Invalid value for '-n' / '--scenes': 'x' is not a number of scenes from 1 to "
            "200, nor 'auto' "
            "(see 'storyframe run --help')",
        ),
        (["nope"], "Error: No such command 'nope' (see 'storyframe --help')"),
        (
            ["config", "show", "--bogus"],
            "Error: No such option '--bogus'. Did you mean '--verbose'? "
            "(see 'storyframe config show --help')",
        ),
    ],
)
def test_usage_errors_are_one_line_naming_the_help(argv: list[str], line: str) -> None:
    result = invoke(*argv)
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.splitlines() == [line]
    assert result.stdout == ""


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["providers", "--help"]])
def test_config_help_names_the_environment_variable(argv: list[str]) -> None:
    text = " ".join(invoke(*argv).stdout.split())
    assert "$STORYFRAME_CONFIG" in text


def test_images_help_says_scene_is_repeatable() -> None:
    assert "repeatable" in invoke("images", "--help").stdout


@pytest.fixture
def boom(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_config_path: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("storyframe.config.load_config", fail)


@pytest.mark.usefixtures("boom")
def test_unexpected_error_suggests_verbose_only_without_it() -> None:
    quiet = invoke("providers")
    assert quiet.exit_code == EXIT_ERROR
    assert quiet.stderr.strip() == (
        "Error: unexpected RuntimeError: disk on fire. Run again with -v for the traceback."
    )
    loud = invoke("-v", "providers")
    assert loud.exit_code == EXIT_ERROR
    assert "Traceback" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1] == "Error: unexpected RuntimeError: disk on fire."
