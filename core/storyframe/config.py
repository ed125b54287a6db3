"""TOML configuration: where it is found, what it may say, and the errors that name the key.

Lookup order: ``--config FILE``, else ``$STORYFRAME_CONFIG``, else ``./storyframe.toml``, else
``storyframe.toml`` in the user config directory (platformdirs). Every key has a default, so no
file is needed. API keys never come from this file: they come from the provider's environment
variable or its ``api_key_file``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from storyframe.errors import ConfigError
from storyframe.models import SceneCount
from storyframe.providers import Provider, ProviderConfig
from storyframe.secrets import register_secret

CONFIG_NAME = "storyframe.toml"
CONFIG_ENV = "STORYFRAME_CONFIG"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _chain(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("must name at least one provider")
    if len(set(value)) != len(value):
        raise ValueError("names a provider twice")
    return value


class TextSection(_Section):
    """``[text]``: the text provider fallback chain."""

    providers: list[str] = Field(default_factory=lambda: ["openrouter", "heuristic"])
    enhance_prompts: bool = False

    _check_chain = field_validator("providers")(_chain)


class ImageSection(_Section):
    """``[image]``: the image provider fallback chain."""

    providers: list[str] = Field(default_factory=lambda: ["runware", "placeholder"])

    _check_chain = field_validator("providers")(_chain)


class RunSection(_Section):
    """``[run]``: defaults for ``storyframe run``; command-line options override them."""

    scenes: SceneCount = 6
    auto_min: int = Field(default=4, ge=1, le=200)
    auto_max: int = Field(default=24, ge=1, le=200)
    style: str = "cinematic"
    seed: int | None = Field(default=None, ge=0)
    width: int | None = Field(default=None, ge=64, le=4096)
    height: int | None = Field(default=None, ge=64, le=4096)
    concurrency: int = Field(default=4, ge=1, le=64)
    out_dir: str = "out"
    max_story_bytes: int = Field(default=20_000_000, ge=1)
    encoding: str = "utf-8"

    @field_validator("auto_max")
    @classmethod
    def _auto_range(cls, value: int, info: ValidationInfo) -> int:
        if value < info.data.get("auto_min", 1):
            raise ValueError("must not be less than auto_min")
        return value


class Config(_Section):
    """The whole configuration."""

    text: TextSection = Field(default_factory=TextSection)
    image: ImageSection = Field(default_factory=ImageSection)
    run: RunSection = Field(default_factory=RunSection)
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)

    source: Path | None = Field(default=None, exclude=True)

    def origin(self) -> str:
        """Where this config came from, for messages."""
        return str(self.source) if self.source else "built-in defaults"

    def provider_config(self, cls: type[Provider]) -> ProviderConfig:
        """Validate ``[providers.NAME]`` with the provider's own model."""
        raw = dict(self.providers.get(cls.name, {}))
        if "api_key" in raw:
            raise ConfigError(
                f"{self.origin()}: [providers.{cls.name}] api_key: keys are never read from "
                "the config file.",
                hint=f"Set {cls.key_env or 'the key variable'} or api_key_file instead.",
            )
        try:
            return cls.config_model.model_validate(raw)
        except ValidationError as error:
            raise _config_error(error, self.origin(), prefix=("providers", cls.name)) from None


def user_config_path() -> Path:
    """``storyframe.toml`` in the user config directory."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("storyframe")) / CONFIG_NAME


def find_config(explicit: Path | None = None) -> Path | None:
    """The config file to use, or ``None`` for the defaults."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    local = Path.cwd() / CONFIG_NAME
    if local.is_file():
        return local
    user = user_config_path()
    return user if user.is_file() else None


def load_config(explicit: Path | None = None) -> Config:
    """Find, parse and validate the configuration."""
    path = find_config(explicit)
    if path is None:
        return Config()
    if not path.exists():
        where = "--config path" if explicit is not None else f"${CONFIG_ENV} path"
        raise ConfigError(f"config file {path} does not exist.", hint=f"Check the {where}.")
    if path.is_dir():
        raise ConfigError(f"config file {path} is a directory.", hint="Name a .toml file.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"{path}: invalid TOML: {error}.", hint="Fix the syntax at that line."
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"{path}: cannot read: {error}.",
            hint="Check the file is readable and saved as UTF-8 (TOML requires it).",
        ) from None
    return parse_config(data, path)


def parse_config(data: dict[str, Any], source: Path | None = None) -> Config:
    """Validate already-parsed TOML data."""
    origin = str(source) if source else "config"
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        raise _config_error(error, origin) from None
    for name, section in config.providers.items():
        if not isinstance(section, dict):
            raise ConfigError(
                f"{origin}: [providers.{name}] must be a table, not {type(section).__name__}.",
                hint=f"Write it as a [providers.{name}] section.",
            )
    config.source = source
    return config


def _key_path(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if not isinstance(p, int)]
    if not parts:
        return "(top level)"
    if len(parts) == 1:
        return parts[0]
    if parts[0] == "providers" and len(parts) >= 2:
        section, rest = f"[providers.{parts[1]}]", parts[2:]
    else:
        section, rest = f"[{parts[0]}]", parts[1:]
    return f"{section} {'.'.join(rest)}".strip()


def _config_error(error: ValidationError, origin: str, prefix: tuple[str, ...] = ()) -> ConfigError:
    first = error.errors()[0]
    location = prefix + tuple(first["loc"])
    key = _key_path(location)
    if first["type"] == "extra_forbidden":
        return ConfigError(
            f"{origin}: {key}: unknown key.",
            hint="Remove it or check the spelling (see `storyframe config show`).",
        )
    if first["type"] == "path_not_file":
        return ConfigError(
            f"{origin}: {key}: file {first.get('input')!s} does not exist.",
            hint="Point it at the file that holds the key.",
        )
    got = first.get("input")
    got_text = "" if isinstance(got, dict) else f" (got {got!r})"
    message = first["msg"].removeprefix("Value error, ")
    return ConfigError(
        f"{origin}: {key}: {message}{got_text}.",
        hint="Fix the value, or remove the key to use the default.",
    )


def resolve_key(cls: type[Provider], config: ProviderConfig) -> tuple[SecretStr | None, str]:
    """The provider's API key and where it came from ("" when there is none).

    The environment variable wins over ``api_key_file``.
    """
    if cls.key_env:
        value = os.environ.get(cls.key_env, "").strip()
        if value:
            register_secret(value)
            return SecretStr(value), f"env {cls.key_env}"
    if config.api_key_file is not None:
        try:
            value = config.api_key_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(
                f"[providers.{cls.name}] api_key_file: cannot read {config.api_key_file}: "
                f"{type(error).__name__}.",
                hint="Check the file exists and is readable.",
            ) from None
        if value:
            register_secret(value)
            return SecretStr(value), f"file {config.api_key_file}"
    return None, ""


__all__ = [
    "CONFIG_ENV",
    "CONFIG_NAME",
    "Config",
    "ImageSection",
    "RunSection",
    "TextSection",
    "find_config",
    "load_config",
    "parse_config",
    "resolve_key",
    "user_config_path",
]
