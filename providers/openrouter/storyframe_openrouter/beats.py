"""The map step of the long-story planner: beats per chunk, cached, merged into one analysis.

A beat is one event of the story with where it happens (character offsets), who is in it and
how much it matters. Each chunk's answer is cached in the project's cache folder under a hash of
the model, the instructions and the chunk's text, so a re-run (or another N, or another style)
reads beats from disk instead of paying for them again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from storyframe.models import Character, StoryAnalysis
from storyframe.prompts import LOOK_FIELDS
from storyframe_openrouter.budget import Chunk
from storyframe_openrouter.schema import BeatsAnswer
from storyframe_openrouter.text import to_character
from storyframe_openrouter.validate import locate

log = logging.getLogger("storyframe.openrouter")


@dataclass(frozen=True)
class Beat:
    """One event: ``story[start:end]`` is its passage."""

    start: int
    end: int
    what: str
    who: tuple[str, ...]
    where: str
    importance: int

    def line(self) -> str:
        """The beat as one line of context for a prompt."""
        who = f"{', '.join(self.who)}: " if self.who else ""
        where = f" ({self.where})" if self.where else ""
        return f"{who}{self.what}{where}"


def cache_key(model: str, version: str, beats: int, chunk: str) -> str:
    """The content hash a chunk's beats are stored under."""
    digest = hashlib.sha256(f"{model}\0{version}\0{beats}\0".encode())
    digest.update(chunk.encode())
    return digest.hexdigest()[:32]


def load_cached(folder: Path | None, key: str) -> BeatsAnswer | None:
    """The cached answer for ``key``, or ``None`` (a damaged file counts as missing)."""
    if folder is None:
        return None
    try:
        return BeatsAnswer.model_validate_json((folder / f"beats-{key}.json").read_bytes())
    except (OSError, ValueError):
        return None


def store(folder: Path | None, key: str, answer: BeatsAnswer) -> None:
    """Cache ``answer`` (best effort: a cache that cannot be written costs a call next time)."""
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"beats-{key}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(answer.model_dump_json(), encoding="utf-8")
        temporary.replace(path)
    except OSError as error:
        log.info("openrouter: cannot cache beats in %s: %s", folder, error)


def place_beats(story: str, chunk: Chunk, answer: BeatsAnswer) -> list[Beat]:
    """The chunk's beats with offsets: anchors found in order; a lost anchor is interpolated."""
    starts: list[int | None] = []
    cursor = chunk.start
    for beat in answer.beats:
        found = locate(story, beat.anchor, cursor, chunk.end)
        starts.append(found)
        if found is not None:
            cursor = found + 1
    count = len(starts)
    for i, value in enumerate(starts):
        if value is None:
            before = next((starts[j] for j in range(i - 1, -1, -1) if starts[j] is not None), None)
            low = before if before is not None else chunk.start
            starts[i] = low + (chunk.end - low) * 1 // max(2, count - i + 1)
    placed = [s if s is not None else chunk.start for s in starts]
    beats = []
    for i, beat in enumerate(answer.beats):
        end = placed[i + 1] if i + 1 < count else chunk.end
        beats.append(
            Beat(
                start=placed[i],
                end=max(end, placed[i] + 1),
                what=beat.what,
                who=tuple(beat.who),
                where=beat.where,
                importance=beat.importance,
            )
        )
    return beats


def _names(character: Character) -> set[str]:
    return {character.name.casefold(), *(a.casefold() for a in character.aliases)}


def merge_analysis(answers: list[BeatsAnswer], counts: tuple[int, int, int]) -> StoryAnalysis:
    """One analysis from every chunk's: the cast merged by name and alias (each look field
    taken from the first chunk that fills it), frequent themes."""
    characters: list[Character] = []
    for answer in answers:
        for item in answer.characters:
            names = {item.name.casefold(), *(a.casefold() for a in item.aliases)}
            known = next(
                (
                    c
                    for c in characters
                    if names & {c.name.casefold(), *map(str.casefold, c.aliases)}
                ),
                None,
            )
            if known is None:
                aliases = [
                    a for a in dict.fromkeys(item.aliases) if a.casefold() != item.name.casefold()
                ]
                characters.append(to_character(item, aliases))
                continue
            known.mentions += 1
            # The first chunk that describes a part of the look wins; a chunk that says nothing
            # of it (the character is only mentioned there) leaves it as it was.
            for field in ("look", *LOOK_FIELDS):
                if not getattr(known, field) and getattr(item, field):
                    setattr(known, field, getattr(item, field))
            for alias in (item.name, *item.aliases):
                if alias.casefold() not in _names(known):
                    known.aliases = [*known.aliases, alias]
    characters.sort(key=lambda c: -c.mentions)  # stable: most recurring first
    for character in characters:
        character.mentions = 0  # recounted by the caller against the story text
    places = Counter(p for a in answers for p in dict.fromkeys(a.places) if p)
    themes = Counter(t.casefold() for a in answers for t in a.themes if t)
    moods = Counter(a.mood for a in answers if a.mood)
    words, sentences, paragraphs = counts
    return StoryAnalysis(
        title=next((a.title for a in answers if a.title), ""),
        word_count=words,
        sentence_count=sentences,
        paragraph_count=paragraphs,
        characters=characters,
        places=[p for p, _ in places.most_common(12)],
        themes=[t for t, _ in themes.most_common(5)],
        mood=moods.most_common(1)[0][0] if moods else "",
        complexity=max((a.complexity for a in answers), default=5),
        recommended_scenes=max(1, sum(a.recommended_scenes for a in answers)),
    )


def choose(beats: list[Beat], n: int) -> list[int]:
    """``n`` beat indices across the whole arc, in story order.

    The beats are cut into ``n`` equal runs by *count* (beats follow the events, so dense parts
    of the story get more pictures than long quiet ones); each run gives its most important beat.
    The first beat (opening), the last (ending) and the most important beat of the last 40 %
    (the climax) are always in.
    """
    m = len(beats)
    if n >= m:
        return list(range(m))
    picks = []
    for w in range(n):
        low, high = w * m // n, max(w * m // n + 1, (w + 1) * m // n)
        centre = (low + high - 1) / 2
        picks.append(max(range(low, high), key=lambda i: (beats[i].importance, -abs(i - centre))))
    picks[0], picks[-1] = 0, m - 1
    tail = range(int(m * 0.6), m)
    climax = max(tail, key=lambda i: (beats[i].importance, i))
    if climax not in picks:
        window = min(range(n), key=lambda w: abs(picks[w] - climax))
        if 0 < window < n - 1:
            picks[window] = climax
    return sorted(set(picks))


def neighbours(beats: list[Beat], indices: list[int], spread: int = 2) -> list[str]:
    """One-line context: the beats just before, among and just after ``indices``."""
    low = max(0, min(indices) - spread)
    high = min(len(beats), max(indices) + spread + 1)
    step = max(1, (high - low) // 24)  # at most about two dozen lines
    return [beats[i].line() for i in range(low, high, step)]


def dump(beats: list[Beat]) -> str:
    """The beats as JSON, for debugging and tests."""
    return json.dumps([b.__dict__ for b in beats])
