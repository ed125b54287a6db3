"""A cache of what the installed plugins register, so the listing commands start without them.

``storyframe plugins``, ``providers`` and ``styles`` would otherwise import every plugin's
provider modules, and pydantic with them, only to print names. When the plugins are loaded for
real, what they registered is written to ``plugins.json`` in the user cache directory
(``$XDG_CACHE_HOME/storyframe`` on Linux) under a fingerprint of the installation: every
``storyframe`` entry point with its distribution and version, the ``STORYFRAME_LOAD_PLUGINS``
selection, and the size and modification time of every file of the plugins' packages and of
storyframe's own. Installing, upgrading, removing or editing a plugin (in an editable install
too) changes the fingerprint; the next command then loads the plugins normally and writes the
cache again.

The listings of ``providers`` and ``styles`` also depend on the configuration: each is kept
beside the plugins' data, keyed by the configuration file's path and content, and written by
the command's normal path. What depends on the moment (API keys from the environment, the key
store or a key file; whether configured files exist) is read again on every run.

Anything unexpected (no cache, another fingerprint, a key the normal path would refuse, an
unreadable file) means "not cached": the command loads the plugins and reports as before.
``STORYFRAME_NO_CACHE=1`` turns the cache off; strict and traced plugin loading bypass it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storyframe.plugins import EntryPoint, PluginHost

NO_CACHE_ENV = "STORYFRAME_NO_CACHE"
CACHE_NAME = "plugins.json"
FORMAT = 1
MAX_ENTRIES = 16
"""Configuration listings kept per fingerprint (the most recent ones)."""


class Stale(Exception):
    """The cache cannot answer; load the plugins."""


def enabled() -> bool:
    """Whether the cache may be read and written in this process."""
    from storyframe.plugins import STRICT_ENV, TRACE_ENV, _flag

    return not (_flag(NO_CACHE_ENV) or _flag(STRICT_ENV) or _flag(TRACE_ENV))


def cache_path() -> Path:
    """``plugins.json`` in the user cache directory (``$XDG_CACHE_HOME`` honoured)."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    if base and os.path.isabs(base):
        return Path(base) / "storyframe" / CACHE_NAME
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("storyframe")) / CACHE_NAME


# Fingerprint -----------------------------------------------------------------------------------


def _files(root: str) -> Iterable[list[Any]]:
    """``[path, size, mtime_ns]`` of every file under ``root`` (bytecode caches aside)."""
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError:
        yield [root, -1, -1]
        return
    for entry in entries:
        if entry.name == "__pycache__" or entry.name.endswith((".pyc", ".pyo")):
            continue
        try:
            if entry.is_dir():
                yield from _files(entry.path)
            else:
                info = entry.stat()
                yield [entry.path, info.st_size, info.st_mtime_ns]
        except OSError:
            yield [entry.path, -1, -1]


def _module_files(module: str) -> list[list[Any]]:
    """The files of a top-level module or package, found the way ``import`` would find them."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return [[module, "missing"]]
    found: list[list[Any]] = []
    locations = list(spec.submodule_search_locations or [])
    for location in locations:
        found += _files(location)
    if not locations and spec.origin:
        try:
            info = os.stat(spec.origin)
            found.append([spec.origin, info.st_size, info.st_mtime_ns])
        except OSError:
            found.append([spec.origin, -1, -1])
    return found


def fingerprint(installed: Iterable[EntryPoint]) -> list[Any]:
    """What the plugins' registrations depend on, as plain data to compare."""
    from storyframe import __version__
    from storyframe.plugins import LOAD_ENV

    points = sorted([ep.name, ep.value, ep.distribution, ep.version] for ep in installed)
    modules = sorted({"storyframe", *(p[1].split(":")[0].split(".")[0].strip() for p in points)})
    return [
        FORMAT,
        sys.version,
        __version__,
        os.environ.get(LOAD_ENV),
        points,
        {module: _module_files(module) for module in modules},
    ]


# Reading and writing ---------------------------------------------------------------------------


def _read() -> dict[str, Any] | None:
    try:
        with open(cache_path(), encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def _write(data: dict[str, Any]) -> None:
    """Replace the cache file atomically; a cache that cannot be written is no error."""
    path = cache_path()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(data, file)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _current() -> dict[str, Any]:
    """The cache's data if it was written for the installation as it is now, else :class:`Stale`."""
    if not enabled():
        raise Stale("disabled")
    from storyframe import plugins

    if plugins._host is not None:  # plugins already loaded here: they answer
        raise Stale("loaded")
    data = _read()
    if data is None:
        raise Stale("no cache")
    wanted = fingerprint(plugins.entry_points(plugins.ENTRY_POINT_GROUP))
    # Compared as JSON so that tuples and lists, ints and floats compare as written.
    if json.dumps(data.get("fingerprint")) != json.dumps(wanted):
        raise Stale("changed")
    return data


def save_plugins(host: PluginHost) -> None:
    """Record what ``host``'s plugins registered (called once they are collected)."""
    if host.cache_fingerprint is None:
        return
    data = _read()
    if data is not None and json.dumps(data.get("fingerprint")) == json.dumps(
        host.cache_fingerprint
    ):
        return  # written already, with the listings of this installation
    _write(
        {
            "format": FORMAT,
            "fingerprint": host.cache_fingerprint,
            "plugins": [info.as_dict() for info in host.plugins.values()],
            "warnings": list(host.warnings),
            "listings": [],
        }
    )


def config_key(kind: str, explicit: Path | None) -> list[Any] | None:
    """What a listing of ``kind`` depends on in the configuration: its file and content.

    ``None`` when the file cannot be read (the normal path reports why).
    """
    from storyframe.configfile import find_config

    path = find_config(explicit)
    if path is None:
        return [kind, None]
    try:
        content = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    # "~" in configured paths is expanded with $HOME; relative ones stay relative.
    return [kind, str(path.absolute()), os.path.expanduser("~"), content]


def remember(host: PluginHost, key: list[Any] | None, rows: list[dict[str, Any]]) -> None:
    """Keep a listing made by loading the plugins, for the next run with the same config."""
    if host.cache_fingerprint is None or key is None:
        return
    data = _read()
    if data is None or json.dumps(data.get("fingerprint")) != json.dumps(host.cache_fingerprint):
        return
    listings = [item for item in data.get("listings", []) if item.get("key") != key]
    data["listings"] = [*listings, {"key": key, "rows": rows}][-MAX_ENTRIES:]
    _write(data)


def replay_warnings(data: dict[str, Any]) -> None:
    """Print what loading the plugins printed (a plugin that fails to load is still reported)."""
    for line in data.get("warnings", []):
        print(line, file=sys.stderr)


def plugin_listing() -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The cache and its plugin descriptions (as ``PluginInfo.as_dict``), or ``None``."""
    try:
        data = _current()
    except Stale:
        return None
    listing = data.get("plugins")
    return (data, listing) if isinstance(listing, list) else None


def listing(kind: str, explicit: Path | None) -> tuple[dict[str, Any], list[Any]] | None:
    """The cache and the rows kept for ``kind`` under the current configuration, or ``None``."""
    try:
        data = _current()
        key = config_key(kind, explicit)
    except Stale:
        return None
    if key is None:
        return None
    for item in data.get("listings", []):
        if item.get("key") == key and isinstance(item.get("rows"), list):
            return data, item["rows"]
    return None


# Keys ------------------------------------------------------------------------------------------


def _valid_key(value: str) -> bool:
    """What :func:`storyframe.key_lookup.resolve_key` accepts (else it raises: not cached)."""
    return all(c.isascii() and c.isprintable() and not c.isspace() for c in value)


class KeySources:
    """Where each provider's key comes from, as :func:`storyframe.key_lookup.resolve_key` decides.

    Raises :class:`Stale` wherever the normal path would raise, so that it reports the error.
    """

    def __init__(self) -> None:
        self._stored: dict[str, str] | None = None

    def _store(self) -> dict[str, str]:
        if self._stored is None:
            from storyframe.keys import KeyStore

            try:
                self._stored = KeyStore().load()
            except Exception as error:
                raise Stale("key store") from error
        return self._stored

    def source(self, name: str, key_env: str | None, key_file: str | None) -> str:
        """ "env VAR", "stored key", "file PATH", or "" for no key."""
        if key_env:
            value = os.environ.get(key_env, "")
            if value.strip():
                if not _valid_key(value):
                    raise Stale("bad key")
                return f"env {key_env}"
        stored = self._store().get(name, "").strip()
        if stored:
            if not _valid_key(stored):
                raise Stale("bad key")
            return "stored key"
        if key_file is not None:
            try:
                with open(key_file, "rb") as file:
                    value = file.read().decode("utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise Stale("key file") from error
            value = value.removesuffix("\n").removesuffix("\r")
            if value.strip():
                if not _valid_key(value):
                    raise Stale("bad key")
                return f"file {key_file}"
        return ""


def paths_unchanged(paths: list[list[Any]]) -> bool:
    """Whether each configured path is still what it was (a file, a folder, or absent)."""
    return all(path_kind(path) == kind for path, kind in paths)


def path_kind(path: str) -> str:
    """``"file"``, ``"dir"`` or ``"none"``."""
    if os.path.isfile(path):
        return "file"
    return "dir" if os.path.isdir(path) else "none"


__all__ = [
    "CACHE_NAME",
    "NO_CACHE_ENV",
    "KeySources",
    "Stale",
    "cache_path",
    "config_key",
    "enabled",
    "fingerprint",
    "listing",
    "path_kind",
    "paths_unchanged",
    "plugin_listing",
    "remember",
    "replay_warnings",
    "save_plugins",
]
