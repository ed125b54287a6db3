"""Story analysis for the heuristic provider: one linear pass over a prepared story.

Characters are recurring proper names and recurring character nouns ("the fox"), each with a look
taken from the sentences that introduce it (a noun the story ties to one name, "Mara was a small
red fox", is that name's alias: :mod:`.aliases`); places are place nouns and names after locative
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

from storyframe.builtins.aliases import merge_aliases, noun_links
from storyframe.builtins.lexicon import (
    BLAND_WORDS,
    CHARACTER_NOUNS,
    CHARACTER_PLURALS,
    COMMON_VERBS,
    DETERMINERS,
    FEMALE_NOUNS,
    GENERIC_NOUNS,
    IDENTITY_ADJECTIVES,
    MALE_NOUNS,
    MOODS,
    NONVISUAL,
    PLACE_NOUNS,
    STOPWORDS,
    THINGS,
    VISUAL_ADJECTIVES,
    word_set,
)
from storyframe.builtins.looks import fill_looks
from storyframe.builtins.names import (
    LOOK_WORDS,
    NameStats,
    features,
    is_place,
    is_word,
    lowercase_uses,
    merge_names,
    name_look,
    scan_names,
)
from storyframe.builtins.textsplit import WORD_RE, Document
from storyframe.models import Character, StoryAnalysis

_WITH_CLAUSE = re.compile(
    r"\s+((?:with|wearing|dressed in|clad in|in a|in an|in her|in his|who wore)\s+"
    r"[^,.;:!?\"“”‘’']{2,60}?)(?=\s*[,.;:!?\"“”‘’']|\s+(?:and|who|which|that|but|as|when)\b|$)"
)
_SMALL_WORDS = word_set("a an the and or of at in on by to with for from")
NOUN_FORMS = {
    form: noun
    for noun in (*CHARACTER_NOUNS, *PLACE_NOUNS)
    for form in (noun, f"{noun}'s", f"{noun}’s")
} | {plural: plural for plural in CHARACTER_PLURALS}

MIN_MENTIONS = 2


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
    names: dict[str, NameStats] = field(default_factory=dict)
    nouns: dict[str, _NounStats] = field(default_factory=dict)
    places: dict[str, _NounStats] = field(default_factory=dict)
    ttr: list[float] = field(default_factory=list)


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
            if noun is not None and not (
                noun != word and k + 1 < len(words) and words[k + 1] in CHARACTER_NOUNS
            ):  # "the king's son" is the son, not the king
                _count_noun(scan, index, unit.text, words, k, noun)
        scan_names(scan.names, index, unit.text)
    if window and not scan.ttr:
        # Short texts have a higher type-token ratio; damp it towards a 500-word window.
        scan.ttr.append(len(set(window)) / len(window) * min(1.0, 0.55 + len(window) / 1000))
    for word in [w for w in scan.counts if w.endswith(("'s", "’s"))]:
        scan.counts[word[:-2]] += scan.counts.pop(word)
    return scan


def _clause_owner(clause_words: Sequence[str]) -> str | None:
    """Whose look a "with ..." clause gives: "f" (her), "m" (his), "" (anyone); None if it is
    not a look at all ("in his terror")."""
    words = set(clause_words)
    if words.isdisjoint(LOOK_WORDS) and words.isdisjoint(THINGS):
        return None
    if "her" in words or "herself" in words:
        return "f"
    if "his" in words or "himself" in words:
        return "m"
    return ""


def _gender(noun: str) -> str:
    return "f" if noun in FEMALE_NOUNS else "m" if noun in MALE_NOUNS else ""


def _count_noun(
    scan: _Scan, index: int, text: str, words: Sequence[str], k: int, noun: str
) -> None:
    adjectives = modifiers(words, k)
    if adjectives is None:
        return
    if noun not in CHARACTER_NOUNS and noun not in CHARACTER_PLURALS:
        scan.places.setdefault(noun, _NounStats(first=index)).total += 1
        return
    key = noun
    owner = NOUN_FORMS.get(adjectives[-1]) if adjectives else None
    if owner is not None and owner in CHARACTER_NOUNS and owner != adjectives[-1]:
        key = f"{owner}'s {noun}"  # "the king's son", "the miller's daughter"
        adjectives = adjectives[:-1]
    elif noun in GENERIC_NOUNS and adjectives and adjectives[-1] in IDENTITY_ADJECTIVES:
        key = f"{adjectives[-1]} {noun}"
    stats = scan.nouns.setdefault(key, _NounStats(first=index))
    stats.total += 1
    if stats.total > 10 or stats.look_score >= 4:
        return
    visual: list[str] = []
    for word in reversed(adjectives):  # only the run of look words next to the noun
        if word in NONVISUAL or word in NOUN_FORMS:
            break
        if word not in VISUAL_ADJECTIVES and (word in COMMON_VERBS or word.endswith("ed")):
            break
        visual.insert(0, word)
    lower = text.lower()
    at = re.search(rf"\b{re.escape(words[k])}\b", lower)
    clause = _WITH_CLAUSE.match(lower, at.end()) if at else None
    gender = _gender(noun)
    if clause:
        owner = _clause_owner(WORD_RE.findall(clause.group(1)))
        if owner and owner != gender:
            # "The woman came up to the tailor with her heavy basket": the woman's basket
            _give_look(scan, words[:k], owner, clause.group(1))
        if owner is None or (owner and owner != gender):
            clause = None
    feature = ""
    if not clause and gender and sum(1 for w in words if w in NOUN_FORMS) == 1:
        feature = next(iter(features(text, gender)), "")  # "the queen ... her golden hair"
    score = len(visual) + (2 if clause or feature else 0)
    if score > stats.look_score:
        extra = [clause.group(1)] if clause else [f"with {feature}"] if feature else []
        stats.look = " ".join([*visual, key if "'s " in key else noun, *extra])
        stats.look_score = score


def _give_look(scan: _Scan, before: Sequence[str], gender: str, clause: str) -> None:
    """Give ``clause`` to the last character noun of ``gender`` before it, if it has no look."""
    for word in reversed(before):
        noun = NOUN_FORMS.get(word)
        stats = scan.nouns.get(noun) if noun else None
        if noun and stats and _gender(noun) == gender and stats.look_score < 2:
            stats.look = f"{noun} {clause}"
            stats.look_score = 2
            return


def _noun_characters(scan: _Scan, threshold: int) -> list[tuple[int, int, Character]]:
    """Recurring character nouns; a bare noun joins the one possessive form of it there is."""
    compounds: dict[str, list[str]] = {}
    for key in scan.nouns:
        if "'s " in key:
            compounds.setdefault(key.rsplit(" ", 1)[-1], []).append(key)
    ranked = []
    for key, noun in scan.nouns.items():
        owners = compounds.get(key, [])
        if len(owners) == 1:
            continue  # "the son" in a story with "the king's son" and no other son
        aliases = [key]
        total = noun.total
        if "'s " in key and len(compounds.get(key.rsplit(" ", 1)[-1], [])) == 1:
            bare = scan.nouns.get(key.rsplit(" ", 1)[-1])
            if bare is not None:
                aliases.append(key.rsplit(" ", 1)[-1])
                total += bare.total
        if total >= threshold:
            look = "" if noun.look == key else noun.look  # "young man" adds nothing
            character = Character(name=f"the {key}", look=look, mentions=total, aliases=aliases)
            ranked.append((total, noun.first, character))
    return ranked


def _characters(scan: _Scan, doc: Document, limit: int) -> tuple[list[Character], list[str]]:
    """The key characters, and the proper names that are places."""
    threshold = max(MIN_MENTIONS, scan.words // 20000)
    named: list[tuple[int, Character, set[str]]] = []
    places: list[str] = []
    merged = merge_names(scan.names, threshold)
    single = {name.lower() for name, _, _ in merged if " " not in name}
    lower = lowercase_uses(doc, single | {w[:-2] for w in single if w.endswith("ly")})
    for name, aliases, stats in merged:
        if is_word(name, stats, lower):
            longer = [a for a in aliases if " " in a]
            if not longer:
                continue
            name, aliases = longer[-1], sorted({*aliases, name} - {longer[-1]})
        if is_place(name, stats):
            places.append(name)
            continue
        look = name_look(name, doc, stats.units)
        character = Character(name=name, look=look, mentions=stats.total, aliases=aliases)
        named.append((stats.first, character, noun_links([name, *aliases], doc, stats.units)))
    nouns = merge_aliases(doc, named, _noun_characters(scan, threshold))
    ranked = [(c.mentions, first, c) for first, c, _ in named] + nouns
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
    fill_looks(characters, doc)
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
