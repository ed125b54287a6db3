"""A zip of the whole project folder, under one top folder named after the story."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from storyframe.project import LOCK, Project

# Already-compressed files are stored, not deflated again.
_STORED = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".zip", ".cbz", ".pdf"}


def project_files(project: Project, skip: set[Path]) -> list[Path]:
    """Every file of the project, sorted; not the lock, temporary files, or ``skip``."""
    files = []
    for path in sorted(project.folder.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.resolve() in skip:
            continue
        if path.name == LOCK or (path.name.startswith(".") and path.name.endswith(".tmp")):
            continue
        files.append(path)
    return files


def build(project: Project, top: str, *, skip: set[Path]) -> bytes:
    """The ``.zip`` bytes: each project file as ``top/<relative path>``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in project_files(project, skip):
            relative = path.relative_to(project.folder).as_posix()
            method = zipfile.ZIP_STORED if path.suffix.lower() in _STORED else zipfile.ZIP_DEFLATED
            archive.write(path, f"{top}/{relative}", compress_type=method)
    return buffer.getvalue()
