"""TOML configuration: where it is found, what it may say, and the errors that name the key.

Lookup order: ``--config FILE``, else ``$STORYFRAME_CONFIG``, else ``./storyframe.toml``, else
``storyframe.toml`` in the user config directory (platformdirs). Every key has a default, so no
file is needed.

``[providers.NAME]`` configures the provider class ``NAME``, or, with ``use = "CLASS"``, a named
instance of that class (``key_env`` names its key variable; an instance never inherits its
class's). ``[styles.NAME]`` adds a style. API keys never come from this file: they come from the
environment variable, the key store (``storyframe keys set``) or ``api_key_file``, in that order
(:func:`resolve_key`, in :mod:`storyframe.key_lookup`).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from storyframe.configfile import CONFIG_ENV, CONFIG_NAME, find_config, user_config_path
from storyframe.errors import ConfigError
from storyframe.key_lookup import Inherit, resolve_key
from storyframe.models import SceneCount, Style
from storyframe.providers import Provider, ProviderConfig

INSTANCE_KEYS = ("use", "key_env")
"""Keys of ``[providers.NAME]`` that storyframe reads itself; the rest go to the class's model."""
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


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

    providers: list[str] = Field(
        default_factory=lambda: ["openrouter", "heuristic"],
        description="Text providers or instances, tried in order.",
    )
    enhance_prompts: bool = Field(
        default=False, description="One extra text call per scene to polish its image prompt."
    )

    _check_chain = field_validator("providers")(_chain)


class ImageSection(_Section):
    """``[image]``: the image provider fallback chain."""

    providers: list[str] = Field(
        default_factory=lambda: ["runware", "placeholder"],
        description="Image providers or instances, tried in order, for each scene on its own.",
    )
    references: bool = Field(
        default=False,
        description="Draw a reference sheet per main character first and send the sheets of "
        "the characters present with each scene (`storyframe characters`).",
    )
    sheets: int = Field(
        default=4, ge=0, le=20, description="Most main characters that get a reference sheet."
    )

    _check_chain = field_validator("providers")(_chain)


class RunSection(_Section):
    """``[run]``: defaults for ``storyframe run``; command-line options override them."""

    scenes: SceneCount = Field(default=6, description='Scenes per story (1 to 200), or "auto".')
    auto_min: int = Field(default=4, ge=1, le=200, description="Fewest scenes `auto` picks.")
    auto_max: int = Field(default=24, ge=1, le=200, description="Most scenes `auto` picks.")
    style: str = Field(default="cinematic", description="Visual style (`storyframe styles`).")
    seed: int | None = Field(
        default=None, ge=0, description="Story seed; unset: derived from the story's hash."
    )
    width: int | None = Field(
        default=None, ge=64, le=4096, description="Image width; unset: the style's."
    )
    height: int | None = Field(
        default=None, ge=64, le=4096, description="Image height; unset: the style's."
    )
    concurrency: int = Field(default=4, ge=1, le=64, description="Images drawn at once.")
    variants: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Candidate images drawn per scene, each with its own seed; the first drawn "
        "is chosen (`storyframe pick` chooses another).",
    )
    out_dir: str = Field(
        default="out", description="Parent of the default project folder, `out/<story>`."
    )
    max_story_bytes: int = Field(
        default=20_000_000, ge=1, description="Larger story files are refused."
    )
    interrupt_grace: float = Field(
        default=5.0,
        gt=0,
        description="Seconds the work in flight has to stop after Ctrl-C before storyframe "
        "saves and exits anyway.",
    )
    encoding: str = Field(default="utf-8", description="The story file's text encoding.")

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
    styles: dict[str, dict[str, Any]] = Field(default_factory=dict)

    source: Path | None = Field(default=None, exclude=True)

    def origin(self) -> str:
        """Where this config came from, for messages."""
        return str(self.source) if self.source else "built-in defaults"

    def uses(self, name: str) -> str:
        """The provider class that ``name`` stands for: its ``use`` key, else ``name`` itself."""
        return str(self.providers.get(name, {}).get("use") or name)

    def is_instance(self, name: str) -> bool:
        """Whether ``[providers.NAME]`` names an instance of another class (``use``)."""
        return self.uses(name) != name

    def key_env(self, cls: type[Provider], name: str | None = None) -> str | None:
        """The environment variable holding the key of ``name``.

        A class section may override the class's variable with ``key_env``; an instance has only
        the one it names (none: a keyless server, or a key from the store or a file).
        """
        name = name or cls.name
        section = self.providers.get(name, {})
        if "key_env" in section:
            return str(section["key_env"]) or None
        return None if self.is_instance(name) else cls.key_env

    def provider_config(self, cls: type[Provider], name: str | None = None) -> ProviderConfig:
        """Validate ``[providers.NAME]`` (default: the class's name) with the class's model."""
        name = name or cls.name
        raw = {k: v for k, v in self.providers.get(name, {}).items() if k not in INSTANCE_KEYS}
        if "api_key" in raw:
            variable = self.key_env(cls, name)
            raise ConfigError(
                f"{self.origin()}: [providers.{name}] api_key: keys are never read from "
                "the config file.",
                hint=f"Set {variable or 'key_env'}, run `storyframe keys set {name}`, or set "
                "api_key_file instead.",
            )
        try:
            return cls.config_model.model_validate(raw)
        except ValidationError as error:
            raise _config_error(
                error, self.origin(), prefix=("providers", name), model=cls.config_model
            ) from None

    def build_styles(
        self, registered: Mapping[str, Style], sources: Mapping[str, str]
    ) -> list[Style]:
        """Validate the ``[styles.NAME]`` tables into styles.

        A table may not reuse a registered style's name; ``extends = "NAME"`` starts from a
        registered style, and each key given replaces that style's value.
        """
        styles: list[Style] = []
        for name, raw in self.styles.items():
            where = f"{self.origin()}: [styles.{name}]"
            fields = dict(raw)
            if name in registered:
                raise ConfigError(
                    f"{where}: {name!r} is already a {sources.get(name, 'registered')} style; a "
                    "config style may not replace it.",
                    hint=f'Choose another name, with extends = "{name}" to start from it.',
                )
            if "name" in fields:
                raise ConfigError(
                    f"{where} name: the table's name is the style's name.",
                    hint="Remove the key.",
                )
            base: dict[str, Any] = {}
            if "extends" in fields:
                parent = fields.pop("extends")
                if not isinstance(parent, str) or parent not in registered:
                    raise ConfigError(
                        f"{where} extends: unknown style {parent!r}.",
                        hint=f"Extend one of: {', '.join(sorted(registered))}.",
                    )
                base = registered[parent].model_dump()
            try:
                styles.append(Style.model_validate({**base, **fields, "name": name}))
            except ValidationError as error:
                raise _config_error(error, self.origin(), prefix=("styles", name)) from None
        return styles


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
        raise _config_error(error, origin, model=Config) from None
    for table in ("providers", "styles"):
        for name, section in getattr(config, table).items():
            if not isinstance(section, dict):
                raise ConfigError(
                    f"{origin}: [{table}.{name}] must be a table, not {type(section).__name__}.",
                    hint=f"Write it as a [{table}.{name}] section.",
                )
            if not NAME_PATTERN.match(name):
                raise ConfigError(
                    f"{origin}: [{table}.{name}]: {name!r} is not a valid name.",
                    hint="Use lower-case letters, digits, '-', '_' and '.', e.g. local-llama.",
                )

    for name, section in config.providers.items():
        for key in INSTANCE_KEYS:
            value = section.get(key)
            if key in section and not isinstance(value, str):
                raise ConfigError(
                    f"{origin}: [providers.{name}] {key}: must be a string (got {value!r}).",
                    hint='Write it in quotes, e.g. use = "runware".',
                )
        if "use" in section and not section["use"]:
            raise ConfigError(
                f"{origin}: [providers.{name}] use: must name a provider class.",
                hint="Name one (see `storyframe providers`), or remove the key.",
            )
    config.source = source
    return config


def _key_path(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if not isinstance(p, int)]
    if not parts:
        return "(top level)"
    if len(parts) == 1:
        return parts[0]
    if parts[0] in ("providers", "styles") and len(parts) >= 2:
        section, rest = f"[{parts[0]}.{parts[1]}]", parts[2:]
    else:
        section, rest = f"[{parts[0]}]", parts[1:]
    return f"{section} {'.'.join(rest)}".strip()


def _known_keys(model: type[BaseModel], location: tuple[Any, ...]) -> list[str]:
    """The keys ``model`` accepts in the table at ``location`` (a pydantic error location)."""
    for part in location:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return [name for name, field in model.model_fields.items() if not field.exclude]


def _config_error(
    error: ValidationError,
    origin: str,
    prefix: tuple[str, ...] = (),
    model: type[BaseModel] | None = None,
) -> ConfigError:
    first = error.errors()[0]
    location = prefix + tuple(first["loc"])
    key = _key_path(location)
    if first["type"] == "extra_forbidden":
        known = _known_keys(model, tuple(first["loc"])[:-1]) if model else []
        return ConfigError(
            f"{origin}: {key}: unknown key{did_you_mean(str(first['loc'][-1]), known) or '.'}",
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


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'runware'?"`` for the known name closest to ``name``, else ``""``."""
    by_lower = {choice.lower(): choice for choice in known}
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[found[0]]!r}?" if found else ""


__all__ = [
    "CONFIG_ENV",
    "CONFIG_NAME",
    "INSTANCE_KEYS",
    "Config",
    "ImageSection",
    "Inherit",
    "RunSection",
    "TextSection",
    "did_you_mean",
    "find_config",
    "load_config",
    "parse_config",
    "resolve_key",
    "user_config_path",
]
