"""Where the configuration file is: light enough for commands that must start fast.

Only the lookup, no parsing or validation (that is :mod:`storyframe.config`, with pydantic).
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_NAME = "storyframe.toml"
CONFIG_ENV = "STORYFRAME_CONFIG"


def user_config_path() -> Path:
    """``storyframe.toml`` in the user config directory."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("storyframe")) / CONFIG_NAME


def find_config(explicit: Path | None = None) -> Path | None:
    """The config file to use, or ``None`` for the defaults.

    ``--config FILE``, else ``$STORYFRAME_CONFIG``, else ``./storyframe.toml``, else
    ``storyframe.toml`` in the user config directory.
    """
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


__all__ = ["CONFIG_ENV", "CONFIG_NAME", "find_config", "user_config_path"]
