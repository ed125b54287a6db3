"""Config lookup, validation errors that name the file and the key, and API key resolution."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import pytest

from storyframe import secrets
from storyframe.config import (
    CONFIG_ENV,
    Config,
    find_config,
    load_config,
    parse_config,
    resolve_key,
    user_config_path,
)
from storyframe.errors import ConfigError
from storyframe.models import GeneratedImage, ImageRequest, Scene, StoryAnalysis, Style
from storyframe.plugins import PluginHost
from storyframe.providers import ImageProvider, ProviderConfig, TextProvider
from storyframe.registry import Registry

KEY_ENV = "STORYFRAME_TEST_FAKE_KEY"


class FakeTextConfig(ProviderConfig):
    model: str = "fake-model"


class FakeText(TextProvider):
    name: ClassVar[str] = "faketext"
    needs_key: ClassVar[bool] = True
    key_env: ClassVar[str | None] = KEY_ENV
    config_model: ClassVar[type[ProviderConfig]] = FakeTextConfig

    async def analyze(self, story: str) -> StoryAnalysis:
        return StoryAnalysis()

    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None = None
    ) -> list[Scene]:
        return []


class FakeImage(ImageProvider):
    name: ClassVar[str] = "fakeimage"

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        return GeneratedImage(scene_number=request.scene_number, provider=self.name)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run in an empty folder, without the fake key, with a fresh set of known secrets."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setattr(secrets, "_known", set())


@pytest.fixture
def host() -> PluginHost:
    host = PluginHost()
    host.text_providers[FakeText.name] = FakeText
    host.image_providers[FakeImage.name] = FakeImage
    return host


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value


def assert_one_line(error: ConfigError, *parts: str) -> None:
    line = error.one_line()
    assert "\n" not in line and "\n" not in str(error)
    assert error.hint, "every config error says how to fix it"
    for part in parts:
        assert part in line, f"{part!r} not in {line!r}"


# Lookup ----------------------------------------------------------------------------------------


def test_defaults_without_a_file() -> None:
    config = load_config()
    assert config == Config()
    assert config.source is None
    assert config.origin() == "built-in defaults"
    assert config.text.providers == ["openrouter", "heuristic"]
    assert config.image.providers == ["runware", "placeholder"]
    assert config.run.scenes == 6
    assert config.providers == {}


def test_user_config_dir_follows_xdg() -> None:
    expected = Path(os.environ["XDG_CONFIG_HOME"]) / "storyframe" / "storyframe.toml"
    assert user_config_path() == expected


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = write(user_config_path(), "[run]\nscenes = 2\n")
    assert find_config() == user
    assert load_config().run.scenes == 2
    assert load_config().source == user

    local = write(tmp_path / "storyframe.toml", "[run]\nscenes = 3\n")
    assert find_config() == local
    assert load_config().run.scenes == 3

    from_env = write(tmp_path / "env" / "custom.toml", "[run]\nscenes = 4\n")
    monkeypatch.setenv(CONFIG_ENV, str(from_env))
    assert find_config() == from_env
    assert load_config().run.scenes == 4

    explicit = write(tmp_path / "explicit.toml", "[run]\nscenes = 5\n")
    assert find_config(explicit) == explicit
    config = load_config(explicit)
    assert config.run.scenes == 5
    assert config.origin() == str(explicit)


def test_blank_env_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, "")
    local = write(tmp_path / "storyframe.toml", "[run]\nscenes = 3\n")
    assert find_config() == local


def test_a_directory_named_storyframe_toml_is_not_picked_up(tmp_path: Path) -> None:
    (tmp_path / "storyframe.toml").mkdir()
    assert find_config() is None


def test_full_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "storyframe.toml",
        """
[text]
providers = ["faketext"]
enhance_prompts = true

[image]
providers = ["fakeimage"]

[run]
scenes = 8
style = "cartoon"
seed = 7
width = 512
height = 512

[providers.faketext]
model = "other"
timeout = 5
""",
    )
    config = load_config(path)
    assert config.text.providers == ["faketext"]
    assert config.text.enhance_prompts is True
    assert config.run.seed == 7
    assert config.provider_config(FakeText) == FakeTextConfig(model="other", timeout=5)


# Bad files -------------------------------------------------------------------------------------


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.toml", "[run]\nscenes = \n")
    error = load_error(path)
    assert_one_line(error, str(path), "invalid TOML", "line 2")


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    error = load_error(path)
    assert_one_line(error, str(path), "does not exist", "--config")


def test_missing_config_file_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "nope.toml"
    monkeypatch.setenv(CONFIG_ENV, str(path))
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert_one_line(caught.value, str(path), "does not exist", CONFIG_ENV)


def test_config_path_is_a_directory(tmp_path: Path) -> None:
    error = load_error(tmp_path)
    assert_one_line(error, str(tmp_path), "is a directory")


def test_config_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b'[run]\nstyle = "caf\xe9"\n')
    assert_one_line(load_error(path), str(path), "cannot read")


@pytest.mark.parametrize(
    ("toml", "parts"),
    [
        ("colour = 1\n", ["colour: unknown key"]),
        ("[run]\nsceens = 3\n", ["[run] sceens: unknown key"]),
        ("[text]\nprovider = ['x']\n", ["[text] provider: unknown key"]),
        ('[run]\nscenes = "six"\n', ["[run] scenes", "integer", "'six'"]),
        ("[run]\nscenes = 0\n", ["[run] scenes", "from 1 to 200", "got 0"]),
        ("[run]\nscenes = 1000\n", ["[run] scenes", "from 1 to 200", '"auto"']),
        ('[run]\nscenes = "many"\n', ["[run] scenes", '"auto"', "'many'"]),
        ("[run]\nauto_min = 9\nauto_max = 3\n", ["[run] auto_max", "less than auto_min"]),
        ("[run]\nwidth = 10\n", ["[run] width", "greater than or equal to 64"]),
        ("[text]\nproviders = []\n", ["[text] providers", "at least one provider"]),
        ('[text]\nproviders = "openrouter"\n', ["[text] providers", "valid list"]),
        (
            '[image]\nproviders = ["placeholder", "placeholder"]\n',
            ["[image] providers", "names a provider twice"],
        ),
        ("run = 5\n", ["run:", "got 5"]),
        ("[providers]\nfaketext = 3\n", ["[providers.faketext]"]),
    ],
)
def test_bad_values_name_file_and_key(tmp_path: Path, toml: str, parts: list[str]) -> None:
    path = write(tmp_path / "storyframe.toml", toml)
    error = load_error(path)
    assert_one_line(error, str(path), *parts)
    assert error.exit_code == 2


def test_parse_config_without_source() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"run": {"scenes": 0}})
    assert_one_line(caught.value, "config: [run] scenes")


# Provider sections (validated by the provider's own model, through the Registry) -------------


def test_unknown_provider_section(tmp_path: Path, host: PluginHost) -> None:
    path = write(tmp_path / "storyframe.toml", "[providers.nosuch]\ntimeout = 3\n")
    config = load_config(path)
    with pytest.raises(ConfigError) as caught:
        Registry(config, host)
    assert_one_line(
        caught.value, str(path), "[providers.nosuch]", "unknown provider", "fakeimage, faketext"
    )


def test_unknown_provider_in_chain(tmp_path: Path, host: PluginHost) -> None:
    path = write(tmp_path / "storyframe.toml", '[text]\nproviders = ["faketext", "nosuch"]\n')
    registry = Registry(load_config(path), host)
    with pytest.raises(ConfigError) as caught:
        registry.text_slots()
    assert_one_line(caught.value, str(path), "[text] providers", "'nosuch'", "faketext")


def test_image_provider_in_text_chain(tmp_path: Path, host: PluginHost) -> None:
    path = write(tmp_path / "storyframe.toml", '[text]\nproviders = ["fakeimage"]\n')
    registry = Registry(load_config(path), host)
    with pytest.raises(ConfigError) as caught:
        registry.text_slots()
    assert_one_line(caught.value, "unknown text provider 'fakeimage'")


def test_api_key_in_config_is_refused(tmp_path: Path, host: PluginHost) -> None:
    secret = "sk-or-v1-" + "a1" * 20
    path = write(
        tmp_path / "storyframe.toml",
        f'[text]\nproviders = ["faketext"]\n[providers.faketext]\napi_key = "{secret}"\n',
    )
    registry = Registry(load_config(path), host)
    with pytest.raises(ConfigError) as caught:
        registry.text_slots()
    error = caught.value
    assert_one_line(error, str(path), "[providers.faketext] api_key", KEY_ENV, "api_key_file")
    assert secret not in error.one_line()
    assert secret not in repr(error)


@pytest.mark.parametrize(
    ("section", "parts"),
    [
        ("bogus = 1", ["[providers.faketext] bogus: unknown key"]),
        ("timeout = -1", ["[providers.faketext] timeout", "greater than 0"]),
        ('model = ["a"]', ["[providers.faketext] model", "valid string"]),
        ("max_attempts = 0", ["[providers.faketext] max_attempts"]),
    ],
)
def test_bad_provider_section(
    tmp_path: Path, host: PluginHost, section: str, parts: list[str]
) -> None:
    path = write(
        tmp_path / "storyframe.toml",
        f'[text]\nproviders = ["faketext"]\n[providers.faketext]\n{section}\n',
    )
    registry = Registry(load_config(path), host)
    with pytest.raises(ConfigError) as caught:
        registry.text_slots()
    assert_one_line(caught.value, str(path), *parts)


def test_base_provider_config_rejects_unknown_keys(tmp_path: Path, host: PluginHost) -> None:
    path = write(
        tmp_path / "storyframe.toml",
        '[image]\nproviders = ["fakeimage"]\n[providers.fakeimage]\nmodel = "x"\n',
    )
    registry = Registry(load_config(path), host)
    with pytest.raises(ConfigError) as caught:
        registry.image_slots()
    assert_one_line(caught.value, "[providers.fakeimage] model: unknown key")


def test_missing_api_key_file(tmp_path: Path, host: PluginHost) -> None:
    missing = tmp_path / "keys" / "fake.key"
    path = write(
        tmp_path / "storyframe.toml",
        f'[text]\nproviders = ["faketext"]\n[providers.faketext]\napi_key_file = "{missing}"\n',
    )
    registry = Registry(load_config(path), host)
    with pytest.raises(ConfigError) as caught:
        registry.text_slots()
    assert_one_line(caught.value, str(path), "[providers.faketext] api_key_file", str(missing))


# resolve_key -----------------------------------------------------------------------------------


def key_file(tmp_path: Path, value: str) -> Path:
    return write(tmp_path / "fake.key", value)


def test_env_wins_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, " env-secret-0123456789 \n")
    config = FakeTextConfig(api_key_file=key_file(tmp_path, "file-secret-0123456789"))
    key, source = resolve_key(FakeText, config)
    assert key is not None
    assert key.get_secret_value() == "env-secret-0123456789"
    assert source == f"env {KEY_ENV}"


def test_file_used_when_env_unset(tmp_path: Path) -> None:
    path = key_file(tmp_path, "file-secret-0123456789\n")
    key, source = resolve_key(FakeText, FakeTextConfig(api_key_file=path))
    assert key is not None
    assert key.get_secret_value() == "file-secret-0123456789"
    assert source == f"file {path}"
    assert "file-secret" not in repr(key)


@pytest.mark.parametrize("blank", ["", "   ", "\n"])
def test_blank_env_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    monkeypatch.setenv(KEY_ENV, blank)
    assert resolve_key(FakeText, FakeTextConfig()) == (None, "")
    path = key_file(tmp_path, "file-secret-0123456789")
    key, source = resolve_key(FakeText, FakeTextConfig(api_key_file=path))
    assert key is not None and source.startswith("file ")


def test_empty_key_file_means_no_key(tmp_path: Path) -> None:
    path = key_file(tmp_path, "  \n")
    assert resolve_key(FakeText, FakeTextConfig(api_key_file=path)) == (None, "")


def test_key_file_deleted_after_validation(tmp_path: Path) -> None:
    path = key_file(tmp_path, "file-secret-0123456789")
    config = FakeTextConfig(api_key_file=path)
    path.unlink()
    with pytest.raises(ConfigError) as caught:
        resolve_key(FakeText, config)
    assert_one_line(caught.value, "[providers.faketext] api_key_file", "cannot read")


def test_provider_without_key_env(tmp_path: Path) -> None:
    assert resolve_key(FakeImage, ProviderConfig()) == (None, "")
    path = key_file(tmp_path, "image-secret-0123456789")
    key, _ = resolve_key(FakeImage, ProviderConfig(api_key_file=path))
    assert key is not None and key.get_secret_value() == "image-secret-0123456789"


def test_resolved_keys_are_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "env-secret-0123456789")
    resolve_key(FakeText, FakeTextConfig())
    path = key_file(tmp_path, "file-secret-9876543210")
    monkeypatch.delenv(KEY_ENV)
    resolve_key(FakeText, FakeTextConfig(api_key_file=path))
    text = "env-secret-0123456789 and file-secret-9876543210"
    assert secrets.redact(text) == "*** and ***"
    assert "env-secret" not in str(ConfigError("bad key env-secret-0123456789"))


def test_base_url_type_takes_http_urls_only() -> None:
    from pydantic import BaseModel, ValidationError

    from storyframe.providers import BaseURL

    class Section(BaseModel):
        base_url: BaseURL

    assert Section(base_url="https://api.example/v1/").base_url == "https://api.example/v1"
    with pytest.raises(ValidationError, match="must be an http"):
        Section(base_url="file:///etc/passwd")
