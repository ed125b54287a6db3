"""Input limits and clear errors: endless story sources, bad keys, misspelt names, auth notes."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from storyframe.cli import EXIT_USAGE, cli
from storyframe.errors import AuthError
from storyframe.http import HttpResponse

REPO = Path(__file__).resolve().parents[2]
GOLDEN_BIRD = REPO / "examples" / "stories" / "golden-bird.txt"


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def usage_error(result: Result) -> str:
    """The command stopped with exit 2 and exactly one ``Error:`` line on stderr."""
    assert result.exit_code == EXIT_USAGE, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_device_as_story_ends_at_once(tmp_path: Path, device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    started = time.monotonic()
    line = usage_error(invoke("run", device, "-n", "3", "-o", tmp_path / "o"))
    assert time.monotonic() - started < 2
    assert f"{device} looks like a binary file, not text" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_story_from_a_named_pipe_works(tmp_path: Path) -> None:
    fifo = tmp_path / "story.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(GOLDEN_BIRD.read_bytes()))
    writer.start()
    result = invoke("scenes", fifo, "-n", "2", "-o", tmp_path / "o", "-q")
    writer.join(timeout=5)
    assert result.exit_code == 0, result.stderr
    board = json.loads((tmp_path / "o" / "storyboard.json").read_text())
    assert board["story"]["sha256"] == hashlib.sha256(GOLDEN_BIRD.read_bytes()).hexdigest()


def test_symlink_loop_as_story(tmp_path: Path) -> None:
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)
    assert f"{loop} is a symlink loop" in usage_error(invoke("run", loop, "-o", tmp_path / "o"))


def test_a_key_with_a_line_break_names_the_variable_and_never_the_key(tmp_path: Path) -> None:
    key = "rw-secret-123456\r\n7890"
    result = invoke(
        "run", GOLDEN_BIRD, "-n", "2", "-o", tmp_path / "o", env={"RUNWARE_API_KEY": key}
    )
    line = usage_error(result)
    assert "RUNWARE_API_KEY: the key has a carriage return" in line
    assert "unexpected" not in line
    for part in ("rw-secret", "123456", "7890"):
        assert part not in result.output
    assert not (tmp_path / "o").exists(), "refused before any work"


@pytest.mark.parametrize("option", ["--text-provider", "--image-provider"])
@pytest.mark.parametrize("value", ["", " ", ",", " , ,"])
def test_an_empty_provider_option_is_an_error(tmp_path: Path, option: str, value: str) -> None:
    line = usage_error(invoke("run", GOLDEN_BIRD, option, value, "-o", tmp_path / "o"))
    assert f"{option}: give at least one provider name." in line


def test_images_refuses_an_empty_image_provider(tmp_path: Path) -> None:
    line = usage_error(invoke("images", tmp_path / "none", "--image-provider", ","))
    assert "--image-provider: give at least one provider name." in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--image-provider", "runwre"],
            "--image-provider: unknown image provider 'runwre'; did you mean 'runware'?",
        ),
        (
            ["--text-provider", "heuristic,opnrouter"],
            "--text-provider: unknown text provider 'opnrouter'; did you mean 'openrouter'?",
        ),
        (["--style", "watercolour"], "unknown style 'watercolour'; did you mean 'watercolor'?"),
    ],
)
def test_a_misspelt_option_value_names_the_option(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    line = usage_error(invoke("scenes", GOLDEN_BIRD, *args, "-o", tmp_path / "o"))
    assert expected in line
    assert "built-in defaults" not in line


def test_images_names_the_option_for_a_misspelt_provider(tmp_path: Path) -> None:
    out = tmp_path / "gb"
    assert invoke("scenes", GOLDEN_BIRD, "-n", "2", "-o", out, "-q").exit_code == 0
    manifest = (out / "storyboard.json").read_bytes()
    line = usage_error(invoke("images", out, "--image-provider", "placeholdr"))
    assert "--image-provider: unknown image provider 'placeholdr'; did you mean 'placeholder'?" in (
        line
    )
    assert (out / "storyboard.json").read_bytes() == manifest


def test_a_good_option_chain_is_recorded(tmp_path: Path) -> None:
    out = tmp_path / "gb"
    result = invoke(
        "scenes", GOLDEN_BIRD, "-n", "2", "-o", out, "-q", "--image-provider", " placeholder ,"
    )
    assert result.exit_code == 0, result.stderr
    settings = json.loads((out / "storyboard.json").read_text())["settings"]
    assert settings["image_providers"] == ["placeholder"]


@pytest.mark.parametrize("command", [["providers"], ["config", "show"], ["check"]])
def test_info_commands_refuse_an_unknown_chain_name(tmp_path: Path, command: list[str]) -> None:
    config = tmp_path / "storyframe.toml"
    config.write_text('[image]\nproviders = ["runwre", "placeholder"]\n')
    line = usage_error(invoke("--config", config, *command))
    assert f"{config}: [image] providers: unknown image provider 'runwre'" in line
    assert "did you mean 'runware'?" in line


def test_a_misspelt_config_key_gets_a_suggestion(tmp_path: Path) -> None:
    config = tmp_path / "storyframe.toml"
    config.write_text("[run]\nconcurency = 2\n")
    line = usage_error(invoke("--config", config, "config", "show"))
    assert "[run] concurency: unknown key; did you mean 'concurrency'?" in line


# What a rejected key says: the variable to fix and the command that checks it ----------------


def test_runware_auth_note_names_the_variable_and_check() -> None:
    from storyframe_runware.errors import classify

    for body in (
        json.dumps({"errors": [{"code": "invalidApiKey", "message": "Invalid API key."}]}),
        "Unauthorized",
    ):
        error = classify(HttpResponse(status=401, headers={}, body=body.encode()))
        assert isinstance(error, AuthError)
        assert str(error).startswith("Runware rejected the key (RUNWARE_API_KEY): ")
        assert str(error).endswith("Check it with `storyframe check`.")
        assert ".." not in str(error)


def test_openrouter_auth_note_names_the_variable_and_check() -> None:
    from storyframe_openrouter.config import OpenRouterConfig
    from storyframe_openrouter.errors import make_classifier

    classify = make_classifier("openrouter", OpenRouterConfig())
    body = json.dumps({"error": {"code": 401, "message": "User not found."}}).encode()
    error = classify(HttpResponse(status=401, headers={}, body=body))
    assert isinstance(error, AuthError) and error.status == 401
    assert str(error) == (
        "OpenRouter rejected the key (OPENROUTER_API_KEY): User not found. "
        "Check it with `storyframe check`."
    )
