"""The HTML storyboard: one self-contained ``index.html`` in the project folder.

The page has inline CSS only (no fonts, scripts or anything else fetched from elsewhere), refers
to images by paths relative to the project folder, and so works straight from ``file://``, from
a zip, or from any static web server. Everything that comes from a story, a model or a user is
escaped by Jinja2's autoescaping.
"""

from __future__ import annotations

import functools
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from storyframe.models import SceneRecord, Storyboard
from storyframe.project import atomic_write

if TYPE_CHECKING:
    import jinja2

TEMPLATE = "storyboard.html.j2"
TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class ImageView:
    """An image the page shows: its relative URL and intrinsic size."""

    src: str
    width: int
    height: int


@dataclass(frozen=True)
class VariantView:
    """One image drawn for a scene, shown as a thumbnail beside the chosen one."""

    number: int
    image: ImageView
    seed: int | None
    chosen: bool


@dataclass(frozen=True)
class SheetView:
    """A character's reference sheet on the page."""

    name: str
    anchor: str
    look: str
    image: ImageView | None
    provider: str
    fallback: str = ""
    """Who drew the sheet after which provider failed, when a fallback did."""


@dataclass(frozen=True)
class SceneView:
    """What the template needs to show one scene."""

    number: int
    anchor: str
    title: str
    description: str
    characters: list[tuple[str, str]]
    place: str
    time_of_day: str
    shot: str
    camera: str
    status: str
    state: str  # "done", "failed", "pending", "skipped", "missing"
    approved: bool
    image: ImageView | None
    message: str
    prompt: str
    negative_prompt: str
    provider: str
    model: str
    seed: int | None
    cost: str
    seconds: str
    attempts: list[str] = field(default_factory=list)
    variants: list[VariantView] = field(default_factory=list)
    """Every image drawn for the scene, when there is more than one."""
    references: list[str] = field(default_factory=list)
    """The characters whose reference sheets the image was drawn with."""

    @property
    def placeholder(self) -> bool:
        """Whether the image is a placeholder card rather than a model's picture."""
        return self.provider == "placeholder"


def render_html(board: Storyboard, project_dir: Path) -> str:
    """The storyboard page for ``board``, whose images live under ``project_dir``."""
    from storyframe import __version__

    template = _environment().get_template(TEMPLATE)
    root = project_dir.resolve()  # once for the page, not once per image
    scenes = [_scene_view(record, board, root) for record in _in_order(board)]
    analysis = board.analysis
    text_cost = board.text_usage.cost
    image_cost = board.image_cost + sum(s.cost or 0.0 for s in board.sheets if s.image)
    counts = {state: sum(1 for s in scenes if s.state == state) for state in _STATES}
    return template.render(
        board=board,
        title=story_title(board),
        style=board.settings.style,
        scenes=scenes,
        counts={state: n for state, n in counts.items() if n},
        image_providers=_image_providers(scenes),
        text_provider=board.text_provider or "",
        cost=_money(text_cost + image_cost),
        text_cost=_money(text_cost),
        image_cost=_money(image_cost),
        notes=list(board.notes),
        characters=[(c.name, c.look) for c in analysis.characters] if analysis else [],
        places=list(analysis.places) if analysis else [],
        themes=list(analysis.themes) if analysis else [],
        mood=analysis.mood if analysis else "",
        sheets=_sheet_views(board, root),
        sheet_anchor=_sheet_anchor,
        aspect=f"{board.settings.width} / {board.settings.height}",
        updated=board.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
    )


def write_html(board: Storyboard, project_dir: Path) -> Path:
    """Render the page and write it to ``project_dir/index.html`` atomically; return the path."""
    html = render_html(board, project_dir)
    target = project_dir / "index.html"
    atomic_write(target, html.encode("utf-8"))
    return target


# --- helpers -------------------------------------------------------------------------------------

_STATES = ("done", "failed", "pending", "skipped", "missing")


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        bytecode_cache=_bytecode_cache(),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """The compiled template, cached in the user cache directory (compiling it costs more than
    rendering a storyboard); none when that directory cannot be made."""
    import jinja2
    import platformdirs

    folder = Path(platformdirs.user_cache_dir("storyframe")) / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


def _in_order(board: Storyboard) -> list[SceneRecord]:
    return sorted(board.scenes, key=lambda record: record.scene.number)


def story_title(board: Storyboard) -> str:
    """The story's title: recorded, else from the analysis, else from the file name."""
    if board.story.title.strip():
        return board.story.title.strip()
    if board.analysis and board.analysis.title.strip():
        return board.analysis.title.strip()
    stem = PurePosixPath(board.story.path.replace("\\", "/")).stem
    return stem.replace("-", " ").replace("_", " ").strip().title() or "Untitled story"


def _scene_view(record: SceneRecord, board: Storyboard, root: Path) -> SceneView:
    scene = record.scene
    looks = board.analysis
    characters = []
    for name in scene.characters:
        character = looks.character(name) if looks else None
        characters.append((name, character.look if character else ""))

    image: ImageView | None = None
    state: str = record.status
    message = ""
    if record.status == "done":
        if record.image is None:
            state, message = "missing", "No image was recorded for this scene."
        else:
            src = _relative_src(record.image.path, root)
            if src is None:
                state, message = "missing", f"Image not found: {record.image.path}"
            else:
                image = ImageView(src, record.image.width, record.image.height)
    elif record.status == "failed":
        message = record.error or "The image could not be drawn."
        src = _relative_src(record.image.path, root) if record.image else None
        if record.image is not None and src is not None:
            # A failed redraw or take: the image drawn before is still the scene's picture.
            image = ImageView(src, record.image.width, record.image.height)
            message = f"The last drawing failed ({message}); this is the image drawn before."
    elif not record.approved:
        state, message = "skipped", "Not approved: this scene is not drawn until it is approved."
    else:
        message = "Not drawn yet."

    return SceneView(
        number=scene.number,
        anchor=f"scene-{scene.number:02d}",
        title=scene.title,
        description=scene.description,
        characters=characters,
        place=scene.place,
        time_of_day=scene.time_of_day,
        shot=scene.shot,
        camera=scene.camera,
        status=record.status,
        state=state,
        approved=record.approved,
        image=image,
        message=message,
        prompt=record.prompt or scene.image_prompt,
        negative_prompt=record.negative_prompt,
        provider=record.provider or "",
        model=record.model or "",
        seed=record.seed,
        cost=_money(record.cost or 0.0) or ("$0" if record.cost == 0 and record.provider else ""),
        seconds=_duration(record.seconds),
        attempts=list(record.attempts),
        variants=variant_views(record, root, resolved=True) if image is not None else [],
        references=list(record.references),
    )


def variant_views(
    record: SceneRecord, project_dir: Path, *, resolved: bool = False
) -> list[VariantView]:
    """The scene's images on disk, numbered as ``storyframe show`` lists them (none when the
    scene has one image only). ``resolved``: as for :func:`local_image`."""
    from storyframe.takes import chosen_number

    if len(record.variants) < 2:
        return []
    chosen = chosen_number(record)
    root = project_dir if resolved else project_dir.resolve()
    views = []
    for number, variant in enumerate(record.variants, 1):
        src = _relative_src(variant.image.path, root)
        if src is not None:
            image = ImageView(src, variant.image.width, variant.image.height)
            views.append(VariantView(number, image, variant.seed, number == chosen))
    return views if len(views) > 1 else []


def _sheet_anchor(name: str) -> str:
    from storyframe.characters import sheet_file

    return sheet_file(name)


def _sheet_views(board: Storyboard, root: Path) -> list[SheetView]:
    """The drawn character sheets, in the manifest's order (most important first)."""
    from storyframe.characters import sheet_file
    from storyframe.prompts import look_text

    views = []
    for sheet in board.sheets:
        if sheet.image is None:
            continue
        src = _relative_src(sheet.image.path, root)
        character = board.analysis.character(sheet.name) if board.analysis else None
        views.append(
            SheetView(
                name=sheet.name,
                anchor=sheet_file(sheet.name),
                look=look_text(character) if character else "",
                image=ImageView(src, sheet.image.width, sheet.image.height) if src else None,
                provider=sheet.provider or "",
                fallback=f"Drawn by {fb.provider} after {fb.after} failed: {fb.reason}"
                if (fb := sheet.fallback)
                else "",
            )
        )
    return views


def local_image(path: str, project_dir: Path, *, resolved: bool = False) -> Path | None:
    """The file of an image path from the manifest, or None if it is unsafe or missing.

    Only relative paths that stay inside the project folder count; anything else (absolute
    paths, ``..``, URLs) could point somewhere the project does not own. ``resolved`` says
    ``project_dir`` is already resolved (a page resolves it once for all its images).
    """
    posix = PurePosixPath(path.replace("\\", "/"))
    parts = posix.parts
    if not parts or posix.is_absolute() or ".." in parts or ":" in parts[0]:
        return None
    root = project_dir if resolved else project_dir.resolve()
    local = root.joinpath(*parts)
    # Under a resolved root, a path with no symbolic link in it stays inside: one lstat per
    # part of the manifest's path rather than per part of the whole absolute one.
    current = root
    for part in parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            return None
        if stat.S_ISLNK(mode):
            break  # a link: resolve it and check where it leads
    else:
        return local if stat.S_ISREG(mode) else None
    local = local.resolve()
    if not local.is_relative_to(root) or not local.is_file():
        return None
    return local


def _relative_src(path: str, root: Path) -> str | None:
    """A URL for an image path from the manifest, or None if it is unsafe or missing (``root``:
    the project folder, resolved)."""
    if local_image(path, root, resolved=True) is None:
        return None
    return quote(PurePosixPath(path.replace("\\", "/")).as_posix())


def _image_providers(scenes: list[SceneView]) -> list[tuple[str, int]]:
    """Which image providers drew the shown scenes, with their model and a count."""
    counts: dict[str, int] = {}
    for scene in scenes:
        if scene.image is not None and scene.provider:
            label = f"{scene.provider} ({scene.model})" if scene.model else scene.provider
            counts[label] = counts.get(label, 0) + 1
    return list(counts.items())


def _duration(seconds: float | None) -> str:
    """``4.2 s``, ``2 min 5 s``; empty when unknown."""
    if not seconds:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds >= 0.1 else "<0.1 s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _money(amount: float) -> str:
    """``$0.0042`` or ``$1.25``; empty when nothing was spent."""
    if amount <= 0:
        return ""
    if amount < 0.0001:
        return "<$0.0001"
    return f"${amount:.2f}" if amount >= 1 else f"${amount:.4f}".rstrip("0").rstrip(".")


__all__ = [
    "ImageView",
    "SceneView",
    "VariantView",
    "local_image",
    "render_html",
    "story_title",
    "variant_views",
    "write_html",
]
