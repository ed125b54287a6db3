"""Reading a story file, with one clear error for each way it can be unusable."""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from storyframe.errors import InputError

_SNIFF_BYTES = 8192
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
    """Read and check a story file; raises :class:`InputError` saying what is wrong and why."""
    if not path.exists():
        raise InputError(f"story file {path} does not exist.", hint="Check the path.")
    if path.is_dir():
        raise InputError(f"{path} is a directory.", hint="Pass a text file with the story.")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"{path} is {_human(size)}, over the {_human(max_bytes)} limit.",
                hint="Pass a shorter story, or raise [run] max_story_bytes in storyframe.toml.",
            )
        raw = path.read_bytes()
    except PermissionError:
        raise InputError(f"cannot read {path}: permission denied.") from None
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}.") from None
    if not raw:
        raise InputError(f"{path} is empty.", hint="Pass a file that holds a story.")
    if b"\x00" in raw[:_SNIFF_BYTES] and not raw.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        raise InputError(
            f"{path} looks like a binary file, not text.", hint="Pass a plain-text story."
        )
    text = _decode(path, raw, encoding)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError(f"{path} holds only whitespace.", hint="Pass a file that holds a story.")
    return StoryText(path=path, text=text, sha256=hashlib.sha256(raw).hexdigest(), size=size)


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
