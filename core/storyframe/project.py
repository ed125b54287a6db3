"""The project folder: ``storyboard.json``, ``images/`` and ``index.html``, written atomically.

Every write goes to a temporary file in the same folder, is flushed and fsynced, then renamed
over the target, so a crash or a kill leaves either the old file or the new one, never half of
one.

A scene's state change costs O(1), whatever the scene count: it is appended to a journal beside
the manifest (``.storyframe-journal.jsonl``, one scene record a line; :mod:`storyframe.journal`)
and the manifest is rewritten only at the end of a stage, which empties the journal. Loading
replays the journal over the manifest, so a crash or a kill at any point loses nothing that was
recorded; a line cut short by the kill was never acknowledged and is ignored. The handle of a paid
request is flushed to disk (fsync) before the request is sent; everything else of a stage reaches
the disk in one :meth:`Project.sync` at its end.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from storyframe.errors import ProjectError
from storyframe.journal import Journal
from storyframe.models import (
    SCHEMA_VERSION,
    CharacterSheet,
    ImageFile,
    SceneRecord,
    Storyboard,
    utcnow,
)

MANIFEST = "storyboard.json"
JOURNAL = ".storyframe-journal.jsonl"
LOCK = ".storyframe.lock"
IMAGES = "images"
HTML = "index.html"

_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new content, never a part.

    The file gets ``mode`` (project files are shared, 0644; the key store passes 0600). The
    temporary file is 0600 from birth, so a secret is never readable by others on the way.
    ``durable=False`` leaves the flush to disk to a later :meth:`Project.sync`: the write still
    survives a crash or a kill of storyframe, only not a power loss before that sync.
    """
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    if durable:
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_error(path: Path, error: OSError) -> ProjectError:
    reason = error.strerror or type(error).__name__
    return ProjectError(
        f"cannot write {path}: {reason.lower()}.",
        hint="Check the folder is writable and has free space, or choose another --out.",
    )


class Project:
    """A storyboard project folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._journal = Journal(self.journal_path)
        self._image_names: set[str] | None = None  # see _remove_siblings
        self._listing = threading.Lock()  # stores run on the loop and in worker threads

    @property
    def manifest_path(self) -> Path:
        """``storyboard.json``."""
        return self.folder / MANIFEST

    @property
    def journal_path(self) -> Path:
        """``.storyframe-journal.jsonl``: scene changes since the manifest was last written."""
        return self.folder / JOURNAL

    @property
    def images_dir(self) -> Path:
        """``images/``."""
        return self.folder / IMAGES

    @property
    def html_path(self) -> Path:
        """``index.html``."""
        return self.folder / HTML

    def exists(self) -> bool:
        """Whether the folder holds a manifest."""
        return self.manifest_path.is_file()

    def check_usable(self) -> None:
        """Refuse a path that is a file, or a folder of something else that we would clobber."""
        if self.folder.exists() and not self.folder.is_dir():
            raise ProjectError(
                f"output path {self.folder} is a file, not a folder.",
                hint="Choose another --out.",
            )
        if self.folder.is_dir() and not self.exists():
            clash = [n for n in (HTML, IMAGES) if (self.folder / n).exists()]
            if clash:
                raise ProjectError(
                    f"{self.folder} already holds {' and '.join(clash)} that storyframe did not "
                    "make.",
                    hint="Choose an empty or new --out folder.",
                )

    def prepare(self) -> None:
        """Create the folder and ``images/``; sweep temporary files a killed run left behind."""
        self.check_usable()
        try:
            self.images_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _write_error(self.folder, error) from None
        for folder in (self.folder, self.images_dir):
            for stale in folder.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    stale.unlink()
        if not os.access(self.folder, os.W_OK):
            raise ProjectError(
                f"cannot write to {self.folder}: permission denied.",
                hint="Choose another --out folder.",
            )

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the project for one command, so two runs never write the same folder at once."""
        try:
            import fcntl
        except ImportError:  # not POSIX: no advisory locks
            yield
            return
        self.check_usable()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = open(self.folder / LOCK, "a+")  # noqa: SIM115 - held for the whole block
        except OSError as error:
            raise _write_error(self.folder, error) from None
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ProjectError(
                    f"{self.folder} is in use by another storyframe command.",
                    hint="Wait for it to finish, or choose another --out.",
                ) from None
            yield
        finally:
            handle.close()

    def load(self) -> Storyboard:
        """Read and validate the manifest."""
        path = self.manifest_path
        if not self.folder.exists():
            raise ProjectError(f"{self.folder} does not exist.", hint="Check the project path.")
        if not path.is_file():
            raise ProjectError(
                f"{self.folder} is not a storyframe project (no {MANIFEST}).",
                hint="Run `storyframe scenes STORY -o FOLDER` or `storyframe run` first.",
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise ProjectError(f"cannot read {path}: {error}.") from None
        except json.JSONDecodeError as error:
            raise ProjectError(
                f"{path} is not valid JSON: {error.msg} at line {error.lineno}, "
                f"column {error.colno}.",
                hint="Fix the edit at that line.",
            ) from None
        version = data.get("schema_version") if isinstance(data, dict) else None
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise ProjectError(
                f"{path} has schema version {version}; this storyframe reads up to "
                f"{SCHEMA_VERSION}.",
                hint="Upgrade storyframe.",
            )
        try:
            board = Storyboard.model_validate(data)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ProjectError(
                f"{path}: {where}: {first['msg']}.",
                hint="Fix that field (see docs/manifest.md).",
            ) from None
        self._replay(board)
        return board

    def sync(self) -> None:
        """Flush every write of the stage (journal lines, images) to disk at once."""
        os.sync()

    def save(self, board: Storyboard) -> None:
        """Write the manifest atomically, then empty the journal it now contains."""
        board.updated_at = utcnow()
        data = board.model_dump_json(indent=2).encode() + b"\n"
        try:
            atomic_write(self.manifest_path, data)
        except OSError as error:
            raise _write_error(self.manifest_path, error) from None
        self._journal.clear()  # the manifest, on disk, holds every journal line

    def record(self, board: Storyboard, *records: SceneRecord, durable: bool = False) -> None:
        """Append scene records to the journal: one write for all of them, O(1) in the number of
        scenes. The write survives a crash or a kill at once; ``durable`` also flushes it to
        disk (fsync) before returning, for what must survive a power loss too (the handle of a
        paid request, before it is sent). The rest reaches the disk at :meth:`sync`.
        """
        self._append(board, "record", records, durable)

    async def flush_journal(self) -> None:
        """Return once every journal write made so far is on disk: :meth:`record` with
        ``durable``, the fsync done in a worker thread so the event loop goes on meanwhile;
        callers waiting at once share one fsync."""
        try:
            await self._journal.flush()
        except OSError as error:
            raise _write_error(self.journal_path, error) from None

    def record_sheets(
        self, board: Storyboard, *sheets: CharacterSheet, durable: bool = False
    ) -> None:
        """Append character sheets to the journal, as :meth:`record` does for scenes."""
        self._append(board, "sheet", sheets, durable)

    def _append(
        self,
        board: Storyboard,
        kind: str,
        items: tuple[SceneRecord, ...] | tuple[CharacterSheet, ...],
        durable: bool,
    ) -> None:
        try:
            self._journal.append(board, kind, items, durable)
        except OSError as error:
            raise _write_error(self.journal_path, error) from None

    def _replay(self, board: Storyboard) -> None:
        try:
            self._journal.replay(board)
        except OSError as error:
            raise ProjectError(f"cannot read {self.journal_path}: {error}.") from None

    def image_path(self, number: int | str, media_type: str, variant: int = 1) -> Path:
        """Where scene ``number``'s image goes (``scene-03.png``; a later variant of it,
        ``scene-03-v2.png``; a name for sheets: ``images/NAME.png``)."""
        return self.images_dir / _image_name(number, _EXTENSIONS.get(media_type, ".img"), variant)

    @staticmethod
    def variant_stem(path: str) -> str:
        """The name of an image path without folder and extension (``scene-03-v2``)."""
        return Path(path).name.rsplit(".", 1)[0]

    def store_image(
        self,
        number: int | str,
        data: bytes,
        media_type: str,
        width: int,
        height: int,
        variant: int = 1,
    ) -> ImageFile:
        """Write an image atomically; remove the variant's older file if its type changed."""
        path = self.image_path(number, media_type, variant)
        try:
            self.images_dir.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data, durable=False)  # flushed with the stage (see sync)
        except OSError as error:
            raise _write_error(path, error) from None
        self._remove_siblings(number, path, variant)
        return ImageFile(
            path=path.relative_to(self.folder).as_posix(),
            sha256=hashlib.sha256(data).hexdigest(),
            media_type=media_type,
            width=width,
            height=height,
            bytes=len(data),
        )

    def adopt_image(
        self,
        number: int | str,
        source: Path,
        *,
        media_type: str,
        width: int,
        height: int,
        sha256: str,
        size: int,
        variant: int = 1,
    ) -> ImageFile:
        """Move a verified image file (in ``images/``) into place as scene ``number``'s image.

        The file was written, fsynced, hashed and decoded once as it was downloaded: storing it
        is a rename, not a second write.
        """
        path = self.image_path(number, media_type, variant)
        try:
            os.chmod(source, 0o644)
            os.replace(source, path)
        except OSError as error:
            raise _write_error(path, error) from None
        self._remove_siblings(number, path, variant)
        return ImageFile(
            path=path.relative_to(self.folder).as_posix(),
            sha256=sha256,
            media_type=media_type,
            width=width,
            height=height,
            bytes=size,
        )

    def _remove_siblings(self, number: int | str, path: Path, variant: int = 1) -> None:
        """Remove the same variant's file of another type, if it had one; other variants' files
        are never touched. The folder is listed once (the first time), then the listing is kept
        up to date as images are stored and discarded: no system call per image for files that
        are not there."""
        names = self._listed_images()
        names.add(path.name)
        for extension in (*_EXTENSIONS.values(), ".img"):
            name = _image_name(number, extension, variant)
            if name != path.name and name in names:
                names.discard(name)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.images_dir / name)

    def _listed_images(self) -> set[str]:
        with self._listing:
            if self._image_names is None:
                try:
                    self._image_names = {entry.name for entry in os.scandir(self.images_dir)}
                except (FileNotFoundError, NotADirectoryError):
                    self._image_names = set()
            return self._image_names

    def discard_image(self, image: ImageFile) -> None:
        """Remove a just-stored image file that duplicates one the project keeps already."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.folder / image.path)
        if self._image_names is not None:
            self._image_names.discard(Path(image.path).name)

    def image_intact(self, image: ImageFile | None) -> bool:
        """Whether a recorded image is on disk with the recorded checksum."""
        if image is None:
            return False
        path = self.folder / image.path
        try:
            data = path.read_bytes()
        except OSError:
            return False
        return hashlib.sha256(data).hexdigest() == image.sha256


def _image_name(key: int | str, extension: str, variant: int) -> str:
    """``scene-03.png``, ``scene-03-v2.png``, ``NAME.png``: an image's file name in ``images/``."""
    take = f"-v{variant}" if variant > 1 else ""
    return f"{_stem(key)}{take}{extension}"


def _stem(key: int | str) -> str:
    """An image file's name without extension: ``scene-03`` for a scene, else ``key`` itself."""
    return key if isinstance(key, str) else f"scene-{key:02d}"


__all__ = ["HTML", "IMAGES", "JOURNAL", "LOCK", "MANIFEST", "Project", "atomic_write"]
