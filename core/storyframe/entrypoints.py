"""Finding the ``storyframe`` entry points of the installed distributions, without importing
``importlib.metadata`` (its ``email`` parser alone costs more than half of importing click)."""

from __future__ import annotations

import importlib
import os
import re
import sys
from dataclasses import dataclass
from typing import Any

ENTRY_POINT_GROUP = "storyframe"


def normalize(name: str) -> str:
    """A distribution or entry-point name as compared: lower case, runs of ``-_.`` as ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class EntryPoint:
    """One ``storyframe`` entry point and the distribution that declares it."""

    name: str
    value: str
    distribution: str
    version: str

    def load(self) -> Any:
        """Import the entry point's module (and the attribute after ``:``, if any)."""
        module_name, _, attribute = self.value.split("[")[0].partition(":")
        target: Any = importlib.import_module(module_name.strip())
        for part in attribute.strip().split("."):
            if part:
                target = getattr(target, part)
        return target


def _section(text: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of ``[group]`` in an ``entry_points.txt``."""
    found, inside = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            inside = line == f"[{group}]"
        elif inside and "=" in line:
            name, _, value = line.partition("=")
            found.append((name.strip(), value.strip()))
    return found


def _name_and_version(folder: str, stem: str) -> tuple[str, str]:
    """``Name`` and ``Version`` from a distribution's metadata headers (else from its folder)."""
    name, _, version = stem.partition("-")
    fields = {"name": name, "version": version.split("-")[0] or "?"}
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(folder, filename), encoding="utf-8") as file:
                for line in file:
                    if not line.strip():
                        break
                    key, _, value = line.partition(":")
                    if key.lower() in fields:
                        fields[key.lower()] = value.strip()
        except OSError:
            continue
        break
    return fields["name"], fields["version"]


def entry_points(group: str = ENTRY_POINT_GROUP) -> list[EntryPoint]:
    """The entry points of ``group`` declared by the distributions on ``sys.path``.

    What ``importlib.metadata.entry_points(group=...)`` finds (``*.dist-info`` and
    ``*.egg-info`` folders, the first distribution of a name on ``sys.path`` winning), without
    importing ``importlib.metadata`` and its ``email`` parser: that import alone costs more
    than half of importing click, and every command that lists commands pays it.
    """
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for base in sys.path:
        directory = base or "."
        try:
            names = os.listdir(directory)
        except OSError:  # missing, a file, a zip
            continue
        for entry in names:
            stem, dot, suffix = entry.rpartition(".")
            if not dot or suffix not in ("dist-info", "egg-info"):
                continue
            key = normalize(stem.partition("-")[0])
            if key in seen:
                continue
            seen.add(key)
            folder = os.path.join(directory, entry)
            try:
                with open(os.path.join(folder, "entry_points.txt"), encoding="utf-8") as file:
                    points = _section(file.read(), group)
            except OSError:
                continue
            if points:
                distribution, version = _name_and_version(folder, stem)
                found += [EntryPoint(n, v, distribution, version) for n, v in points]
    return found
