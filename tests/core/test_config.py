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
    did_you_mean,
    find_config,
    load_config,
    parse_config,
    resolve_key,
    user_config_path,
)
from storyframe.errors import ConfigError
from storyframe.keys import KeyStore
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
    monkeypatch.setenv(KEY_ENV, "env-secret-0123456789")
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


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("env-secret-0123\r\n456789", "a carriage return at character 16 of 23"),
        ("env-secret-0123456789\n", "a line break at character 22"),
        (" env-secret-0123456789", "a space at character 1"),
        ("env-secret\t0123456789", "a tab"),
        ("env-secret-\x1b0123456789", "a control or space character (U+001B) at character 12"),
        ("env-secret-\u00e90123456789", "a non-ASCII character"),
    ],
)
def test_key_with_whitespace_or_control_characters_in_env_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, what: str
) -> None:
    monkeypatch.setenv(KEY_ENV, value)
    with pytest.raises(ConfigError) as caught:
        resolve_key(FakeText, FakeTextConfig())
    assert_one_line(caught.value, f"{KEY_ENV}: the key has {what}")
    assert "0123" not in caught.value.one_line() + repr(caught.value)
    assert secrets._known == set(), "a refused key is not registered or used"


def test_key_file_may_end_in_one_newline_only(tmp_path: Path) -> None:
    for ending in ("\n", "\r\n"):
        path = key_file(tmp_path, f"file-secret-0123456789{ending}")
        key, _ = resolve_key(FakeText, FakeTextConfig(api_key_file=path))
        assert key is not None and key.get_secret_value() == "file-secret-0123456789"
    path = key_file(tmp_path, "file-secret-0123456789\n\n")
    with pytest.raises(ConfigError) as caught:
        resolve_key(FakeText, FakeTextConfig(api_key_file=path))
    assert_one_line(
        caught.value, f"[providers.faketext] api_key_file {path}: the key has a line break"
    )
    assert "0123456789" not in caught.value.one_line()


def test_key_file_with_a_line_break_inside_is_refused(tmp_path: Path) -> None:
    path = key_file(tmp_path, "file-secret\r\n0123456789\n")
    with pytest.raises(ConfigError) as caught:
        resolve_key(FakeText, FakeTextConfig(api_key_file=path))
    assert_one_line(caught.value, str(path), "a carriage return at character 12")
    assert "file-secret" not in caught.value.one_line()


# Suggestions -----------------------------------------------------------------------------------


def test_did_you_mean_picks_the_closest_name() -> None:
    names = ["runware", "placeholder", "openrouter-image"]
    assert did_you_mean("runwre", names) == "; did you mean 'runware'?"
    assert did_you_mean("Placeholdr", names) == "; did you mean 'placeholder'?"
    assert did_you_mean("zzz", names) == ""
    assert did_you_mean("x", []) == ""


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[run]\nsceens = 3\n", "[run] sceens: unknown key; did you mean 'scenes'?"),
        ("[imgae]\nproviders = []\n", "imgae: unknown key; did you mean 'image'?"),
        ("[text]\nprovider = ['x']\n", "[text] provider: unknown key; did you mean 'providers'?"),
        ("[run]\nsource = 'x'\n", "[run] source: unknown key."),
    ],
)
def test_unknown_config_key_suggests_the_closest(tmp_path: Path, toml: str, expected: str) -> None:
    path = write(tmp_path / "storyframe.toml", toml)
    assert_one_line(load_error(path), expected)


def test_unknown_provider_config_key_suggests_the_closest(tmp_path: Path, host: PluginHost) -> None:
    path = write(tmp_path / "storyframe.toml", "[providers.faketext]\nmodle = 'x'\n")
    registry = Registry(load_config(path), host)
    with pytest.raises(ConfigError) as caught:
        registry.text_slots(["faketext"])
    assert_one_line(caught.value, "[providers.faketext] modle: unknown key; did you mean 'model'?")


def test_unknown_provider_names_suggest_the_closest(tmp_path: Path, host: PluginHost) -> None:
    path = write(tmp_path / "storyframe.toml", "[providers.faketxt]\ntimeout = 3\n")
    with pytest.raises(ConfigError) as caught:
        Registry(load_config(path), host)
    assert_one_line(caught.value, "unknown provider 'faketxt'; did you mean 'faketext'?")
    registry = Registry(Config(), host)
    with pytest.raises(ConfigError) as caught:
        registry.image_slots(["fakeimag"], origin="--image-provider")
    assert_one_line(
        caught.value,
        "--image-provider: unknown image provider 'fakeimag'; did you mean 'fakeimage'?",
    )
    assert "built-in defaults" not in caught.value.one_line()
    with pytest.raises(ConfigError) as caught:
        registry.slot("fakeimg")
    assert "did you mean 'fakeimage'?" in str(caught.value)


def test_unknown_style_suggests_the_closest(host: PluginHost) -> None:
    host.styles["watercolor"] = Style(name="watercolor", description="soft washes")
    with pytest.raises(ConfigError) as caught:
        Registry(Config(), host).style("watercolour")
    assert_one_line(caught.value, "unknown style 'watercolour'; did you mean 'watercolor'?")


# Named instances: [providers.NAME] with use = "CLASS" ----------------------------------------


def registry_for(tmp_path: Path, toml: str, host: PluginHost | None = None) -> Registry:
    path = write(tmp_path / "storyframe.toml", toml)
    return Registry(load_config(path), host, keys=KeyStore(tmp_path / "keys.json"))


def test_instance_validates_with_its_class_model_and_knows_its_name(
    tmp_path: Path, host: PluginHost
) -> None:
    registry = registry_for(
        tmp_path,
        '[text]\nproviders = ["cheap", "faketext"]\n'
        '[providers.cheap]\nuse = "faketext"\nmodel = "cheap-model"\ntimeout = 7\n',
        host,
    )
    cheap, plain = registry.text_slots()
    assert (cheap.name, cheap.cls, plain.name) == ("cheap", FakeText, "faketext")
    assert cheap.config == FakeTextConfig(model="cheap-model", timeout=7)
    assert plain.config == FakeTextConfig()
    provider = cheap.build()
    assert isinstance(provider, FakeText)
    assert provider.name == "cheap" and FakeText.name == "faketext"
    assert plain.build().name == "faketext"
    assert registry.instances() == {"cheap": "faketext"}
    assert registry.names("text") == ["cheap", "faketext"]


def test_instance_section_errors_name_the_instance(tmp_path: Path, host: PluginHost) -> None:
    registry = registry_for(
        tmp_path,
        '[text]\nproviders = ["cheap"]\n[providers.cheap]\nuse = "faketext"\nbogus = 1\n',
        host,
    )
    with pytest.raises(ConfigError) as caught:
        registry.text_slots()
    assert_one_line(caught.value, "[providers.cheap] bogus: unknown key")


@pytest.mark.parametrize(
    ("section", "parts"),
    [
        ('[providers.x]\nuse = "nosuch"\n', ["[providers.x] use", "'nosuch'", "not an installed"]),
        (
            '[providers.a]\nuse = "faketext"\n[providers.b]\nuse = "a"\n',
            ["[providers.b] use", "'a' is an instance, not a provider class"],
        ),
        ('[providers.fakeimage]\nuse = "faketext"\n', ["'fakeimage' is a provider class"]),
        ("[providers.x]\nuse = 3\n", ["[providers.x] use: must be a string"]),
        ('[providers.x]\nuse = ""\n', ["[providers.x] use: must name a provider class"]),
        ('[providers.x]\nuse = "faketext"\nkey_env = 1\n', ["[providers.x] key_env"]),
        ('[providers."Bad Name"]\nuse = "faketext"\n', ["'Bad Name' is not a valid name"]),
    ],
)
def test_bad_instances_are_one_line_errors(
    tmp_path: Path, host: PluginHost, section: str, parts: list[str]
) -> None:
    path = write(tmp_path / "storyframe.toml", section)
    with pytest.raises(ConfigError) as caught:
        Registry(load_config(path), host)
    assert_one_line(caught.value, str(path), *parts)


def test_instance_of_the_wrong_kind_in_a_chain(tmp_path: Path, host: PluginHost) -> None:
    registry = registry_for(
        tmp_path, '[text]\nproviders = ["pics"]\n[providers.pics]\nuse = "fakeimage"\n', host
    )
    with pytest.raises(ConfigError) as caught:
        registry.text_slots()
    assert_one_line(caught.value, "unknown text provider 'pics'", "faketext")


def test_instance_never_inherits_its_class_key_variable(
    tmp_path: Path, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "class-secret-0123456789")
    monkeypatch.setenv("LOCAL_KEY", "local-secret-0123456789")
    registry = registry_for(
        tmp_path,
        '[providers.local]\nuse = "faketext"\n'
        '[providers.keyed]\nuse = "faketext"\nkey_env = "LOCAL_KEY"\n',
        host,
    )
    local = registry.slot("local")
    assert (local.key, local.key_source, local.keyless, local.configured) == (None, "", True, True)
    keyed = registry.slot("keyed")
    assert keyed.key is not None and keyed.key.get_secret_value() == "local-secret-0123456789"
    assert keyed.key_source == "env LOCAL_KEY"
    assert registry.slot("faketext").key_source == f"env {KEY_ENV}"


def test_instance_with_key_env_but_no_key_is_skipped(tmp_path: Path, host: PluginHost) -> None:
    registry = registry_for(
        tmp_path, '[providers.keyed]\nuse = "faketext"\nkey_env = "UNSET_KEY_VAR"\n', host
    )
    slot = registry.slot("keyed")
    assert not slot.configured
    assert "set UNSET_KEY_VAR" in slot.reason and "storyframe keys set keyed" in slot.reason


def test_two_runware_instances_keep_their_own_model_and_name(tmp_path: Path) -> None:
    registry = registry_for(
        tmp_path,
        '[image]\nproviders = ["rw-fast", "rw-best"]\n'
        '[providers.rw-fast]\nuse = "runware"\nmodel = "runware:100@1"\nkey_env = "FAST_KEY"\n'
        '[providers.rw-best]\nuse = "runware"\nmodel = "runware:101@1"\nsteps = 40\n',
    )
    fast, best = registry.image_slots()
    assert (fast.cls.name, best.cls.name) == ("runware", "runware")
    assert (fast.config.model, best.config.model) == ("runware:100@1", "runware:101@1")  # type: ignore[attr-defined]
    assert best.config.steps == 40  # type: ignore[attr-defined]
    assert (fast.build().name, best.build().name) == ("rw-fast", "rw-best")


# Key resolution order: environment, key store, api_key_file ----------------------------------


def test_key_order_env_then_store_then_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = KeyStore(tmp_path / "keys.json")
    config = FakeTextConfig(api_key_file=key_file(tmp_path, "file-secret-0123456789"))
    assert resolve_key(FakeText, config, store=store)[1] == f"file {tmp_path / 'fake.key'}"
    store.set("faketext", "stored-secret-0123456789")
    key, source = resolve_key(FakeText, config, store=store)
    assert key is not None and key.get_secret_value() == "stored-secret-0123456789"
    assert source == "stored key"
    assert resolve_key(FakeText, config, name="other", store=store)[1].startswith("file ")
    monkeypatch.setenv(KEY_ENV, "env-secret-0123456789")
    assert resolve_key(FakeText, config, store=store)[1] == f"env {KEY_ENV}"


# Styles in TOML ------------------------------------------------------------------------------


def style_host() -> PluginHost:
    from storyframe.styles import BUILTIN_STYLES

    host = PluginHost()
    host.styles = {s.name: s for s in BUILTIN_STYLES}
    return host


def test_toml_style_and_extends(tmp_path: Path) -> None:
    registry = registry_for(
        tmp_path,
        '[styles.pastel]\ndescription = "Soft"\nprompt_suffix = "pastel colours"\n'
        'palette = ["#ffffff", "#000000"]\nwidth = 512\nheight = 512\n'
        '[styles.moody]\nextends = "noir"\nwidth = 800\n',
        style_host(),
    )
    pastel = registry.style("pastel")
    assert (pastel.prompt_suffix, pastel.width, pastel.height) == ("pastel colours", 512, 512)
    moody, noir = registry.style("moody"), registry.style("noir")
    assert moody.width == 800 and moody.height == noir.height
    assert moody.prompt_suffix == noir.prompt_suffix
    assert registry.style_sources["moody"] == "config"
    assert registry.style_sources["noir"] == "built-in"


@pytest.mark.parametrize(
    ("table", "parts"),
    [
        (
            "[styles.noir]\nwidth = 512\n",
            ["[styles.noir]", "already a built-in style", 'extends = "noir"'],
        ),
        (
            '[styles.x]\nextends = "nosuch"\n',
            ["[styles.x] extends: unknown style 'nosuch'", "cinematic"],
        ),
        ("[styles.x]\nwidth = 10\n", ["[styles.x] width", "greater than or equal to 64"]),
        ("[styles.x]\ncolour = 1\n", ["[styles.x] colour: unknown key"]),
        ('[styles.x]\npalette = ["red", "blue"]\n', ["[styles.x] palette", "#rrggbb"]),
        ('[styles.x]\nname = "y"\n', ["[styles.x] name"]),
        ("[styles]\nx = 1\n", ["[styles.x]", "valid dictionary"]),
    ],
)
def test_bad_styles_name_file_and_key(tmp_path: Path, table: str, parts: list[str]) -> None:
    path = write(tmp_path / "storyframe.toml", table)
    with pytest.raises(ConfigError) as caught:
        Registry(load_config(path), style_host())
    assert_one_line(caught.value, str(path), *parts)
