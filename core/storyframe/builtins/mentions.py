"""Finding a story's characters, places, times and objects in the sentences of a scene.

:class:`Matchers` holds one pattern for the analysis' characters and one for its proper place
names; :class:`Tally` collects what one scene's sentences mention, in order.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from storyframe.builtins.analysis import modifiers
from storyframe.builtins.lexicon import PLACE_NOUNS, PLACE_PREPOSITIONS, TIMES
from storyframe.models import StoryAnalysis

_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
LOCATIVES = PLACE_PREPOSITIONS | {"on", "by", "entered"}
ABSENT = re.compile(r"\s+(?:was|were|is|are)\s+(?:gone|away|absent)\b", re.IGNORECASE)
"""After a mention: "while the boy was gone" names someone who is not in the scene."""


def _term_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    unique = sorted({t for t in terms if t}, key=lambda t: (-len(t), t))
    if not unique:
        return None
    alternatives = "|".join(re.escape(t) for t in unique)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


@dataclass(slots=True)
class Matchers:
    """Finds the analysis' characters and places in scene text."""

    names: list[str]
    character_terms: dict[str, int]
    character_re: re.Pattern[str] | None
    place_names: dict[str, str]  # lexicon noun or proper name (lowercase) -> how to show it
    proper_re: re.Pattern[str] | None

    @classmethod
    def build(cls, analysis: StoryAnalysis) -> Matchers:
        terms: dict[str, int] = {}
        for index, character in enumerate(analysis.characters):
            for form in (character.name, *character.aliases):
                form = " ".join(form.lower().split())
                for term in (form, _ARTICLE.sub("", form)):
                    terms.setdefault(term, index)
        places = {noun: f"the {noun}" for noun in PLACE_NOUNS}
        proper = []
        for place in analysis.places:
            key = _ARTICLE.sub("", " ".join(place.lower().split()))
            places[key] = place
            if key not in PLACE_NOUNS:
                proper.append(key)
        return cls(
            names=[c.name for c in analysis.characters],
            character_terms=terms,
            character_re=_term_pattern(terms),
            place_names=places,
            proper_re=_term_pattern(proper),
        )


@dataclass(slots=True)
class Tally:
    """What one scene's sentences mention, with the positions of first mentions."""

    who: Counter[int] = field(default_factory=Counter)
    where: dict[str, float] = field(default_factory=dict)
    when: dict[str, float] = field(default_factory=dict)
    first: dict[str, int] = field(default_factory=dict)
    things: Counter[str] = field(default_factory=Counter)
    thing_adjectives: dict[str, Counter[str]] = field(default_factory=dict)
    mentions: list[list[tuple[int, int]]] = field(default_factory=list)  # (offset, character)

    def add_place(self, place: str, weight: float, position: int) -> None:
        self.where[place] = self.where.get(place, 0.0) + weight
        self.first.setdefault(place, position)

    def add_time(self, time: str, weight: float, position: int) -> None:
        self.when[time] = self.when.get(time, 0.0) + weight
        self.first.setdefault("@" + time, position)


def tally_settings(
    tally: Tally, words: Sequence[str], weight: float, position: int, matchers: Matchers
) -> int:
    """Add the places and times in ``words``; return how many places there were."""
    places = 0
    for k, word in enumerate(words):
        if word in PLACE_NOUNS:
            adjectives = modifiers(words, k)
            if adjectives is None:
                continue
            det = k - 1 - len(adjectives)
            located = det > 0 and words[det - 1] in LOCATIVES
            tally.add_place(matchers.place_names[word], weight * (2 if located else 1), position)
            places += 1
        elif word in TIMES:
            tally.add_time(TIMES[word], weight, position)
    return places


__all__ = ["ABSENT", "LOCATIVES", "Matchers", "Tally", "tally_settings"]
