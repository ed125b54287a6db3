"""Proper names for the heuristic analysis: capitalised runs, how they are used, their looks.

A name counts when it is capitalised where sentence position does not explain it; words the
story also uses in lower case ("Water", "Open"), interjections, contractions and adverbs are not
names. Shorter forms are merged into the one longer name that holds them ("Arthur" into "King
Arthur"); names used mostly after locative prepositions, or ending in a place noun, are places.
"""

# Quotes, dashes and CJK punctuation in these patterns are deliberate.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from storyframe.builtins.lexicon import (
    CHARACTER_NOUNS,
    COMMON_CAPS,
    PLACE_NOUNS,
    PLACE_PREPOSITIONS,
    SPEECH_VERBS,
    STOPWORDS,
    TITLE_WORDS,
    VISUAL_ADJECTIVES,
    word_set,
)
from storyframe.builtins.textsplit import WORD_RE, Document

_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u024f\u0370-\u03ff\u0400-\u042f"
_CAP_RUN = re.compile(rf"(?<![\w'’-])[{_UPPER}][\w'’-]*(?:(?:\.? | of )[{_UPPER}][\w'’-]*)*")
_RUN_SPLIT = re.compile(r"\.? (?!of )|(?<= of) ")
_CLAUSE_CHARS = frozenset(".!?:;\"“‘«([—–-'")
_NOUN_ALTERNATION = "|".join(sorted(CHARACTER_NOUNS, key=len, reverse=True))
# Used with .match() on the text before a name: ".*" makes the last determiner win.
_CALLED_BEFORE = re.compile(
    rf".*\b(?:a|an|the)\s+((?:[\w'-]+\s+){{0,3}}?(?:{_NOUN_ALTERNATION}))\s+(?:\w+\s+){{0,2}}?"
    r"(?:called|named)\s+[\"'“‘]?$",
    re.IGNORECASE,
)
_NOUN_BEFORE = re.compile(
    rf".*\bthe\s+((?:[\w'-]+\s+){{0,2}}?(?:{_NOUN_ALTERNATION})),?\s+$", re.IGNORECASE
)
_EPITHET_AFTER = re.compile(
    rf",?\s+(?:the|a|an)\s+(?:[\w-]+\s+){{0,2}}?(?:{_NOUN_ALTERNATION})(?![\w'’-])",
    re.IGNORECASE,
)
_APPOSITIVE_AFTER = re.compile(r",\s+(?:a|an)\s+([^,.;:!?\"“”]{3,80})")
_IS_A_AFTER = re.compile(r"\s+(?:was|is)\s+(?:a|an)\s+([^,.;:!?\"“”]{3,80})")
_PRONOUN_LOOK = re.compile(
    r"^\W*(?:he|she)\s+(?:was|looked like)\s+(?:(?:a|an)\s+)?([^.;:!?\"“”]{3,200})",
    re.IGNORECASE,
)
_LOOK_END = re.compile(
    r",?\s+(?:but|and\s+(?:he|she|it|they|his|her|its|their)|who|which|that|so)\b|;"
)
_ARTICLES = word_set("the a an")
_HE = word_set("he his him himself")
_SHE = word_set("she her herself")
_PART = r"(?:skin|hair|cheeks|eyes|beard|lips|face|locks|tresses|braids|body)"
_FEATURE = re.compile(
    rf"\b(?P<owner>her|his|whose|had|has|with)\s+(?:a\s+|an\s+)?(?P<look>"
    rf"{_PART}\s+(?:(?:was|were)\s+)?as\s+[\w-]+\s+as\s+(?:the\s+)?[\w-]+"
    rf"|(?:[\w-]+,?\s+){{1,3}}?{_PART}(?:,\s+(?:as\s+)?[\w-]+\s+as\s+[\w-]+(?:\s+[\w-]+)?)?)",
    re.IGNORECASE,
)
_OBJECTS = word_set("the a an my your his her our their me thee him us them not thou")
_CONTRACTION = re.compile(r"['’](?:ll|m|d|ve|re|t)$")
PLACE_OWNERS = frozenset(PLACE_NOUNS) | word_set("land people villagers folk country realm isle")
LOOK_WORDS = VISUAL_ADJECTIVES | word_set(
    "hair beard eyes coat dress cloak hat cap scarf boots apron wearing years tall short fat thin"
)


@dataclass(slots=True)
class NameStats:
    """How one capitalised run is used in the story."""

    total: int = 0
    mid: int = 0  # capitalised where sentence position does not explain it: a real name
    place_votes: int = 0
    person_votes: int = 0
    first: int = 0
    repeats: int = 0
    thing_votes: int = 0  # "the Water of Life", "Open the door": used as a noun or a verb
    units: list[int] = field(default_factory=list)


def _possessive(word: str) -> str:
    return word[:-2] if word.endswith(("'s", "’s")) else word


def scan_names(names: dict[str, NameStats], index: int, text: str) -> None:
    """Count runs of capitalised words ("Little Red-Cap", "King Arthur") and how they are used."""
    for match in _CAP_RUN.finditer(text):
        j = match.start() - 1
        while j >= 0 and text[j] == " ":
            j -= 1
        initial = j < 0 or text[j] in _CLAUSE_CHARS
        run: list[str] = []
        for part in [*_RUN_SPLIT.split(match.group()), ""]:
            word = _possessive(part).rstrip("'’-")
            if len(word) > 1 and word[0].isupper() and word not in COMMON_CAPS:
                if not run and (word.lower() in STOPWORDS or _CONTRACTION.search(word)):
                    initial = False  # "Then Hansel": the name is capitalised on its own
                    continue
                run.append(word)
                continue
            if run and not all(w in TITLE_WORDS for w in run):
                _count_name(names, index, " ".join(run), initial, text, match.start(), match.end())
            initial = initial and not run
            run = []


def _count_name(
    names: dict[str, NameStats],
    index: int,
    name: str,
    initial: bool,
    text: str,
    start: int,
    end: int,
) -> None:
    stats = names.setdefault(name, NameStats(first=index))
    stats.total += 1
    if text.startswith(name, end + 2) or text.endswith(name, 0, max(0, start - 2)):
        stats.repeats += 1  # "Kywitt, Kywitt": a cry, not a name
    stats.mid += not initial
    if len(stats.units) < 8 and (not stats.units or stats.units[-1] != index):
        stats.units.append(index)
    before = WORD_RE.findall(text[max(0, start - 30) : start].lower())[-2:]
    after = WORD_RE.match(text[end : end + 20].lstrip(" ,"))
    if before and before[-1] in PLACE_PREPOSITIONS and before[0] not in SPEECH_VERBS:
        stats.place_votes += 1
    elif len(before) == 2 and before[1] == "of" and before[0] in PLACE_OWNERS:
        stats.place_votes += 1  # "the village of Hollow Ford"
    if (before and before[-1] in SPEECH_VERBS) or (after and after.group() in SPEECH_VERBS):
        stats.person_votes += 1
    elif (before and before[-1] in _ARTICLES) or (
        after and after.group() in _OBJECTS and not _EPITHET_AFTER.match(text, end)
    ):  # "Open the door" is a verb, "Reynard the fox" and "Tobin, a boy of ten" are names
        stats.thing_votes += 1


def is_place(name: str, stats: NameStats) -> bool:
    """A name used mostly after locative prepositions, or one ending in a place noun."""
    if name.rsplit(" ", 1)[-1].lower() in PLACE_NOUNS and " " in name:
        return True  # "the Red Sea", "the Golden Mountain"
    return (
        stats.place_votes >= 2
        and stats.place_votes >= 2 * stats.person_votes
        and stats.place_votes * 4 >= stats.total
    )


def merge_names(
    names: dict[str, NameStats], threshold: int
) -> list[tuple[str, list[str], NameStats]]:
    """Recurring names, each with the shorter forms that are obviously its aliases.

    A name counts if it is capitalised mid-sentence at least once; a shorter form contained in
    exactly one such name ("Arthur" in "King Arthur") is merged into it.
    """
    real = [name for name, stats in names.items() if stats.mid]
    owners: dict[str, list[str]] = {}
    for name in real:
        parts = name.split()
        subs = {
            " ".join(parts[a:b]) for a in range(len(parts)) for b in range(a + 1, len(parts) + 1)
        }
        for sub in sorted(subs - {name}):
            if sub in names and sub not in TITLE_WORDS:
                owners.setdefault(sub, []).append(name)
    groups: dict[str, list[str]] = {name: [name] for name in real}
    for sub, longer in owners.items():
        if len(longer) == 1 and longer[0] in groups:
            groups[longer[0]] += groups.pop(sub, [sub])
    merged = []
    for forms in groups.values():
        stats = [names[f] for f in forms]
        total = sum(s.total for s in stats)
        if total < threshold:
            continue
        most = max(s.total for s in stats)
        main = max(forms, key=lambda f: (2 * names[f].total >= most, len(f), names[f].total, f))
        combined = NameStats(
            total=total,
            mid=sum(s.mid for s in stats),
            place_votes=sum(s.place_votes for s in stats),
            person_votes=sum(s.person_votes for s in stats),
            repeats=sum(s.repeats for s in stats),
            thing_votes=sum(s.thing_votes for s in stats),
            first=min(s.first for s in stats),
            units=sorted({u for s in stats for u in s.units})[:8],
        )
        merged.append((main, sorted(f for f in forms if f != main), combined))
    return merged


def lowercase_uses(doc: Document, words: set[str]) -> Counter[str]:
    """How often each of ``words`` (lower case) is written in lower case in the story."""
    uses: Counter[str] = Counter()
    for index, unit_words in enumerate(doc.words):
        found = words.intersection(unit_words)
        for word in found:
            uses[word] += len(
                re.findall(rf"(?<![\w'’-]){re.escape(word)}(?![\w-])", doc.units[index].text)
            )
    return uses


def is_word(name: str, stats: NameStats | None, lower: Counter[str]) -> bool:
    """True when a capitalised run is an ordinary word, not a name.

    Contractions ("I'll"), interjections and archaic forms, cries repeated in a row ("Kywitt,
    Kywitt"), adverbs and gerunds ("Sadly", "Bewailing"), names used as nouns or verbs ("the
    Water of Life", "Open the door") and words the story also writes in lower case (``lower``).
    """
    if stats is not None and 2 * stats.thing_votes >= stats.total:
        return True
    if " " in name:
        return False
    if _CONTRACTION.search(name) or name in COMMON_CAPS or name.lower() in STOPWORDS:
        return True
    total = stats.total if stats else 0
    if stats is not None and 2 * max(stats.repeats, stats.thing_votes) >= total:
        return True
    word = name.lower()
    if word.endswith("ly") and (lower[word[:-2]] or lower[word[:-3] + "y"] or lower[word]):
        return True
    if word.endswith("ing") and len(word) > 6 and not (stats and stats.person_votes):
        return True
    return lower[word] >= max(2, total // 4)


def _clean_look(text: str) -> str:
    text = _LOOK_END.split(text, maxsplit=1)[0]
    if len(text) > 100:
        text = text[:100].rsplit(" ", 1)[0]
    return text.strip(" ,;:-").lower()


def features(text: str, gender: str) -> list[str]:
    """Looks a sentence gives someone of ``gender`` ("m", "f" or "" for anyone): "skin as white
    as snow", "magnificent long hair". A "her ..." phrase never goes to a man, nor "his ..." to
    a woman."""
    found = []
    for match in _FEATURE.finditer(text):
        owner = match.group("owner").lower()
        said = "f" if owner == "her" else "m" if owner == "his" else ""
        if said and said != gender:
            continue
        phrase = " ".join(match.group("look").split()).strip(" ,").lower()
        phrase = phrase.replace(" was as ", " as ").replace(" were as ", " as ")
        if " as " not in phrase and VISUAL_ADJECTIVES.isdisjoint(phrase.split()):
            continue  # "her own hair" says nothing of how she looks
        if phrase not in found:
            found.append(phrase)
    return found


def _gender(name: str, doc: Document, unit_indexes: Sequence[int]) -> str:
    """The gender ("m", "f", "") the pronouns in and after the sentences naming someone tell."""
    male = female = 0
    for index in unit_indexes:
        for words in doc.words[index : index + 2]:
            male += sum(1 for w in words if w in _HE)
            female += sum(1 for w in words if w in _SHE)
    return "m" if male > 2 * female else "f" if female > 2 * male else ""


def name_look(name: str, doc: Document, unit_indexes: Sequence[int]) -> str:
    """A look for a named character, from the sentences that introduce it."""
    found: list[str] = []
    gender = _gender(name, doc, unit_indexes)
    for index in unit_indexes[:3]:
        text = doc.units[index].text
        at = text.find(name)
        if at < 0:
            continue
        found += [f for f in features(text, gender) if f not in found]
        end = at + len(name)
        matches = [
            _CALLED_BEFORE.match(text, max(0, at - 80), at),
            _NOUN_BEFORE.match(text, max(0, at - 60), at),
            _APPOSITIVE_AFTER.match(text, end),
            _IS_A_AFTER.match(text, end),
        ]
        last_name = max((m.end() for m in _CAP_RUN.finditer(text)), default=0)
        following = doc.units[index + 1] if index + 1 < len(doc.units) else None
        if following and not following.heading and last_name <= text.rfind(name) + len(name):
            # "... a ferryman named Tobias Reed. He was a tall, stooped old man ..."
            match = _PRONOUN_LOOK.match(following.text)
            look = _clean_look(match.group(1)) if match else ""
            if not LOOK_WORDS.isdisjoint(WORD_RE.findall(look)):
                matches.append(match)
        for match in matches:
            look = _clean_look(match.group(1)) if match else ""
            if look and look not in found:
                found.append(look)
        if found:
            break
    for index in unit_indexes[3:] if not found else ():
        found += [f for f in features(doc.units[index].text, gender) if f not in found][:1]
        if found:
            break
    return "; ".join(found)[:160].rstrip(" ;,")
