"""Generated parts of the docs, called from the ``[[[cog ...]]]`` blocks of docs/*.md.

Regenerate with ``cog -r docs/cli.md docs/configuration.md``; ``tests/docs/test_docs.py`` runs
``cog --check`` so a change to a command's help or a config field fails the suite until the docs
are regenerated. Output is stable: bundled plugins only, an empty home, an 80-column terminal.
"""

from __future__ import annotations

import os
import tempfile
import types
from collections.abc import Iterator
from typing import Any, Union, get_args, get_origin

import annotated_types
import click
from click.testing import CliRunner
from pydantic import BaseModel
from pydantic.fields import FieldInfo

STYLE_FIELDS = {
    "description": "One line shown by `storyframe styles`.",
    "prompt_suffix": "Added to every image prompt.",
    "negative_prompt": "What to avoid, for providers that take a negative prompt.",
    "palette": "`#rrggbb` colours of the HTML page: background, text, accents.",
    "width": "Default image width.",
    "height": "Default image height.",
    "provider_params": "Extra parameters per provider, e.g. `{ runware = { CFGScale = 4 } }`.",
}


def _stable_environment() -> None:
    os.environ["STORYFRAME_LOAD_PLUGINS"] = "storyframe"
    home = tempfile.mkdtemp(prefix="storyframe-docs-")
    os.environ["HOME"] = home
    os.environ["XDG_CONFIG_HOME"] = os.path.join(home, ".config")
    for name in ("STORYFRAME_CONFIG", "STORYFRAME_KEYS_FILE"):
        os.environ.pop(name, None)
    from storyframe import plugins

    plugins.reset()


# The CLI reference -------------------------------------------------------------------------


def _commands(group: click.Group, ctx: click.Context, path: list[str]) -> Iterator[list[str]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        yield [*path, name]
        if isinstance(command, click.Group):
            yield from _commands(command, click.Context(command, info_name=name), [*path, name])


def cli_reference() -> str:
    """Every command's ``--help``, in command order, as Markdown."""
    _stable_environment()
    from storyframe.cli import cli

    runner = CliRunner()
    out: list[str] = []
    paths = [[], *_commands(cli, click.Context(cli, info_name="storyframe"), [])]
    for path in paths:
        result = runner.invoke(cli, [*path, "--help"], prog_name="storyframe", terminal_width=80)
        if result.exit_code != 0:
            raise RuntimeError(f"storyframe {' '.join(path)} --help failed: {result.output}")
        out += [f"### `{' '.join(['storyframe', *path])}`", ""]
        out += ["```", result.stdout.rstrip(), "```", ""]
    return "\n".join(out).rstrip() + "\n"


# The configuration reference ---------------------------------------------------------------


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        names = [_type_name(a) for a in get_args(annotation) if a is not type(None)]
        return " or ".join(names)
    if origin is list:
        return f"list of {_type_name(get_args(annotation)[0])}"
    if origin is dict:
        return "table"
    if str(origin).endswith("Literal"):
        return " or ".join(f'"{a}"' for a in get_args(annotation))
    if get_origin(annotation) is not None and hasattr(annotation, "__metadata__"):
        return _type_name(get_args(annotation)[0])
    name = getattr(annotation, "__name__", str(annotation))
    return {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}.get(
        name, "path" if "Path" in name else name
    )


def _bounds(field: FieldInfo) -> str:
    parts = []
    for item in field.metadata:
        for attribute, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(item, attribute, None)
            if value is not None and isinstance(item, annotated_types.BaseMetadata):
                parts.append(f"{sign} {value}")
    return f" ({', '.join(parts)})" if parts else ""


def _default(field: FieldInfo) -> str:
    from storyframe.cli.showconfig import toml_value

    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    try:
        return f"`{toml_value(value)}`"
    except TypeError:
        return f"`{value}`"


def _table(fields: dict[str, FieldInfo], descriptions: dict[str, str] | None = None) -> str:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in fields.items():
        text = (descriptions or {}).get(name) or field.description
        if not text:
            raise RuntimeError(f"field {name!r} has no description")
        kind = _type_name(field.annotation) + _bounds(field)
        cells = [f"`{name}`", kind, _default(field), text]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"


def config_section(section: str) -> str:
    """The table of ``[text]``, ``[image]`` or ``[run]``."""
    from storyframe.config import Config

    model = Config.model_fields[section].annotation
    assert isinstance(model, type) and issubclass(model, BaseModel)
    return _table(dict(model.model_fields))


def common_provider_keys() -> str:
    """The keys every ``[providers.NAME]`` section accepts."""
    from storyframe.providers import ProviderConfig

    return _table(dict(ProviderConfig.model_fields))


def style_keys() -> str:
    """The keys of a ``[styles.NAME]`` table."""
    from storyframe.models import Style

    fields = {k: v for k, v in Style.model_fields.items() if k != "name"}
    if set(fields) != set(STYLE_FIELDS):
        raise RuntimeError(f"describe the Style fields in docs/docgen.py: {sorted(fields)}")
    return _table(fields, STYLE_FIELDS)


def provider_sections() -> str:
    """One table per registered provider class: the keys it adds or whose default it changes."""
    _stable_environment()
    from storyframe.plugins import get_host
    from storyframe.providers import ProviderConfig

    host = get_host()
    common = ProviderConfig.model_fields
    out: list[str] = []
    classes = {**host.text_providers, **host.image_providers}
    for name in sorted(classes):
        cls = classes[name]
        owner = host.owner(name)
        plugin = "built in" if owner is None or owner.builtin else f"plugin `{owner.name}`"
        key = f"key from `{cls.key_env}`" if cls.key_env else "no key"
        out += [f"### `[providers.{name}]`", ""]
        out += [f"{cls.kind.capitalize()} provider, {plugin}, {key}. {cls.description}".strip(), ""]
        own = {
            k: f
            for k, f in cls.config_model.model_fields.items()
            if k not in common or _default(f) != _default(common[k])
        }
        out += [_table(own) if own else "Only the common keys.\n", ""]
    return "\n".join(out).rstrip() + "\n"


__all__ = [
    "cli_reference",
    "common_provider_keys",
    "config_section",
    "provider_sections",
    "style_keys",
]
