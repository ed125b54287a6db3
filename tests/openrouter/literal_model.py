"""The emulator's "model": deterministic answers derived from the text a request carries.

It reads the way storyframe's planner writes (a ``<story>`` block, ``<item ref="N">`` blocks with
a ``<passage>``, "exactly N scenes", "up to K beats", "between A and B") and answers with JSON
built from the story's own paragraphs, so each scene shows a different passage and its anchor
is a verbatim quote. It follows the instructions a real model is given: no quoted dialogue and no
art-style words in image prompts, names from the cast.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

_STORY = re.compile(r"<story>\n(.*)\n</story>", re.S)
_ITEM = re.compile(r'<item ref="(\d+)">(.*?)<passage>\n(.*?)\n</passage>', re.S)
_QUOTED = re.compile(r"[\"\u201c][^\"\u201c\u201d]*[\"\u201d]?")
_NAME = re.compile(r"\b[A-Z][a-z]+\b")
_COMMON = {
    "The", "And", "But", "She", "Her", "His", "They", "Then", "There", "What", "When", "That",
    "This", "Yes", "Now", "For", "With", "Chapter", "Not", "Well", "Why", "How", "Who", "Here",
    "Aunt", "Mrs", "Miss", "Mr", "Little", "Women", "Our", "You", "Your", "Some", "All", "Oh",
}  # fmt: skip
_ART = re.compile(r"\b(?:style|watercolou?r|anime|manga|painting|illustration|render\w*)\b", re.I)


def _user_text(body: dict[str, Any]) -> str:
    return "\n".join(
        str(m.get("content") or "") for m in body.get("messages") or [] if m.get("role") == "user"
    )


def paragraphs(text: str) -> list[str]:
    """The text's paragraphs of some substance (headings and one-liners dropped)."""
    parts = re.split(r"\n\s*\n", text)
    if len(parts) < 3:  # one paragraph per line
        parts = text.splitlines()
    return [p.strip() for p in parts if len(p.strip()) >= 80]


def cast(text: str, limit: int = 8) -> list[str]:
    """The names the text repeats most (capitalised words that are not common words)."""
    counts = Counter(word for word in _NAME.findall(text) if word not in _COMMON)
    return [name for name, count in counts.most_common(limit) if count >= 2]


def _words(text: str) -> list[str]:
    clean = _ART.sub("", _QUOTED.sub(" ", text))
    return re.findall(r"[A-Za-z][A-Za-z'-]*", clean)


def scene_from(passage: str, names: list[str]) -> dict[str, Any]:
    """One scene showing ``passage``."""
    words = _words(passage)
    present = [n for n in names if re.search(rf"\b{n}\b", passage)][:4]
    subject = " and ".join(present[:2]) or "A lone figure"
    sentence = re.split(r"(?<=[.!?])\s", " ".join(passage.split()))[0][:220]
    return {
        "title": " ".join(words[:6]) or "A quiet moment",
        "description": _QUOTED.sub("", sentence).strip() or "Something happens.",
        "image_prompt": f"{subject} in the scene where "
        + " ".join(words[:45]).lower()
        + ", soft natural light, medium shot",
        "shot": "medium",
        "camera": "over the shoulder" if len(present) == 2 else "eye level",
        "characters": present,
        "place": "",
        "time_of_day": "",
        "anchor": " ".join(passage.split()[:8]),
    }


def _spread(items: list[str], count: int) -> list[str]:
    if count >= len(items):
        return items
    return [items[round(k * (len(items) - 1) / max(1, count - 1))] for k in range(count)]


_LOOK_PARTS = (
    {"age": "about sixteen", "clothes": "plain wool dress of the 1860s"},
    {"hair": "dark hair in a bun", "face": "pale, grey eyes", "colours": "brown, grey"},
    {"build": "slender"},
)
"""What each part of a long story tells of a character: part 1 the first entry, part 2 the
second, and so on round; every other field is '' (not known from that part)."""


def _analysis(text: str, recommended: int, part: int = 1) -> dict[str, Any]:
    names = cast(text)
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    told = _LOOK_PARTS[(part - 1) % len(_LOOK_PARTS)]
    fields = ("species", "age", "build", "face", "hair", "clothes", "colours")
    return {
        "title": first if 0 < len(first) < 60 else "",
        "characters": [
            {
                "name": n,
                "look": "slender, dark-haired, in a plain wool dress",
                "aliases": [],
                **{field: told.get(field, "") for field in fields},
            }
            for n in names
        ],
        "places": ["a family parlour"],
        "themes": ["family", "growing up"],
        "mood": "warm",
        "complexity": 5,
        "recommended_scenes": recommended,
    }


def derive_answer(kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """The answer for a planner request (``story``, ``beats``, ``batch``), else ``None``."""
    text = _user_text(body)
    if kind == "batch":
        names = re.findall(r"^- ([A-Z]\w+):", text, re.M) or cast(text)  # the given cast only
        return {
            "scenes": [
                {**scene_from(passage, names), "ref": int(ref)}
                for ref, _, passage in _ITEM.findall(text)
            ]
        }
    story_match = _STORY.search(text)
    if story_match is None or kind not in ("story", "beats"):
        return None
    story = story_match.group(1)
    paras = paragraphs(story) or [story]
    if kind == "beats":
        wanted = int(re.search(r"up to (\d+) beats", text).group(1))  # type: ignore[union-attr]
        names = cast(story)
        beats = [
            {
                "anchor": " ".join(p.split()[:8]),
                "who": [n for n in names if n in p][:3],
                "where": "",
                "what": _QUOTED.sub("", " ".join(p.split()[:30])),
                "importance": 1 + (len(p) * 7) % 5,
            }
            for p in _spread(paras, wanted)
        ]
        part = re.search(r"This is part (\d+) of", text)
        analysis = _analysis(story, max(1, wanted // 3), int(part.group(1)) if part else 1)
        return {**analysis, "beats": beats}
    exact = re.search(r"exactly (\d+) scenes", text)
    if exact:
        count = int(exact.group(1))
    else:
        low, high = map(int, re.search(r"between (\d+) and (\d+)", text).groups())  # type: ignore[union-attr]
        count = min(high, max(low, len(paras) // 4))
    names = cast(story)
    return {
        **_analysis(story, count),
        "scenes": [scene_from(p, names) for p in _spread(paras, count)],
    }
