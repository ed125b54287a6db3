"""Offline exports of a project: PDF, comic-book archive, zip of the folder, contact sheet.

Each format is a module with ``build(pages, ...) -> bytes``; :func:`export` picks one, and writes
the file atomically. Scenes with no usable image become a plain "not drawn" page or tile.
Heavy libraries (fpdf2, Pillow) are imported only inside the format that needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from storyframe.errors import InputError, ProjectError
from storyframe.project import Project, atomic_write

if TYPE_CHECKING:
    from PIL import Image
    from PIL.ImageFont import FreeTypeFont, ImageFont

    from storyframe.models import Storyboard

FORMATS = {"pdf": "pdf", "cbz": "cbz", "zip": "zip", "contact-sheet": "png"}
PER_PAGE = (1, 4, 6)
NOT_DRAWN = "not drawn"


@dataclass(frozen=True)
class Page:
    """One scene as an export shows it."""

    number: int
    title: str
    caption: str
    framing: str  # "Shot: wide · Camera: low angle", or ""
    image: Path | None  # None: not drawn (or the file is missing)
    status: str  # why there is no image: "not drawn", "failed", "image missing", ...


@dataclass(frozen=True)
class Pages:
    """What every format needs: the story's title, the frame size, and the scenes in order."""

    title: str
    width: int
    height: int
    pages: list[Page]


def collect(board: Storyboard, project: Project) -> Pages:
    """The scenes of ``board`` in order, each with its image file when there is a usable one."""
    from storyframe.render import local_image, story_title

    pages = []
    for record in sorted(board.scenes, key=lambda r: r.scene.number):
        scene = record.scene
        image = None
        if record.status == "done" and record.image is not None:
            image = local_image(record.image.path, project.folder)
        if image is not None:
            status = ""
        elif record.status == "done":
            status = "image missing"
        elif record.status == "failed":
            status = f"{NOT_DRAWN}: failed"
        elif not record.approved:
            status = f"{NOT_DRAWN}: not approved"
        else:
            status = NOT_DRAWN
        pages.append(
            Page(
                number=scene.number,
                title=scene.title,
                caption=scene.description,
                framing=" · ".join(
                    f"{label}: {value}"
                    for label, value in (("Shot", scene.shot), ("Camera", scene.camera))
                    if value
                ),
                image=image,
                status=status,
            )
        )
    return Pages(story_title(board), board.settings.width, board.settings.height, pages)


def slug(board: Storyboard) -> str:
    """The file-name stem of exports: the story file's name, slugified."""
    from storyframe.story import slugify

    return slugify(PurePosixPath(board.story.path.replace("\\", "/")).stem)


def default_out(board: Storyboard, project: Project, fmt: str) -> Path:
    """``PROJECT/<slug>.<ext>``."""
    return project.folder / f"{slug(board)}.{FORMATS[fmt]}"


def open_image(page: Page, width: int, height: int) -> Image.Image:
    """The scene's image as RGB, or a plain placeholder of ``width`` x ``height``."""
    from PIL import Image, UnidentifiedImageError

    if page.image is not None:
        try:
            with Image.open(page.image) as image:
                return image.convert("RGB")
        except (OSError, UnidentifiedImageError):
            pass
    return placeholder(width, height, f"Scene {page.number}", page.status or "image unreadable")


def placeholder(width: int, height: int, heading: str, status: str) -> Image.Image:
    """A plain grey frame with a thin border, saying ``heading`` and ``status`` in the middle."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (236, 232, 224))
    draw = ImageDraw.Draw(image)
    edge = max(1, min(width, height) // 100)
    draw.rectangle((0, 0, width - 1, height - 1), outline=(170, 162, 150), width=edge)
    size = max(10, min(width, height) // 10)
    for text, y, colour in (
        (heading, height / 2 - size * 0.7, (90, 84, 76)),
        (status, height / 2 + size * 0.7, (140, 132, 120)),
    ):
        draw.text((width / 2, y), text, fill=colour, font=font_of(size), anchor="mm")
    return image


def font_of(size: int) -> FreeTypeFont | ImageFont:
    """Pillow's built-in font at ``size`` pixels (a bitmap font on Pillow < 10.1)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # pragma: no cover - Pillow < 10.1
        return ImageFont.load_default()


def export(
    project: Project, fmt: str, *, out: Path | None = None, per_page: int = 1
) -> tuple[Path, int]:
    """Write ``project`` as ``fmt`` to ``out`` (default ``PROJECT/<slug>.<ext>``).

    Returns the path written and the number of scenes in it.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}.", hint=f"Use one of {', '.join(FORMATS)}.")
    if per_page != 1 and fmt != "pdf":
        raise InputError("--per-page is for --format pdf only.", hint="Leave it out.")
    if per_page not in PER_PAGE:
        raise InputError(
            f"--per-page {per_page} is not offered.", hint="Use 1, 4 or 6 scenes a page."
        )
    board = project.load()
    target = out or default_out(board, project, fmt)
    if target.is_dir():
        raise InputError(f"--out {target} is a folder.", hint="Give a file name.")
    if not target.parent.is_dir():
        raise InputError(
            f"cannot write {target}: the folder {target.parent} does not exist.",
            hint="Create it or choose another --out.",
        )
    pages = collect(board, project)
    if not pages.pages:
        raise InputError(
            f"{project.folder} has no scenes to export.",
            hint="Run `storyframe scenes STORY -o FOLDER` first.",
        )
    if fmt == "pdf":
        from storyframe.export import pdf

        data = pdf.build(pages, per_page=per_page)
    elif fmt == "cbz":
        from storyframe.export import cbz

        data = cbz.build(pages)
    elif fmt == "zip":
        from storyframe.export import archive

        # The project, not its exports: skip this file and the default names of the others.
        skip = {default_out(board, project, name).resolve() for name in FORMATS}
        data = archive.build(project, slug(board), skip=skip | {target.resolve()})
    else:
        from storyframe.export import sheet

        data = sheet.build(pages)
    try:
        atomic_write(target, data)
    except OSError as error:
        reason = (error.strerror or type(error).__name__).lower()
        raise ProjectError(
            f"cannot write {target}: {reason}.", hint="Choose another --out."
        ) from None
    return target, len(pages.pages)


__all__ = ["FORMATS", "NOT_DRAWN", "PER_PAGE", "Page", "Pages", "collect", "default_out", "export"]
