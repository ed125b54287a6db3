"""read_story: one clear InputError for each way a story file can be unusable."""

from __future__ import annotations

import codecs
import hashlib
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from storyframe.errors import InputError
from storyframe.story import read_story, slugify, title_from_filename

STORY = "The Golden Bird\n\nA king had a garden. In it grew a tree of golden apples.\n"


def write(tmp_path: Path, data: bytes, name: str = "story.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def story_error(path: Path, **kwargs: object) -> InputError:
    with pytest.raises(InputError) as caught:
        read_story(path, **kwargs)  # type: ignore[arg-type]
    error = caught.value
    assert "\n" not in error.one_line()
    assert error.exit_code == 2
    return error


def test_reads_a_story(tmp_path: Path) -> None:
    raw = STORY.encode()
    story = read_story(write(tmp_path, raw))
    assert story.text == STORY
    assert story.size == len(raw)
    assert story.sha256 == hashlib.sha256(raw).hexdigest()
    assert story.title == "The Golden Bird"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    error = story_error(path)
    assert str(path) in str(error) and "does not exist" in str(error)
    assert error.hint


def test_directory(tmp_path: Path) -> None:
    error = story_error(tmp_path)
    assert "is a directory" in str(error)


def test_empty(tmp_path: Path) -> None:
    assert "is empty" in str(story_error(write(tmp_path, b"")))


@pytest.mark.parametrize("blank", [b" ", b"\n\n\t  \r\n", b"\xef\xbb\xbf  \n"])
def test_whitespace_only(tmp_path: Path, blank: bytes) -> None:
    assert "only whitespace" in str(story_error(write(tmp_path, blank)))


def test_binary(tmp_path: Path) -> None:
    path = write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    error = story_error(path)
    assert "binary" in str(error)


def test_invalid_utf8_names_offset_and_suggests_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, b"Once upon a time, a caf\xe9 stood.\n")
    error = story_error(path)
    line = error.one_line()
    assert "not valid UTF-8" in line
    assert "byte 0xe9 at offset 23" in line
    assert "--encoding" in line


def test_latin1_encoding_works(tmp_path: Path) -> None:
    raw = "Le café\r\nétait fermé.\n".encode("latin-1")
    story = read_story(write(tmp_path, raw), encoding="latin-1")
    assert story.text == "Le café\nétait fermé.\n"
    assert story.sha256 == hashlib.sha256(raw).hexdigest()


def test_utf16_with_bom(tmp_path: Path) -> None:
    raw = codecs.BOM_UTF16_LE + "Hello there.\n".encode("utf-16-le")
    assert read_story(write(tmp_path, raw), encoding="utf-16").text == "Hello there.\n"


def test_unknown_encoding(tmp_path: Path) -> None:
    error = story_error(write(tmp_path, STORY.encode()), encoding="klingon-8")
    assert "unknown encoding 'klingon-8'" in str(error)
    assert error.hint and "latin-1" in error.hint


def test_too_large(tmp_path: Path) -> None:
    path = write(tmp_path, b"x" * 50)
    error = story_error(path, max_bytes=10)
    assert "50 bytes, over the 10 bytes limit" in str(error)
    assert error.hint and "max_story_bytes" in error.hint
    assert read_story(path, max_bytes=50).size == 50


def test_bom_stripped(tmp_path: Path) -> None:
    raw = codecs.BOM_UTF8 + STORY.encode()
    story = read_story(write(tmp_path, raw))
    assert story.text == STORY
    assert not story.text.startswith("\ufeff")
    assert story.sha256 == hashlib.sha256(raw).hexdigest()  # hash of the raw bytes


def test_bom_stripped_with_utf8_spelled_differently(tmp_path: Path) -> None:
    raw = codecs.BOM_UTF8 + STORY.encode()
    assert read_story(write(tmp_path, raw), encoding="UTF_8").text == STORY


def test_line_endings_normalised(tmp_path: Path) -> None:
    story = read_story(write(tmp_path, b"One.\r\nTwo.\rThree.\n"))
    assert story.text == "One.\nTwo.\nThree.\n"


def test_title_and_slug_from_filename(tmp_path: Path) -> None:
    path = write(tmp_path, b"A king had a garden, and in it a tree.\n", "01-the-golden-bird.txt")
    story = read_story(path)
    assert story.title == "The Golden Bird"
    assert story.slug == "golden-bird"


def test_title_from_first_line(tmp_path: Path) -> None:
    story = read_story(write(tmp_path, b"# The Frog King\n\nIn olden times...\n", "x.txt"))
    assert story.title == "The Frog King"


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("01-the-golden-bird", "golden-bird"),
        ("The Frog King", "frog-king"),
        ("2024", "2024"),
        ("the", "the"),
        ("???", "story"),
        ("Schneewittchen_und_die_Zwerge", "schneewittchen-und-die-zwerge"),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_title_from_filename() -> None:
    assert title_from_filename(Path("03_hansel-and_gretel.md")) == "Hansel And Gretel"


# Sources that are not regular files: the cap holds whatever the source is ----------------------


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "story.fifo"
    os.mkfifo(path)
    return path


def _write_fifo(path: Path, data: bytes, *, forever: bool = False) -> threading.Thread:
    """Feed ``path`` from a thread: ``data`` once, or again and again until the reader leaves."""

    def feed() -> None:
        try:
            with open(path, "wb") as handle:
                handle.write(data)
                while forever:
                    handle.write(data)
        except BrokenPipeError:
            pass

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    return thread


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_with_a_short_story_is_read(tmp_path: Path) -> None:
    path = _fifo(tmp_path)
    writer = _write_fifo(path, STORY.encode())
    story = read_story(path)
    writer.join(timeout=5)
    assert story.text == STORY
    assert story.size == len(STORY.encode())
    assert story.sha256 == hashlib.sha256(STORY.encode()).hexdigest()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_that_never_ends_is_capped(tmp_path: Path) -> None:
    path = _fifo(tmp_path)
    writer = _write_fifo(path, b"Once upon a time there was a king. " * 100, forever=True)
    started = time.monotonic()
    error = story_error(path, max_bytes=50_000)
    assert time.monotonic() - started < 2
    assert f"{path} gives more than the 50000 bytes limit" in str(error)
    assert error.hint and "max_story_bytes" in error.hint
    writer.join(timeout=5)
    assert not writer.is_alive()  # the writer saw the reader go away


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_endless_binary_devices_are_refused_at_once(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    started = time.monotonic()
    error = story_error(Path(device))
    assert time.monotonic() - started < 2
    assert f"{device} looks like a binary file, not text" in str(error)


def test_an_endless_device_stops_at_the_cap() -> None:
    """With a cap under the sniff window, the cap alone ends the read."""
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    error = story_error(Path("/dev/zero"), max_bytes=100)
    assert "gives more than the 100 bytes limit" in str(error)


def test_symlink_loop_is_named(tmp_path: Path) -> None:
    (tmp_path / "a.txt").symlink_to(tmp_path / "b.txt")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")
    error = story_error(tmp_path / "a.txt")
    assert f"{tmp_path / 'a.txt'} is a symlink loop" in str(error)


def test_dangling_symlink_names_its_target(tmp_path: Path) -> None:
    (tmp_path / "story.txt").symlink_to(tmp_path / "gone.txt")
    error = story_error(tmp_path / "story.txt")
    assert f"symlink to {tmp_path / 'gone.txt'}, which does not exist" in str(error)


def test_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        assert "is a socket, not a file" in str(story_error(path))
