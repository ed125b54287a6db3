"""Cleaning, sentence splitting and scene cuts (``storyframe.builtins.textsplit``)."""

# Non-English sample texts and CJK punctuation are deliberate.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from storyframe.builtins.textsplit import (
    Unit,
    chunk,
    clean,
    cut_points,
    prepare,
    segments,
    split_sentences,
    strip_speech,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. Smith went home. He slept.", ["Mr. Smith went home.", "He slept."]),
        (
            "'Ah!' said the man. 'Go.' Then he left.",
            ["'Ah!' said the man.", "'Go.'", "Then he left."],
        ),
        (
            "Samuel L. Clemens wrote it. Wait... what? Yes!",
            ["Samuel L. Clemens wrote it.", "Wait... what?", "Yes!"],
        ),
        ("他来了。她走了！你好吗？", ["他来了。", "她走了！", "你好吗？"]),
        ("「行こう」と言った。彼は笑った。", ["「行こう」と言った。", "彼は笑った。"]),
        (
            "Он пришёл. Она ушла! «Куда?» спросил он.",
            ["Он пришёл.", "Она ушла!", "«Куда?» спросил он."],
        ),
        ("¿Dónde está? ¡Aquí! Bien.", ["¿Dónde está?", "¡Aquí!", "Bien."]),
        ("no punctuation at all", ["no punctuation at all"]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_chunk_cuts_long_text_at_boundaries() -> None:
    text = " ".join(f"word{i}" for i in range(400))
    pieces = chunk(text, 300)
    assert all(len(p) <= 300 for p in pieces)
    assert " ".join(pieces) == text
    assert chunk("short", 300) == ["short"]
    cjk = "字" * 1000  # no spaces at all: hard cuts
    assert "".join(chunk(cjk, 300)) == cjk


def test_strip_speech_keeps_narration() -> None:
    text = "Then the fox said, 'Do not shoot me, I won't hurt you.' So he ran into the wood."
    assert strip_speech(text) == "Then the fox said, So he ran into the wood."
    assert strip_speech("Go on, I don't care.' Then he left.", in_quote=True) == "Then he left."


def test_clean_strips_gutenberg_header_and_license() -> None:
    raw = (
        "\ufeffThe Project Gutenberg EBook of The Fox, by Nobody\r\n\r\n"
        "Title: The Fox\r\n\r\n"
        "*** START OF THIS PROJECT GUTENBERG EBOOK THE FOX ***\r\n\r\n"
        "Produced by Some Volunteers\r\n\r\n"
        "The fox ran. The hen hid.\r\n\r\n"
        "End of the Project Gutenberg EBook of The Fox\r\n\r\n"
        "*** END OF THIS PROJECT GUTENBERG EBOOK THE FOX ***\r\n"
        "Section 1. General Terms of Use and Redistributing Project Gutenberg-tm\r\n"
    )
    text, title = clean(raw)
    assert title == "The Fox"
    assert "Gutenberg" not in text and "Produced by" not in text and "\r" not in text
    assert text.split() == ["The", "fox", "ran.", "The", "hen", "hid."]


def test_clean_strips_markdown() -> None:
    raw = (
        "---\ntitle: Front Matter\n---\n# Heading\n"
        "Some **bold** and _italic_ text with a [link](http://x.y) and `code`."
    )
    text, title = clean(raw)
    assert title == "Front Matter"
    assert "Some bold and italic text with a link and code." in text
    assert "# Heading" in text  # headings are recognised later, line by line


def test_prepare_hard_wrapped_paragraphs_and_headings() -> None:
    line = "and so the story went on and on through the long afternoon in the"
    raw = (
        "CHAPTER I\nTHE START\n"
        + "\n".join([line] * 5)
        + "\nend of it.\n"
        + "\n".join([line] * 5)
        + "\nfinal.\n"
    )
    doc = prepare(raw)
    assert doc.title == "CHAPTER I"
    assert [u.heading for u in doc.units[:2]] == [True, True]
    assert doc.paragraph_count == 2
    body = [u for u in doc.units if not u.heading]
    assert len(body) == 2 and body[0].text.endswith("end of it.")


def test_prepare_scene_break_markers_are_strong_cues() -> None:
    doc = prepare("One. Two.\n\n* * *\n\nThree. Four.")
    three = next(u for u in doc.units if u.text == "Three.")
    two = next(u for u in doc.units if u.text == "Two.")
    assert three.cue > two.cue + 1


def _units(lengths: list[int], cues: dict[int, float] | None = None) -> list[Unit]:
    cues = cues or {}
    return [Unit("x" * n, cue=cues.get(i, 0.0)) for i, n in enumerate(lengths)]


def test_cut_points_equal_slices_without_cues() -> None:
    units = _units([99] * 20)
    assert cut_points(units, 4) == [0, 5, 10, 15]
    assert segments(units, 4)[-1] == (15, 20)


def test_cut_points_prefer_cues_near_the_ideal_cut() -> None:
    units = _units([99] * 20, {11: 1.5})
    assert cut_points(units, 2) == [0, 11]
    far = _units([99] * 20, {17: 5.0})  # too far from the middle to pull the cut
    assert cut_points(far, 2) == [0, 10]


def test_cut_points_never_right_after_a_heading_and_never_fewer_than_possible() -> None:
    units = [
        Unit("CHAPTER", heading=True),
        *_units([50] * 5),
        Unit("II", heading=True),
        *_units([50] * 5),
    ]
    starts = cut_points(units, 6)
    assert len(starts) == 6 and starts == sorted(set(starts))
    assert all(not units[s - 1].heading for s in starts[1:])
    # More scenes than sentences: one per sentence, the heading glued to the next one.
    assert len(cut_points(units, 50)) == 10


def test_cut_points_is_linear_enough_for_many_units() -> None:
    units = _units([80] * 20000)
    starts = cut_points(units, 50)
    assert len(starts) == 50 and starts == sorted(starts)
