"""Reading a story file, with one clear error for each way it can be unusable."""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from storyframe.errors import InputError

_SNIFF_BYTES = 8192
_CHUNK = 1 << 20
_TITLE_RE = re.compile(r"^\s*(?:#+\s*)?(?P<title>[^\n]{1,120})\n")


@dataclass(frozen=True)
class StoryText:
    """A story read from disk: its text (BOM and CRLF removed), its hash and its source."""

    path: Path
    text: str
    sha256: str
    size: int

    @property
    def title(self) -> str:
        """The first line if it looks like a title, else the file name made readable."""
        match = _TITLE_RE.match(self.text)
        if match:
            first = match.group("title").strip().strip("*_# ")
            if first and len(first.split()) <= 12 and not first.endswith((".", ",", ";")):
                return first
        return title_from_filename(self.path)

    @property
    def slug(self) -> str:
        """A folder-friendly name for the story, used for the default output folder."""
        return slugify(self.path.stem)


def slugify(text: str) -> str:
    """Lowercase words joined by hyphens; leading numbers dropped ("01-the-golden-bird")."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    while len(words) > 1 and words[0].isdigit():
        words.pop(0)
    if len(words) > 1 and words[0] == "the":
        words.pop(0)
    return "-".join(words)[:60] or "story"


def title_from_filename(path: Path) -> str:
    """``01-the-golden-bird.txt`` -> ``The Golden Bird``."""
    words = [w for w in re.split(r"[-_\s]+", path.stem) if w and not w.isdigit()]
    return " ".join(w.capitalize() for w in words) or path.stem


def _human(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size} bytes"


def read_story(path: Path, *, encoding: str = "utf-8", max_bytes: int = 20_000_000) -> StoryText:
    """Read and check a story file; raises :class:`InputError` saying what is wrong and why.

    Whatever ``path`` is (a file, a pipe, a device), at most ``max_bytes + 1`` bytes are read,
    so an endless source is refused quickly and with bounded memory.
    """
    try:
        info = path.stat()
    except OSError as error:
        raise _open_error(path, error) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path} is a directory.", hint="Pass a text file with the story.")
    if stat.S_ISSOCK(info.st_mode):
        raise InputError(f"{path} is a socket, not a file.", hint="Pass a text file or a pipe.")
    if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
        raise _too_large(f"{path} is {_human(info.st_size)}, over the {_human(max_bytes)} limit.")
    raw = _read_capped(path, max_bytes)
    if not raw:
        raise InputError(f"{path} is empty.", hint="Pass a file that holds a story.")
    _check_text(path, raw)
    text = _decode(path, raw, encoding)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError(f"{path} holds only whitespace.", hint="Pass a file that holds a story.")
    return StoryText(path=path, text=text, sha256=hashlib.sha256(raw).hexdigest(), size=len(raw))


def _read_capped(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``, refusing the source as soon as it gives more than ``max_bytes``."""
    data = bytearray()
    checked = False
    try:
        with open(path, "rb", buffering=0) as handle:
            while True:
                chunk = handle.read(min(_CHUNK, max_bytes + 1 - len(data)))
                if not chunk:
                    break
                data += chunk
                if not checked and len(data) >= _SNIFF_BYTES:
                    # Refuse binary input (say /dev/urandom) now, not after reading up to the cap.
                    _check_text(path, bytes(data[:_SNIFF_BYTES]))
                    checked = True
                if len(data) > max_bytes:
                    raise _too_large(f"{path} gives more than the {_human(max_bytes)} limit.")
    except OSError as error:
        raise _open_error(path, error) from None
    return bytes(data)


def _check_text(path: Path, raw: bytes) -> None:
    if b"\x00" in raw[:_SNIFF_BYTES] and not raw.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        raise InputError(
            f"{path} looks like a binary file, not text.", hint="Pass a plain-text story."
        )


def _too_large(message: str) -> InputError:
    return InputError(
        message,
        hint="Pass a shorter story, or raise [run] max_story_bytes in storyframe.toml.",
    )


def _open_error(path: Path, error: OSError) -> InputError:
    if error.errno == errno.ELOOP:
        return InputError(
            f"{path} is a symlink loop (too many levels of symbolic links).",
            hint="Point the link at the story file itself.",
        )
    if isinstance(error, FileNotFoundError | NotADirectoryError):
        if path.is_symlink():
            return InputError(
                f"{path} is a symlink to {os.readlink(path)}, which does not exist.",
                hint="Fix the link or pass the story file itself.",
            )
        return InputError(f"story file {path} does not exist.", hint="Check the path.")
    if isinstance(error, PermissionError):
        return InputError(f"cannot read {path}: permission denied.")
    return InputError(f"cannot read {path}: {error.strerror or error}.")


def _decode(path: Path, raw: bytes, encoding: str) -> str:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(
            f"unknown encoding {encoding!r}.", hint="Use a Python codec name such as latin-1."
        ) from None
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        bad = raw[error.start : error.start + 1].hex()
        raise InputError(
            f"{path} is not valid {error.encoding.removesuffix('-sig').upper()}: byte 0x{bad} "
            f"at offset {error.start}.",
            hint="Pass --encoding with the file's encoding (for example --encoding latin-1).",
        ) from None
