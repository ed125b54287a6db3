"""``storyframe keys``: a 0600 JSON store, values never shown, and where each key comes from."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from storyframe.cli import EXIT_ERROR, EXIT_USAGE, cli
from storyframe.keys import KEYS_ENV, keys_path

SECRET = "rw-stored-secret-0123456789"


def invoke(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(
        cli, [str(a) for a in args], input=input, prog_name="storyframe", catch_exceptions=False
    )


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "private" / "keys.json"
    monkeypatch.setenv(KEYS_ENV, str(path))
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def providers() -> dict[str, dict[str, object]]:
    result = invoke("providers", "--json")
    assert result.exit_code == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_default_path_is_beside_the_user_config() -> None:
    expected = Path(os.environ["XDG_CONFIG_HOME"]) / "storyframe" / "keys.json"
    assert keys_path() == expected
    assert invoke("keys", "path").stdout.strip() == str(expected)


def test_set_list_remove_keep_the_file_private_and_never_show_the_key(store: Path) -> None:
    result = invoke("keys", "set", "runware", input=SECRET + "\n")
    assert result.exit_code == 0, result.stderr
    assert mode(store) == 0o600 and mode(store.parent) == 0o700
    assert json.loads(store.read_text())["runware"] == SECRET
    invoke("keys", "set", "openrouter", input="or-secret-0123456789")
    listed = invoke("keys", "list")
    assert listed.stdout.split() == ["openrouter", "runware"]
    assert invoke("keys").stdout == listed.stdout
    assert json.loads(invoke("keys", "list", "--json").stdout) == ["openrouter", "runware"]
    removed = invoke("keys", "remove", "openrouter")
    assert removed.exit_code == 0
    assert mode(store) == 0o600
    assert invoke("keys", "list").stdout.split() == ["runware"]
    assert sorted(p.name for p in store.parent.iterdir()) == ["keys.json"]  # no temp files
    for output in (result.output, listed.output, removed.output, invoke("providers").output):
        assert SECRET not in output


def test_set_prompts_without_echo_on_a_terminal(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: dict[str, object] = {}

    def prompt(text: str, **options: object) -> str:
        asked.update(options, text=text)
        return SECRET

    monkeypatch.setattr("storyframe.cli.keys._interactive", lambda: True)
    monkeypatch.setattr("click.prompt", prompt)
    assert invoke("keys", "set", "runware").exit_code == 0
    assert asked["hide_input"] is True and asked["text"] == "Key for runware"
    assert json.loads(store.read_text())["runware"] == SECRET


def test_empty_key_is_refused(store: Path) -> None:
    result = invoke("keys", "set", "runware", input="  \n")
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.strip() == "Error: the key for 'runware' is empty. Paste the key again."
    assert not store.exists()


def test_unknown_name_is_stored_with_a_warning(store: Path) -> None:
    result = invoke("keys", "set", "nosuch", input=SECRET)
    assert result.exit_code == 0
    assert "no provider or instance is named 'nosuch'" in result.stderr
    assert "nosuch" in store.read_text()


def test_removing_a_missing_key_fails(store: Path) -> None:
    result = invoke("keys", "remove", "runware")
    assert result.exit_code == EXIT_ERROR
    assert "no stored key for 'runware'" in result.stderr


def test_a_file_others_can_read_is_refused_with_the_fix(store: Path) -> None:
    invoke("keys", "set", "runware", input=SECRET)
    store.chmod(0o644)
    for argv in (["keys", "list"], ["providers"]):
        result = invoke(*argv)
        assert result.exit_code == EXIT_USAGE
        line = result.stderr.strip()
        assert "\n" not in line and f"Run: chmod 600 {store}" in line
        assert SECRET not in result.output


def test_a_corrupt_file_is_refused_and_left_alone(store: Path) -> None:
    store.parent.mkdir()
    store.write_text('{"runware": ')
    store.chmod(0o600)
    result = invoke("keys", "set", "openrouter", input=SECRET)
    assert result.exit_code == EXIT_USAGE
    assert f"keys file {store}: not valid JSON" in result.stderr
    assert store.read_text() == '{"runware": '


def test_key_source_order_env_then_stored_then_file(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "runware.key"
    key_file.write_text("file-secret-0123456789")
    config = tmp_path / "storyframe.toml"
    config.write_text(f'[providers.runware]\napi_key_file = "{key_file}"\n')
    monkeypatch.setenv("STORYFRAME_CONFIG", str(config))
    assert providers()["runware"]["key_source"] == f"file {key_file}"
    invoke("keys", "set", "runware", input=SECRET)
    assert providers()["runware"]["key_source"] == "stored key"
    monkeypatch.setenv("RUNWARE_API_KEY", "env-secret-0123456789")
    assert providers()["runware"]["key_source"] == "env RUNWARE_API_KEY"


def test_an_instance_uses_the_key_stored_under_its_name(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "storyframe.toml"
    config.write_text('[providers.rw-fast]\nuse = "runware"\nmodel = "runware:100@1"\n')
    monkeypatch.setenv("STORYFRAME_CONFIG", str(config))
    monkeypatch.setenv("RUNWARE_API_KEY", "class-secret-0123456789")
    assert providers()["rw-fast"]["key_source"] == "none (keyless instance: no key_env)"
    result = invoke("keys", "set", "rw-fast", input=SECRET)
    assert "warning" not in result.stderr
    row = providers()["rw-fast"]
    assert (row["key_source"], row["configured"], row["use"]) == ("stored key", True, "runware")


def test_a_name_that_cannot_be_a_provider_is_a_usage_error(store: Path) -> None:
    result = invoke("keys", "set", "Bad Name", input=SECRET)
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.startswith("Error: Invalid value for NAME: 'Bad Name' is not a provider")
    assert len(result.stderr.splitlines()) == 1
    assert not store.exists()
