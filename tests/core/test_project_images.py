"""Image files in a project: one file per scene and variant, whatever its type."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from storyframe.project import Project


def encoded(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), "red").save(buffer, kind)
    return buffer.getvalue()


def names(project: Project) -> list[str]:
    return sorted(p.name for p in project.images_dir.iterdir())


def test_a_file_of_another_type_left_before_is_removed_others_are_kept(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for name in ("scene-01.png", "scene-01-v2.png", "scene-02.webp"):
        (images / name).write_bytes(b"left by an earlier run")
    project = Project(tmp_path)
    stored = project.store_image(1, encoded("JPEG"), "image/jpeg", 8, 6)
    assert stored.path == "images/scene-01.jpg"
    assert names(project) == ["scene-01-v2.png", "scene-01.jpg", "scene-02.webp"]

    download = images / ".scratch.download.tmp"
    download.write_bytes(encoded("PNG"))
    project.adopt_image(
        2, download, media_type="image/png", width=8, height=6, sha256="0" * 64, size=1
    )
    assert names(project) == ["scene-01-v2.png", "scene-01.jpg", "scene-02.png"]


def test_a_type_change_in_the_same_command_removes_the_older_file(tmp_path: Path) -> None:
    project = Project(tmp_path)  # no images folder yet
    project.store_image(3, encoded("PNG"), "image/png", 8, 6, variant=2)
    project.store_image(3, encoded("WEBP"), "image/webp", 8, 6, variant=2)
    assert names(project) == ["scene-03-v2.webp"]
    stored = project.store_image(3, encoded("JPEG"), "image/jpeg", 8, 6, variant=2)
    project.discard_image(stored)
    assert names(project) == []
    project.store_image(3, encoded("PNG"), "image/png", 8, 6, variant=2)
    assert names(project) == ["scene-03-v2.png"]
