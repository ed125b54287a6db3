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
from collections.abc import Sequence, Set
from dataclasses import dataclass, field

from storyframe.builtins.lexicon import TURNING_PHRASES, TURNING_WORDS, word_set
from storyframe.builtins.phrasing import gender_of
from storyframe.builtins.textsplit import Document

QUOTES = re.compile("[\"'“”‘’«»「」『』]")
OPENING = 0.15  # the first scene shows a moment from the story's first 15%, the last its last
MALE = word_set("he his him himself")
FEMALE = word_set("she her hers herself")


@dataclass(slots=True)
class Storyline:
    """What the whole story says about where each sentence sits and which one turns it.

    The scene pass records each sentence's turning-point cues in ``turning`` before
    :meth:`settle` picks the climax.
    """

    ends: list[int]  # per unit: the length of the story's body text up to the unit's end
    total: int
    quoted: list[bool]  # per unit: it quotes speech (or continues a quotation)
    narrator: bool  # told in the first person: "I" is the narrator, not a speaker
    turning: dict[int, int] = field(default_factory=dict)  # unit -> turning-point cues
    climax: int = -1  # the unit with the most turning-point cues, -1 if none has any
    genders: dict[int, Counter[str]] = field(default_factory=dict)
    recent: list[int] = field(default_factory=list)  # characters of earlier scenes, last first

    @classmethod
    def build(cls, doc: Document) -> Storyline:
        """Sentence ends, which sentences quote speech, and whether "I" is the narrator."""
        ends: list[int] = []
        quoted: list[bool] = []
        size = told = first_person = 0
        for unit, words in zip(doc.units, doc.words, strict=True):
            speech = unit.in_quote or bool(QUOTES.search(unit.text))
            if not unit.heading:
                size += len(unit.text) + 1
                if not speech:
                    told += len(words)
                    first_person += words.count("i") + words.count("my")
            ends.append(size)
            quoted.append(speech)
        return cls(
            ends=ends,
            total=max(size, 1),
            quoted=quoted,
            narrator=first_person > 0.02 * max(told, 1),
        )

    def settle(self) -> None:
        """Pick the climax once every sentence is recorded."""
        if self.turning:
            self.climax = min(self.turning, key=lambda i: (-self.turning[i], i))

    def gender(self, index: int, name: str) -> str:
        """The gender ("m", "f", ""): the lexicon's for the name, else the pronouns near it."""
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


def turning_cues(words: Sequence[str], kinds: Set[str] | None = None) -> int:
    """Turning-point cues in a sentence ("suddenly", "at last", "turned into", "died").

    ``kinds`` is the set of ``words``, if the caller has it already.
    """
    kinds = set(words) if kinds is None else kinds
    count = len(TURNING_WORDS & kinds)
    if _PHRASE_STARTS.isdisjoint(kinds) or _PHRASE_ENDS.isdisjoint(kinds):
        return count
    phrases = [text for first, second, text in _PHRASES if first in kinds and second in kinds]
    if phrases:
        joined = f" {' '.join(words)} "
        count += sum(joined.count(text) for text in phrases)
    return count


_PHRASE_STARTS = frozenset(phrase[0] for phrase in TURNING_PHRASES)
_PHRASES = tuple((p[0], p[1], f" {' '.join(p)} ") for p in TURNING_PHRASES)
_PHRASE_ENDS = frozenset(phrase[1] for phrase in TURNING_PHRASES)


__all__ = ["OPENING", "QUOTES", "Storyline", "turning_cues"]
