"""The TOML that ``storyframe config show`` prints: every key, each with where its value comes from.

TOML has no null, so a key without a value is written as a comment (``# seed = (unset)``). The
output, comments aside, parses back to the same configuration.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel

from storyframe.registry import Registry

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_value(value: Any) -> str:
    """``value`` as a TOML value (inline tables for mappings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = [f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def toml_key(key: str) -> str:
    """A TOML key, quoted when it is not a bare key."""
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _lines(values: dict[str, Any], given: set[str], origin: str) -> list[str]:
    lines = []
    for key, value in values.items():
        where = origin if key in given else "default"
        if value is None:
            lines.append(f"# {key} = (unset)  # {where}")
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}  # {where}")
    return lines


def _model_lines(model: BaseModel, origin: str) -> list[str]:
    values = model.model_dump(mode="json")
    return _lines(values, set(model.model_fields_set), origin)


def render_config(registry: Registry, *, version: str) -> str:
    """The effective configuration of ``registry`` as commented TOML."""
    config = registry.config
    origin = config.source.name if config.source else "file"
    out = [
        f"# storyframe {version}: the effective configuration.",
        f"# Config file: {config.source or 'none (built-in defaults)'}.",
        f'# Each key says where its value comes from: "{origin}" (the file) or "default".',
    ]
    for name in ("text", "image", "run"):
        out += ["", f"[{name}]", *_model_lines(getattr(config, name), origin)]
    for name in registry.names():
        slot = registry.slot(name)
        section = config.providers.get(name, {})
        out += ["", f"[providers.{toml_key(name)}]"]
        instance: dict[str, Any] = {k: section[k] for k in ("use", "key_env") if k in section}
        out += _lines(instance, set(instance), origin)
        out.append(f"# key: {slot.key_label}")
        values = slot.config.model_dump(mode="json")
        out += _lines(values, set(section), origin)
    for name, table in config.styles.items():
        out += ["", f"[styles.{toml_key(name)}]", *_lines(dict(table), set(table), origin)]
    return "\n".join(out) + "\n"


__all__ = ["render_config", "toml_key", "toml_value"]
