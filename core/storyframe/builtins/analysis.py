"""Story analysis for the heuristic provider: one linear pass over a prepared story.

Characters are recurring proper names and recurring character nouns ("the fox"), each with a look
taken from the sentences that introduce it; places are place nouns and names after locative
prepositions. Themes, mood and complexity come from the same word counts; the title is the
story's own (from its metadata or heading), title-cased if it is all capitals.
"""

# Quotes, dashes and CJK punctuation in these patterns are deliberate.
# ruff: noqa: RUF001

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from storyframe.builtins.lexicon import (
    BLAND_WORDS,
    CHARACTER_NOUNS,
    COMMON_CAPS,
    COMMON_VERBS,
    DETERMINERS,
    GENERIC_NOUNS,
    IDENTITY_ADJECTIVES,
    MOODS,
    NONVISUAL,
    PLACE_NOUNS,
    PLACE_PREPOSITIONS,
    SPEECH_VERBS,
    STOPWORDS,
    TITLE_WORDS,
    VISUAL_ADJECTIVES,
    word_set,
)
from storyframe.builtins.textsplit import WORD_RE, Document
from storyframe.models import Character, StoryAnalysis

_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u024f\u0370-\u03ff\u0400-\u042f"
_CAP_RUN = re.compile(rf"(?<![\w'’-])[{_UPPER}][\w'’-]*(?:\.? [{_UPPER}][\w'’-]*)*")
_RUN_SPLIT = re.compile(r"\.? ")
_CLAUSE_CHARS = frozenset(".!?:;\"“‘«([—–-'")
_WITH_CLAUSE = re.compile(
    r"\s+((?:with|wearing|dressed in|clad in|in a|in an|in her|in his|who wore)\s+"
    r"[^,.;:!?\"“”‘’']{2,60}?)(?=\s*[,.;:!?\"“”‘’']|\s+(?:and|who|which|that|but|as|when)\b|$)"
)
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
_APPOSITIVE_AFTER = re.compile(r",\s+(?:a|an)\s+([^,.;:!?\"“”]{3,80})")
_IS_A_AFTER = re.compile(r"\s+(?:was|is)\s+(?:a|an)\s+([^,.;:!?\"“”]{3,80})")
_PRONOUN_LOOK = re.compile(
    r"^\W*(?:he|she)\s+(?:was|looked like)\s+(?:(?:a|an)\s+)?([^.;:!?\"“”]{3,200})",
    re.IGNORECASE,
)
_LOOK_END = re.compile(
    r",?\s+(?:but|and\s+(?:he|she|it|they|his|her|its|their)|who|which|that|so)\b|;"
)
_SMALL_WORDS = word_set("a an the and or of at in on by to with for from")
NOUN_FORMS = {
    form: noun
    for noun in (*CHARACTER_NOUNS, *PLACE_NOUNS)
    for form in (noun, f"{noun}'s", f"{noun}’s")
}
PLACE_OWNERS = frozenset(PLACE_NOUNS) | word_set("land people villagers folk country realm isle")
LOOK_WORDS = VISUAL_ADJECTIVES | word_set(
    "hair beard eyes coat dress cloak hat cap scarf boots apron wearing years tall short fat thin"
)
MIN_MENTIONS = 2


@dataclass(slots=True)
class _NameStats:
    total: int = 0
    mid: int = 0  # capitalised where sentence position does not explain it: a real name
    place_votes: int = 0
    person_votes: int = 0
    first: int = 0
    units: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _NounStats:
    total: int = 0
    first: int = 0
    look: str = ""
    look_score: int = 0


@dataclass(slots=True)
class _Scan:
    words: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    names: dict[str, _NameStats] = field(default_factory=dict)
    nouns: dict[str, _NounStats] = field(default_factory=dict)
    places: dict[str, _NounStats] = field(default_factory=dict)
    ttr: list[float] = field(default_factory=list)


def _possessive(word: str) -> str:
    return word[:-2] if word.endswith(("'s", "’s")) else word


def modifiers(words: Sequence[str], k: int) -> list[str] | None:
    """The words between a determiner and the noun at ``k``; None if no determiner leads it."""
    adjectives: list[str] = []
    for j in range(k - 1, max(k - 5, -1), -1):
        word = words[j]
        if word in DETERMINERS:
            adjectives.reverse()
            return adjectives
        if word in STOPWORDS or word in CHARACTER_NOUNS or len(adjectives) == 3:
            return None
        adjectives.append(word)
    return None


def _scan(doc: Document) -> _Scan:
    """One pass over the story: word counts, character and place nouns, capitalised names."""
    scan = _Scan()
    window: list[str] = []
    for index, unit in enumerate(doc.units):
        words = doc.words[index]
        scan.words += len(words)
        if unit.heading:
            continue
        scan.counts.update(words)
        window.extend(words)
        while len(window) >= 500:
            scan.ttr.append(len(set(window[:500])) / 500)
            del window[:500]
        for k, word in enumerate(words):
            noun = NOUN_FORMS.get(word)
            if noun is not None:
                _count_noun(scan, index, unit.text, words, k, noun)
        _scan_names(scan, index, unit.text)
    if window and not scan.ttr:
        # Short texts have a higher type-token ratio; damp it towards a 500-word window.
        scan.ttr.append(len(set(window)) / len(window) * min(1.0, 0.55 + len(window) / 1000))
    for word in [w for w in scan.counts if w.endswith(("'s", "’s"))]:
        scan.counts[word[:-2]] += scan.counts.pop(word)
    return scan


def _count_noun(
    scan: _Scan, index: int, text: str, words: Sequence[str], k: int, noun: str
) -> None:
    adjectives = modifiers(words, k)
    if adjectives is None:
        return
    if noun not in CHARACTER_NOUNS:
        scan.places.setdefault(noun, _NounStats(first=index)).total += 1
        return
    key = noun
    if noun in GENERIC_NOUNS and adjectives and adjectives[-1] in IDENTITY_ADJECTIVES:
        key = f"{adjectives[-1]} {noun}"
    stats = scan.nouns.setdefault(key, _NounStats(first=index))
    stats.total += 1
    if stats.total > 6 or stats.look_score >= 4:
        return
    visual = [
        a
        for a in adjectives
        if a not in NONVISUAL and (a in VISUAL_ADJECTIVES or a not in COMMON_VERBS)
    ]
    lower = text.lower()
    at = re.search(rf"\b{re.escape(words[k])}\b", lower)
    clause = _WITH_CLAUSE.match(lower, at.end()) if at else None
    score = len(visual) + (2 if clause else 0)
    if score > stats.look_score:
        stats.look = " ".join([*visual, noun, *([clause.group(1)] if clause else [])])
        stats.look_score = score


def _scan_names(scan: _Scan, index: int, text: str) -> None:
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
                if not run and word.lower() in STOPWORDS:
                    initial = False  # "Then Hansel": the name is capitalised on its own
                    continue
                run.append(word)
                continue
            if run and not all(w in TITLE_WORDS for w in run):
                _count_name(scan, index, " ".join(run), initial, text, match.start(), match.end())
            initial = initial and not run
            run = []


def _count_name(
    scan: _Scan, index: int, name: str, initial: bool, text: str, start: int, end: int
) -> None:
    stats = scan.names.setdefault(name, _NameStats(first=index))
    stats.total += 1
    stats.mid += not initial
    if len(stats.units) < 4 and (not stats.units or stats.units[-1] != index):
        stats.units.append(index)
    before = WORD_RE.findall(text[max(0, start - 30) : start].lower())[-2:]
    after = WORD_RE.match(text[end : end + 20].lstrip(" ,"))
    if before and before[-1] in PLACE_PREPOSITIONS and before[0] not in SPEECH_VERBS:
        stats.place_votes += 1
    elif len(before) == 2 and before[1] == "of" and before[0] in PLACE_OWNERS:
        stats.place_votes += 1  # "the village of Hollow Ford"
    if (before and before[-1] in SPEECH_VERBS) or (after and after.group() in SPEECH_VERBS):
        stats.person_votes += 1


def _is_place(stats: _NameStats) -> bool:
    return (
        stats.place_votes >= 2
        and stats.place_votes >= 2 * stats.person_votes
        and stats.place_votes * 4 >= stats.total
    )


def _merge_names(
    names: dict[str, _NameStats], threshold: int
) -> list[tuple[str, list[str], _NameStats]]:
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
        combined = _NameStats(
            total=total,
            mid=sum(s.mid for s in stats),
            place_votes=sum(s.place_votes for s in stats),
            person_votes=sum(s.person_votes for s in stats),
            first=min(s.first for s in stats),
            units=sorted({u for s in stats for u in s.units})[:4],
        )
        merged.append((main, sorted(f for f in forms if f != main), combined))
    return merged


def _clean_look(text: str) -> str:
    text = _LOOK_END.split(text, maxsplit=1)[0]
    if len(text) > 100:
        text = text[:100].rsplit(" ", 1)[0]
    return text.strip(" ,;:-").lower()


def _name_look(name: str, doc: Document, unit_indexes: Sequence[int]) -> str:
    """A look for a named character, from the sentences that introduce it."""
    found: list[str] = []
    for index in unit_indexes[:3]:
        text = doc.units[index].text
        at = text.find(name)
        if at < 0:
            continue
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
    return "; ".join(found)[:160].rstrip(" ;,")


def _characters(scan: _Scan, doc: Document, limit: int) -> tuple[list[Character], list[str]]:
    """The key characters, and the proper names that are places."""
    threshold = max(MIN_MENTIONS, scan.words // 20000)
    ranked: list[tuple[int, int, Character]] = []
    places: list[str] = []
    for name, aliases, stats in _merge_names(scan.names, threshold):
        if _is_place(stats):
            places.append(name)
            continue
        look = _name_look(name, doc, stats.units)
        character = Character(name=name, look=look, mentions=stats.total, aliases=aliases)
        ranked.append((stats.total, stats.first, character))
    for key, noun in scan.nouns.items():
        if noun.total >= threshold:
            look = "" if noun.look == key else noun.look  # "young man" adds nothing
            character = Character(name=f"the {key}", look=look, mentions=noun.total, aliases=[key])
            ranked.append((noun.total, noun.first, character))
    ranked.sort(key=lambda item: (-item[0], item[1], item[2].name))
    return [character for _, _, character in ranked[:limit]], places


def _places(scan: _Scan, proper: Sequence[str], threshold: int) -> list[str]:
    ranked = [(s.total, s.first, f"the {noun}") for noun, s in scan.places.items()]
    ranked += [(scan.names[p].total, scan.names[p].first, p) for p in proper if p in scan.names]
    ranked = [r for r in ranked if r[0] >= threshold]
    ranked.sort(key=lambda r: (-r[0], r[1], r[2]))
    return [name for _, _, name in ranked[:8]]


def _themes(scan: _Scan, exclude: set[str]) -> list[str]:
    counts: Counter[str] = Counter()
    for word, count in scan.counts.items():
        if len(word) < 4 or word in STOPWORDS or word in COMMON_VERBS or word in BLAND_WORDS:
            continue
        if word in exclude or not word.replace("-", "").isalpha():
            continue
        singular = word[:-1] if word.endswith("s") and word[:-1] in scan.counts else word
        counts[singular] += count
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [word for word, count in ranked[:6] if count >= 2]


def _mood(scan: _Scan) -> str:
    scores = [sum(scan.counts[w] for w in words) for _, words in MOODS]
    best = max(range(len(MOODS)), key=lambda i: (scores[i], -i))
    return MOODS[best][0] if scores[best] else ""


def _complexity(scan: _Scan, sentences: int) -> int:
    body_words = sum(scan.counts.values())
    if not body_words or not sentences:
        return 1
    words_per_sentence = body_words / sentences
    ttr = sum(scan.ttr) / len(scan.ttr) if scan.ttr else 0.5
    word_length = sum(len(w) * c for w, c in scan.counts.items()) / body_words
    score = 1 + (words_per_sentence - 8) * 0.12 + (ttr - 0.4) * 15 + (word_length - 3.8) * 3
    return max(1, min(10, round(score)))


def _capitalise(word: str) -> str:
    """Upper-case the first letter of each hyphenated part: "red-cap" -> "Red-Cap"."""
    parts = []
    for part in word.split("-"):
        for i, char in enumerate(part):
            if char.isalpha():
                part = part[:i] + char.upper() + part[i + 1 :]
                break
        parts.append(part)
    return "-".join(parts)


def title_case(text: str) -> str:
    """Capitalise each word but the small ones after the first: "The Fox at the Castle"."""
    words = text.split()
    return " ".join(
        w.lower() if i and w.lower() in _SMALL_WORDS else _capitalise(w)
        for i, w in enumerate(words)
    )


def _title(doc: Document) -> str:
    title = doc.title
    if title and not any(c.islower() for c in title):
        title = title_case(title.lower())
    return title[:200]


def analyze_document(doc: Document, max_characters: int = 8) -> StoryAnalysis:
    """Describe a prepared story: counts, characters with looks, places, themes, mood."""
    scan = _scan(doc)
    sentences = sum(1 for u in doc.units if not u.heading)
    characters, proper_places = _characters(scan, doc, max_characters)
    threshold = max(MIN_MENTIONS, scan.words // 20000)
    exclude = {w.lower() for c in characters for f in (c.name, *c.aliases) for w in f.split()}
    recommended = 4 + round(math.log2(scan.words / 250)) if scan.words > 250 else 4
    return StoryAnalysis(
        title=_title(doc),
        word_count=scan.words,
        sentence_count=sentences,
        paragraph_count=doc.paragraph_count,
        characters=characters,
        places=_places(scan, proper_places, threshold),
        themes=_themes(scan, exclude),
        mood=_mood(scan),
        complexity=_complexity(scan, sentences),
        recommended_scenes=max(1, min(12, recommended, sentences)),
    )


__all__ = ["NOUN_FORMS", "analyze_document", "modifiers", "title_case"]
