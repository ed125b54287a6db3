"""The key store: API keys saved by ``storyframe keys set``, in a JSON file only its owner reads.

The file maps a provider or instance name to its key. It lives beside the user's
``storyframe.toml`` (``keys.json`` in the platformdirs user config directory) unless
``$STORYFRAME_KEYS_FILE`` names another path. It is written atomically with mode 0600, and a file
that the group or others may read is refused. A corrupt file is an error and is never rewritten,
so one bad edit cannot wipe every key.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from storyframe.errors import ConfigError
from storyframe.secrets import register_secret

KEYS_ENV = "STORYFRAME_KEYS_FILE"
KEYS_NAME = "keys.json"
_NOTE = "// Note"
_NOTE_TEXT = "storyframe API keys. Edit with `storyframe keys set/remove`; keep this file private."


def keys_path() -> Path:
    """Where the key store is: ``$STORYFRAME_KEYS_FILE``, else ``keys.json`` in the config dir."""
    override = os.environ.get(KEYS_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("storyframe")) / KEYS_NAME


class KeyStore:
    """The stored keys, read on demand; values are never part of its repr or its errors."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else keys_path()

    def __repr__(self) -> str:
        return f"KeyStore({str(self.path)!r})"

    def load(self) -> dict[str, str]:
        """Every stored key by name (empty when there is no file yet)."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise self._error(f"cannot read it: {error.strerror or type(error).__name__}") from None
        if not stat.S_ISREG(info.st_mode):
            raise self._error("is not a regular file", hint=f"Remove it or set ${KEYS_ENV}.")
        if info.st_mode & 0o077:
            raise ConfigError(
                f"keys file {self.path} is readable by other users "
                f"(mode {stat.S_IMODE(info.st_mode):o}).",
                hint=f"Run: chmod 600 {self.path}",
            )
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            reason = "not valid JSON" if isinstance(error, ValueError) else "cannot read it"
            raise self._error(reason) from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise self._error("is not a JSON object of names to keys")
        keys = {k: v for k, v in data.items() if k != _NOTE}
        for value in keys.values():
            register_secret(value)
        return keys

    def get(self, name: str) -> str | None:
        """The key stored under ``name``, or ``None``."""
        value = self.load().get(name, "").strip()
        return value or None

    def names(self) -> list[str]:
        """The names that have a stored key, sorted."""
        return sorted(self.load())

    def set(self, name: str, value: str) -> None:
        """Store ``value`` as the key of ``name``, replacing any earlier one."""
        value = value.strip()
        if not value:
            raise ConfigError(f"the key for {name!r} is empty.", hint="Paste the key again.")
        register_secret(value)
        keys = self.load()
        keys[name] = value
        self._write(keys)

    def remove(self, name: str) -> bool:
        """Forget the key of ``name``; ``False`` if there was none."""
        keys = self.load()
        if name not in keys:
            return False
        del keys[name]
        self._write(keys)
        return True

    def _write(self, keys: dict[str, str]) -> None:
        from storyframe.project import atomic_write

        data = {_NOTE: _NOTE_TEXT, **dict(sorted(keys.items()))}
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write(self.path, (json.dumps(data, indent=2) + "\n").encode(), mode=0o600)
        except OSError as error:
            raise self._error(
                f"cannot write it: {error.strerror or type(error).__name__}",
                hint="Check the folder is writable.",
            ) from None

    def _error(self, what: str, *, hint: str | None = None) -> ConfigError:
        return ConfigError(
            f"keys file {self.path}: {what}.",
            hint=hint or "Fix or remove the file (keys are set again with `storyframe keys set`).",
        )


__all__ = ["KEYS_ENV", "KEYS_NAME", "KeyStore", "keys_path"]
