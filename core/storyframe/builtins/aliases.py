"""Descriptive names that the story ties to a named character: "Mara was a small red fox" makes
"the fox" one of Mara's names.

Only an explicit link in a sentence naming the character counts: an appositive ("Tobin, a boy of
ten"), "<Name> was a/an <noun>", "<Name> the <noun>" or "a <noun> called <Name>". The noun joins
the name only if no other name is linked to it or holds it ("King Arthur" makes "the king"
ambiguous, and is no link by itself), the story does not use it before the name, and uses it
mostly near the name (in a novel "the young man" is many people).
"""

# Quotes in these patterns are deliberate.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from collections.abc import Sequence

from storyframe.builtins.lexicon import CHARACTER_NOUNS, STOPWORDS
from storyframe.builtins.textsplit import WORD_RE, Document
from storyframe.models import Character

_NOUN = "|".join(sorted(CHARACTER_NOUNS, key=len, reverse=True))
_PHRASE = rf"(?P<mods>(?:[\w'’-]+,?\s+){{0,3}}?)(?P<noun>{_NOUN})(?![\w'’-])"
_AFTER = re.compile(
    rf"(?:,\s+(?:a|an)|\s+(?:was|is)\s+(?:a|an)|(?P<the>,?\s+the))\s+{_PHRASE}"
    r"(?P<end>\s*[,.;:!?]|\s+(?:who|was|had|and|of|with|in|sat|lived|came|went)\b)?",
    re.IGNORECASE,
)
_CALLED = re.compile(rf"\b(?:a|an)\s+{_PHRASE}\s+(?:called|named)\s+[\"'“‘]?$", re.IGNORECASE)
NEAR = 3
"""How many sentences from a mention of the named character a mention of its alias may be."""
# Where a name can start its own clause: after these, "Hans the goose" is a name, not "gave
# Hans the goose".
_CLAUSE_START = re.compile(
    r"(?:^|[\s\"“‘(])(?:and|then|but|when|while|as|so|said|cried)\s+$|[,;:]\s*$|^\W*$",
    re.IGNORECASE,
)


def _linked(modifiers: str, noun: str) -> tuple[str, ...]:
    """The noun keys a linked phrase gives ("small red" + "fox" -> "fox", "red fox"); none if a
    modifier is a function word or another character noun ("friend of the fox")."""
    words = [w.strip(",").lower().replace("’", "'") for w in modifiers.split()]
    if any(w in STOPWORDS for w in words):
        return ()
    if any(w in CHARACTER_NOUNS or w.endswith("'s") for w in words[:-1]):
        return ()
    noun = noun.lower()
    if not words:
        return (noun,)
    if words[-1].endswith("'s"):  # "the miller's boy" is that boy, not any boy
        return () if words[-1][:-2] not in CHARACTER_NOUNS else (f"{words[-1]} {noun}",)
    return () if words[-1] in CHARACTER_NOUNS else (noun, f"{words[-1]} {noun}")


def noun_links(forms: Sequence[str], doc: Document, units: Sequence[int]) -> set[str]:
    """The character noun keys ("fox", "old woman") the sentences ``units`` explicitly give a
    character named ``forms``."""
    found: set[str] = set()
    alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w'’-])(?:{alternatives})(?![\w'’-])")
    for index in units:
        text = doc.units[index].text
        for match in pattern.finditer(text):
            after = _AFTER.match(text, match.end())
            if (
                after
                and after.group("the")
                and not (after.group("end") and _CLAUSE_START.search(text, 0, match.start()))
            ):
                after = None
            if after:
                found.update(_linked(after.group("mods"), after.group("noun")))
            before = _CALLED.search(text, max(0, match.start() - 80), match.start())
            if before:
                found.update(_linked(before.group("mods"), before.group("noun")))
    return found


def _has(words: Sequence[str], phrase: Sequence[str]) -> bool:
    """Whether ``phrase`` (lowercase words, a possessive last word allowed) is in ``words``."""
    size = len(phrase)
    last = phrase[-1]
    for k in range(len(words) - size + 1):
        word = words[k + size - 1]
        if (word == last or word in (f"{last}'s", f"{last}’s")) and (
            size == 1 or list(words[k : k + size - 1]) == list(phrase[:-1])
        ):
            return True
    return False


def _near(doc: Document, forms: Sequence[str], key: str) -> bool:
    """Whether at least two thirds of the mentions of the noun ``key`` are within :data:`NEAR`
    sentences of a mention of the character named ``forms`` (one pass over the story)."""
    names = [WORD_RE.findall(f.lower()) for f in forms]
    noun = key.split()
    heads = {noun[-1], f"{noun[-1]}'s", f"{noun[-1]}’s"}
    last_name = -NEAR - 1
    pending: list[int] = []  # noun mentions not yet near a name
    near = total = 0
    for index, words in enumerate(doc.words):
        present = set(words)
        if any(n and n[0] in present and _has(words, n) for n in names):
            last_name = index
            near += sum(1 for i in pending if index - i <= NEAR)
            pending = []
        if not heads.isdisjoint(present) and _has(words, noun):
            total += 1
            if index - last_name <= NEAR:
                near += 1
            else:
                pending.append(index)
        if pending and index - pending[0] > NEAR:
            pending = [i for i in pending if index - i <= NEAR]
    return total > 0 and 3 * near >= 2 * total


def merge_aliases(
    doc: Document,
    named: Sequence[tuple[int, Character, set[str]]],
    nouns: list[tuple[int, int, Character]],
) -> list[tuple[int, int, Character]]:
    """Fold each noun character into the one named character linked to it; return the noun
    characters that stay on their own.

    ``named``: (first sentence, character, the noun keys the story links to it); ``nouns``:
    (mentions, first sentence, character). A noun used before the name is introduced, or
    mostly far from it, is someone else or many people ("the young man" all through a novel)
    and stays on its own.
    """
    claims: dict[str, list[tuple[int, Character, set[str]]]] = {}
    for entry in named:
        character, links = entry[1], entry[2]
        held = {w.lower() for form in (character.name, *character.aliases) for w in form.split()}
        for key in links | (held & CHARACTER_NOUNS):
            claims.setdefault(key, []).append(entry)
    kept = []
    for total, first, noun in nouns:
        key = noun.name.removeprefix("the ")
        owners = claims.get(key, [])
        if len(owners) != 1 or key not in owners[0][2] or first < owners[0][0]:
            kept.append((total, first, noun))
            continue
        owner = owners[0][1]
        if not _near(doc, [owner.name, *owner.aliases], key):
            kept.append((total, first, noun))
            continue
        if noun.name not in owner.aliases:
            owner.aliases = [*owner.aliases, noun.name]
        owner.mentions += total
        owner.look = combine_looks(owner.look, noun.look)
    return kept


def combine_looks(first: str, second: str) -> str:
    """Both looks, without one that says nothing the other does not."""
    parts = [p.strip() for p in f"{first};{second}".split(";") if p.strip()]
    kept: list[str] = []
    for part in parts:
        words = set(part.lower().split())
        if any(words <= set(k.lower().split()) for k in kept):
            continue
        kept = [k for k in kept if not set(k.lower().split()) <= words] + [part]
    return "; ".join(kept)[:160].rstrip(" ;,")


__all__ = ["combine_looks", "merge_aliases", "noun_links"]
