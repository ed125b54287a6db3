"""The journal of a project: scene and sheet changes appended beside the manifest.

One line per change (``{"board": ID, "record": SCENE}`` or ``{"board": ID, "sheet": SHEET}``)
in ``.storyframe-journal.jsonl``, written with one ``write`` per call: O(1) whatever the scene
count. Loading replays the lines over the manifest; a line cut short by a kill was never
acknowledged and ends the replay. The :class:`~storyframe.project.Project` owns its journal and
turns the ``OSError`` of these methods into a one-line :class:`~storyframe.errors.ProjectError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path

from pydantic import ValidationError

from storyframe.models import CharacterSheet, SceneRecord, Storyboard


class Journal:
    """The append-only journal file at ``path``, opened on the first append."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._appended = 0  # journal writes so far
        self._flushed = 0  # journal writes known to be on disk
        self._flushing: asyncio.Future[None] | None = None

    def append(
        self,
        board: Storyboard,
        kind: str,
        items: tuple[SceneRecord, ...] | tuple[CharacterSheet, ...],
        durable: bool,
    ) -> None:
        """Append ``items`` as lines of ``kind`` in one write; ``durable`` fsyncs it too."""
        if not items:
            return
        # The line is {"board": ID, KIND: ITEM}; the item is encoded by pydantic, in one go.
        head = f'{{"board":{json.dumps(_board_id(board))},"{kind}":'.encode()
        lines = b"".join(head + item.model_dump_json().encode() + b"}\n" for item in items)
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(self._fd, lines)
        self._appended += 1
        if durable:
            os.fsync(self._fd)
            self._flushed = self._appended

    async def flush(self) -> None:
        """Return once every write made so far is on disk, the fsync done in a worker thread;
        callers waiting at once share one fsync."""
        wanted = self._appended
        while self._flushed < wanted:
            if self._flushing is None:
                self._flushing = asyncio.ensure_future(self._fsync())
            # Shielded: one waiter cancelled (an interrupt) leaves the others their fsync.
            await asyncio.shield(self._flushing)

    async def _fsync(self) -> None:
        covered = self._appended
        try:
            if self._fd is None:  # saved since: the durable manifest holds it all
                self._flushed = max(self._flushed, covered)
                return
            fd = os.dup(self._fd)  # the journal may be closed while the thread runs

            def fsync() -> None:
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

            await asyncio.to_thread(fsync)
        finally:
            self._flushing = None
        self._flushed = max(self._flushed, covered)

    def clear(self) -> None:
        """The manifest, on disk, now holds every line: close the journal and remove it."""
        self._flushed = self._appended
        self.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def close(self) -> None:
        """Close the file (the next append opens it again)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def replay(self, board: Storyboard) -> None:
        """Apply the journal's lines of ``board`` to it, up to the first line cut short."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        board_id = _board_id(board)
        index = {record.scene.number: i for i, record in enumerate(board.scenes)}
        for line in raw.splitlines():
            try:
                entry = json.loads(line)
                if entry.get("board") != board_id:
                    continue  # left by an earlier board of this folder (a --force restart)
                if "sheet" in entry:
                    _replace_sheet(board, CharacterSheet.model_validate(entry["sheet"]))
                    continue
                record = SceneRecord.model_validate(entry["record"])
            except (ValueError, KeyError, TypeError, AttributeError, ValidationError):
                break  # a line cut short by a kill: it was never acknowledged
            position = index.get(record.scene.number)
            if position is not None:
                board.scenes[position] = record


def _replace_sheet(board: Storyboard, sheet: CharacterSheet) -> None:
    for position, old in enumerate(board.sheets):
        if old.name == sheet.name:
            board.sheets[position] = sheet
            return
    board.sheets.append(sheet)


def _board_id(board: Storyboard) -> str:
    return f"{board.story.sha256[:16]}@{board.created_at.isoformat()}"


__all__ = ["Journal"]
