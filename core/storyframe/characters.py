"""The character bible: main characters, their reference sheets, and the references of a scene.

A main character (most mentioned first, ``[image] sheets`` of them at most) gets a reference
sheet: a neutral full-figure portrait on a plain background, drawn once in the story's style from
the character's look fields (:mod:`storyframe.sheets` draws them). With ``[image] references``
each scene's request then carries the sheets of the characters present in it, most important
first (:class:`References`); a provider that keeps uploads at its service gets each sheet
uploaded once, its id saved in the manifest before any request uses it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from storyframe.chains import guarded
from storyframe.errors import ProviderError
from storyframe.models import (
    Character,
    CharacterSheet,
    ImageRequest,
    ReferenceImage,
    Scene,
    Storyboard,
    Style,
)
from storyframe.prompts import MAX_SEED, look_text

if TYPE_CHECKING:
    from storyframe.image_chain import ImageChain
    from storyframe.project import Project
    from storyframe.providers import ImageProvider, UploadListener

SHEET_NUMBERS = 1000
"""Sheet requests are numbered from ``SHEET_NUMBERS + 1`` (scenes stop at 200): one budget and
one chain never mix a sheet up with a scene."""

"""The structured look fields of a :class:`Character`, in the order a sheet's prompt says them."""


def slug(name: str) -> str:
    """``mara-the-fox`` from ``Mara the Fox``: the sheet's file name part."""
    text = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
    return text[:48].strip("-") or hashlib.sha256(name.encode()).hexdigest()[:8]


def sheet_file(name: str) -> str:
    """The sheet's image name in the project, without extension: ``character-<slug>``."""
    return f"character-{slug(name)}"


def sheet_seed(base: int, name: str) -> int:
    """The seed of a character's first sheet: from the story seed and the name, stable."""
    digest = hashlib.sha256(f"{base}:character:{name.casefold()}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % (MAX_SEED + 1)


def sheet_prompt(character: Character, style: Style) -> str:
    """The prompt of a character's sheet: a neutral full figure on a plain background."""
    look = look_text(character)
    parts = [
        f"Character reference sheet of {character.name}: one full-figure portrait, head to "
        "feet, standing in a neutral pose, facing the viewer, even light, plain light grey "
        "background, no scenery, no text",
        look,
        style.prompt_suffix,
    ]
    return ". ".join(p.strip().rstrip(".") for p in parts if p.strip())


def sheet_size(board: Storyboard) -> tuple[int, int]:
    """A portrait frame of the project's size: its short side across, its long side down."""
    width, height = board.settings.width, board.settings.height
    return min(width, height), max(width, height)


def main_characters(board: Storyboard, limit: int) -> list[Character]:
    """The main characters, most mentioned first, at most ``limit``.

    Characters no scene shows are left out (a sheet of them would never be sent), and so are
    those never mentioned when the analysis counted mentions for others.
    """
    analysis = board.analysis
    if analysis is None or limit <= 0:
        return []
    cast = list(analysis.characters)
    if board.scenes:
        shown = {
            found.name
            for record in board.scenes
            for name in record.scene.characters
            if (found := analysis.character(name)) is not None
        }
        cast = [c for c in cast if c.name in shown]
    if any(c.mentions for c in cast):
        cast = [c for c in cast if c.mentions]
    cast.sort(key=lambda c: -c.mentions)  # stable: the analysis's order breaks ties
    return cast[:limit]


def ensure_sheets(board: Storyboard, characters: Sequence[Character]) -> list[CharacterSheet]:
    """The sheets of ``characters``, adding a pending one for each that has none yet."""
    known = {sheet.name: sheet for sheet in board.sheets}
    out = []
    for character in characters:
        sheet = known.get(character.name)
        if sheet is None:
            sheet = CharacterSheet(name=character.name)
            board.sheets.append(sheet)
            known[character.name] = sheet
        out.append(sheet)
    return out


def out_of_date(sheet: CharacterSheet, character: Character | None, style: Style) -> bool:
    """Whether a drawn sheet was drawn from another look than the character's now."""
    if character is None or sheet.image is None or not sheet.prompt:
        return False
    return sheet.prompt != sheet_prompt(character, style)


def find_character(board: Storyboard, name: str) -> Character | None:
    """The character called ``name`` (or with that alias) in the project's bible."""
    return board.analysis.character(name) if board.analysis else None


def require_character(board: Storyboard, name: str, folder: object) -> Character:
    """The character called ``name`` (or with that alias); an ``InputError`` listing the names
    of ``folder``'s characters when there is none."""
    from storyframe.errors import InputError

    character = find_character(board, name)
    if character is None:
        cast = board.analysis.characters if board.analysis else []
        names = ", ".join(c.name for c in cast) or "none"
        raise InputError(
            f"{folder} has no character {name!r}; its characters are: {names}.",
            hint="Give one of those names (or an alias).",
        )
    return character


def importance(board: Storyboard) -> dict[str, int]:
    """Each character's rank, most important first (by mentions; the analysis breaks ties)."""
    cast = list(board.analysis.characters) if board.analysis else []
    ranked = sorted(range(len(cast)), key=lambda i: (-cast[i].mentions, i))
    return {cast[i].name: rank for rank, i in enumerate(ranked)}


def reference_of(sheet: CharacterSheet, project: Project) -> ReferenceImage:
    """The reference image a request carries for a drawn sheet."""
    assert sheet.image is not None
    return ReferenceImage(
        name=sheet.name,
        path=(project.folder / sheet.image.path).resolve(),
        media_type=sheet.image.media_type,
        sha256=sheet.image.sha256,
        uploads=dict(sheet.uploads),
    )


def sent_names(provider: ImageProvider, request: ImageRequest) -> list[str]:
    """The names of the sheets ``request`` sends to ``provider``: its first max_references()."""
    if not request.references:
        return []
    try:
        limit = max(0, int(provider.max_references()))
    except Exception:  # an untrusted plugin: References notes it; journal what was carried
        limit = len(request.references)
    return [r.name for r in request.references[:limit]]


def useless_sheets(provider: ImageProvider | None) -> str | None:
    """Why sheets drawn before the scenes would be paid for and sent with no scene: the provider
    that draws the scenes is paid and takes no reference images. ``None`` when sheets are worth
    drawing (it takes them, or it is free: a sheet then costs nothing and shows on the page)."""
    if provider is None or not provider.needs_key:
        return None
    try:
        if int(provider.max_references()) > 0:
            return None
    except Exception:  # an untrusted plugin: treat it as taking none
        pass
    model = f" with model {provider.model_name}" if provider.model_name else ""
    return (
        f"{provider.name}{model} takes no reference images, so the character sheets are not "
        "drawn (they would be paid for and change no scene); scenes carry the characters' looks "
        "as text. Choose a model that takes references (docs/characters.md), or draw the sheets "
        "for the page alone with `storyframe characters PROJECT`."
    )


class References:
    """The drawn sheets of a project, as references for its scenes (set on a SceneDrawer)."""

    def __init__(
        self, project: Project, board: Storyboard, note: Callable[[str], None] | None = None
    ) -> None:
        self.project = project
        self.board = board
        self.note = note or (lambda message: None)
        rank = importance(board)
        usable = [
            s
            for s in board.sheets
            if s.status == "done" and s.image is not None and project.image_intact(s.image)
        ]
        usable.sort(key=lambda s: rank.get(s.name, len(rank)))
        self.sheets = {s.name: s for s in usable}
        self._refused: set[tuple[str, str]] = set()

    def for_scene(self, scene: Scene) -> list[ReferenceImage]:
        """The sheets of the characters present in ``scene``, most important first."""
        analysis = self.board.analysis
        if analysis is None:
            return []
        present = set()
        for name in scene.characters:
            character = analysis.character(name)
            if character is not None:
                present.add(character.name)
        return [reference_of(s, self.project) for n, s in self.sheets.items() if n in present]

    def named(self, names: Sequence[str]) -> list[ReferenceImage]:
        """The drawn sheets of ``names``, in that order (a recovery resends what was sent)."""
        return [reference_of(self.sheets[n], self.project) for n in names if n in self.sheets]

    async def upload(self, chain: ImageChain, requests: list[ImageRequest]) -> list[ImageRequest]:
        """Upload each sheet the requests need once to each provider that keeps uploads.

        The id is journaled (durably) before it goes into a request. A provider that fails to
        upload is named, and its requests carry the sheet inline. An id a provider replaces
        later (the service forgot the upload) is saved too: see :meth:`listen`.
        """
        for provider in chain.providers:
            if provider.capabilities.uploads:
                provider.upload_listener = self.listen(provider)
        for provider in chain.active():
            if not provider.capabilities.uploads:
                continue
            limit = self._limit(provider)
            needed: dict[str, None] = {}
            for request in requests:
                for reference in request.references[:limit]:
                    needed[reference.name] = None
            for name in needed:
                await self._upload(provider, self.sheets[name])
        return [
            r.model_copy(
                update={
                    "references": [
                        ref.model_copy(update={"uploads": dict(self.sheets[ref.name].uploads)})
                        for ref in r.references
                    ]
                }
            )
            if r.references
            else r
            for r in requests
        ]

    def listen(self, provider: ImageProvider) -> UploadListener:
        """What ``provider`` reports an upload id it replaced to: the sheet's id in the manifest
        is swapped (journaled durably), so a later run neither sends the forgotten id nor
        uploads again."""

        async def replaced(reference: ReferenceImage, upload_id: str | None) -> None:
            sheet = self.sheets.get(reference.name)
            stale = reference.uploads.get(provider.name)
            if sheet is None or sheet.image is None or sheet.image.sha256 != reference.sha256:
                return  # not this project's sheet as it is now
            if stale is None or sheet.uploads.get(provider.name) != stale:
                return  # already replaced, or never saved
            uploads = dict(sheet.uploads)
            if upload_id:
                uploads[provider.name] = upload_id
            else:
                del uploads[provider.name]
            sheet.uploads = uploads
            self.project.record_sheets(self.board, sheet, durable=True)

        return replaced

    def _limit(self, provider: ImageProvider) -> int:
        try:
            return max(0, int(provider.max_references()))
        except Exception as error:  # an untrusted plugin: its references are text only
            self.note(f"{provider.name}: max_references() raised {type(error).__name__}: {error}")
            return 0

    async def _upload(self, provider: ImageProvider, sheet: CharacterSheet) -> None:
        if provider.name in sheet.uploads or (provider.name, sheet.name) in self._refused:
            return
        reference = reference_of(sheet, self.project)
        try:
            upload_id = await guarded(
                provider,
                f"uploading the sheet of {sheet.name}",
                lambda: provider.upload_reference(reference),
            )
        except ProviderError as error:
            self._refused.add((provider.name, sheet.name))
            self.note(
                f"{provider.name}: uploading the sheet of {sheet.name} failed "
                f"({error.one_line()}); sending it inline"
            )
            return
        if upload_id is None:
            return
        if not isinstance(upload_id, str) or not upload_id:
            self._refused.add((provider.name, sheet.name))
            self.note(
                f"{provider.name}: upload_reference returned {type(upload_id).__name__}, not an "
                f"id; sending the sheet of {sheet.name} inline"
            )
            return
        sheet.uploads = {**sheet.uploads, provider.name: upload_id}
        self.project.record_sheets(self.board, sheet, durable=True)


__all__ = [
    "SHEET_NUMBERS",
    "References",
    "ensure_sheets",
    "find_character",
    "importance",
    "main_characters",
    "out_of_date",
    "reference_of",
    "require_character",
    "sent_names",
    "sheet_file",
    "sheet_prompt",
    "sheet_seed",
    "sheet_size",
    "slug",
    "useless_sheets",
]
