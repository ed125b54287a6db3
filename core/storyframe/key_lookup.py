"""Where a provider's API key comes from: the environment, the key store, or a key file.

Never the config file. A key is checked (printable ASCII, no whitespace) and registered for
redaction before anything uses it.
"""

from __future__ import annotations

import enum
import os
from typing import TYPE_CHECKING

from pydantic import SecretStr

from storyframe.errors import ConfigError
from storyframe.secrets import register_secret

if TYPE_CHECKING:
    from storyframe.keys import KeyStore
    from storyframe.providers import Provider, ProviderConfig


class Inherit(enum.Enum):
    """Marker: take the key variable from the provider class."""

    CLASS = "class"


def resolve_key(
    cls: type[Provider],
    config: ProviderConfig,
    *,
    name: str | None = None,
    key_env: str | Inherit | None = Inherit.CLASS,
    store: KeyStore | None = None,
) -> tuple[SecretStr | None, str]:
    """The API key of provider (or instance) ``name`` and where it came from ("" for none).

    The order: the environment variable (``key_env``, by default the class's), then the key
    stored under ``name`` in ``store`` (``storyframe keys set``), then ``api_key_file``. A blank
    value counts as unset; a key file may end in one newline. A key with whitespace or control
    characters inside is refused here, before any request, with an error naming where it came
    from (never the key).
    """
    name = name or cls.name
    variable = cls.key_env if isinstance(key_env, Inherit) else key_env
    if variable:
        value = os.environ.get(variable, "")
        if value.strip():
            _check_key(value, variable)
            register_secret(value)
            return SecretStr(value), f"env {variable}"
    if store is not None:
        stored = store.get(name)
        if stored:
            _check_key(stored, f"the key stored for {name}")
            register_secret(stored)
            return SecretStr(stored), "stored key"
    if config.api_key_file is not None:
        where = f"[providers.{cls.name}] api_key_file {config.api_key_file}"
        try:
            value = config.api_key_file.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(
                f"[providers.{name}] api_key_file: cannot read {config.api_key_file}: "
                f"{type(error).__name__}.",
                hint="Check the file exists and is readable.",
            ) from None
        value = value.removesuffix("\n").removesuffix("\r")
        if value.strip():
            _check_key(value, where)
            register_secret(value)
            return SecretStr(value), f"file {config.api_key_file}"
    return None, ""


_KEY_CHARACTERS = {" ": "a space", "\t": "a tab", "\n": "a line break", "\r": "a carriage return"}


def _check_key(value: str, where: str) -> None:
    for position, char in enumerate(value, start=1):
        if char.isascii() and char.isprintable() and not char.isspace():
            continue
        if char in _KEY_CHARACTERS:
            what = _KEY_CHARACTERS[char]
        elif char.isspace() or not char.isprintable():
            what = f"a control or space character (U+{ord(char):04X})"
        else:
            what = "a non-ASCII character"
        raise ConfigError(
            f"{where}: the key has {what} at character {position} of {len(value)}; "
            "API keys are printable ASCII with no whitespace.",
            hint="Set it again as the bare key on one line.",
        )


__all__ = ["Inherit", "resolve_key"]
