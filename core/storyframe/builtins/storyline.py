"""Where each sentence of a story sits, which one turns it, and who its pronouns mean.

Built in one pass before the scenes are drafted: the first scene shows a moment from the
story's first 15%, the last scene one from its final 15%, and the sentence whose narration has
the most turning-point cues ("suddenly", "at last", "turned into", "died") is always shown.
"""

# Quotes in these patterns are deliberate.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from storyframe.builtins.lexicon import TURNING_PHRASES, TURNING_WORDS, word_set
from storyframe.builtins.phrasing import gender_of
from storyframe.builtins.textsplit import WORD_RE, Document, strip_speech

QUOTES = re.compile("[\"'“”‘’«»「」『』]")
OPENING = 0.15  # the first scene shows a moment from the story's first 15%, the last its last
MALE = word_set("he his him himself")
FEMALE = word_set("she her hers herself")


@dataclass(slots=True)
class Storyline:
    """What the whole story says about where each sentence sits and which one turns it."""

    ends: list[int]  # per unit: the length of the story's body text up to the unit's end
    total: int
    turning: list[int]  # per unit: how many turning-point cues it has
    climax: int  # the unit with the most turning-point cues, -1 if none has any
    narrator: bool  # told in the first person: "I" is the narrator, not a speaker
    genders: dict[int, Counter[str]] = field(default_factory=dict)
    recent: list[int] = field(default_factory=list)  # characters of earlier scenes, last first

    @classmethod
    def build(cls, doc: Document) -> Storyline:
        """One pass over the story: sentence ends, turning-point cues, the narrator's person."""
        ends: list[int] = []
        turning: list[int] = []
        size = told = first_person = 0
        for unit, words in zip(doc.units, doc.words, strict=True):
            cues = 0
            if not unit.heading:
                size += len(unit.text) + 1
                if not unit.in_quote and not QUOTES.search(unit.text):
                    told += len(words)
                    first_person += words.count("i") + words.count("my")
                    cues = turning_cues(words)
                elif not _TURNING_FIRST.isdisjoint(words):  # cues in speech do not count
                    cues = turning_cues(
                        WORD_RE.findall(strip_speech(unit.text, unit.in_quote).lower())
                    )
            ends.append(size)
            turning.append(cues)
        best = max(range(len(turning)), key=lambda i: (turning[i], -i), default=-1)
        return cls(
            ends=ends,
            total=max(size, 1),
            turning=turning,
            climax=best if best >= 0 and turning[best] else -1,
            narrator=first_person > 0.02 * max(told, 1),
        )

    def gender(self, index: int, name: str) -> str:
        """ "m", "f" or "": the lexicon's word for the name, else the pronouns used near it."""
        known = gender_of(name)
        if known:
            return known
        votes = self.genders.get(index)
        if votes and votes["m"] != votes["f"]:
            return "m" if votes["m"] > votes["f"] else "f"
        return ""

    def candidates(self, body: Sequence[int], role: str) -> list[int]:
        """The sentences a scene may show: the first and last scenes keep to the story's ends."""
        if role == "first":
            kept = [i for i in body if self.ends[i] <= OPENING * self.total]
        elif role == "last":
            kept = [i for i in body if self.ends[i] >= (1 - OPENING) * self.total]
        else:
            kept = []
        return kept or list(body)

    def referent(
        self, pronoun: str, earlier: Sequence[int], names: Sequence[str], avoid: str = ""
    ) -> str:
        """Who a pronoun stands for: the first of ``earlier`` (characters mentioned before it,
        latest first) of the pronoun's gender, else of unknown gender; "they", the first two. Names
        in ``avoid`` (the action itself: "she carried the water to Partlet") are passed over."""
        avoid = avoid.lower()
        order: list[int] = [
            i for i in (*earlier, *self.recent, *range(len(names))) if names[i].lower() not in avoid
        ]
        if not order:
            return ""
        if pronoun in ("they", "them", "their"):
            two = list(dict.fromkeys(order))[:2]
            return " and ".join(str(names[i]) for i in two) if len(two) == 2 else ""
        wanted = "m" if pronoun in MALE else "f" if pronoun in FEMALE else ""
        if wanted:
            for index in order:
                if self.gender(index, names[index]) == wanted:
                    return str(names[index])
            for index in order:
                if not self.gender(index, names[index]):
                    return str(names[index])
        return str(names[order[0]])


def turning_cues(words: Sequence[str]) -> int:
    """Turning-point cues in a sentence ("suddenly", "at last", "turned into", "died")."""
    count = 0
    for k, word in enumerate(words):
        if word in TURNING_WORDS:
            count += 1
        elif word in _PHRASE_STARTS:
            for size in (2, 3):
                if tuple(words[k : k + size]) in TURNING_PHRASES:
                    count += 1
                    break
    return count


_PHRASE_STARTS = frozenset(phrase[0] for phrase in TURNING_PHRASES)
_TURNING_FIRST = TURNING_WORDS | _PHRASE_STARTS


__all__ = ["OPENING", "QUOTES", "Storyline", "turning_cues"]
