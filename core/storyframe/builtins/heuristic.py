"""The built-in offline text provider: a heuristic scene extractor, no model and no network.

Characters are recurring proper names and recurring character nouns ("the fox"); places are
place nouns and names after locative prepositions; scenes are cut near equal-length positions,
preferring paragraph breaks and time or place shifts (see :mod:`.textsplit`). Everything is
deterministic and linear in the length of the story.
"""

# Quotes, dashes and CJK punctuation in these patterns are deliberate.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pydantic import Field, SecretStr

from storyframe.builtins.lexicon import (
    ACTION_VERBS,
    BLAND_WORDS,
    CHARACTER_NOUNS,
    COMMON_CAPS,
    COMMON_VERBS,
    DETERMINERS,
    GENERIC_NOUNS,
    IDENTITY_ADJECTIVES,
    LIGHTING,
    MOODS,
    NONVISUAL,
    PLACE_NOUNS,
    PLACE_PREPOSITIONS,
    SPEECH_VERBS,
    STOPWORDS,
    THINGS,
    TIMES,
    TITLE_WORDS,
    VISUAL_ADJECTIVES,
    _words,
)
from storyframe.builtins.textsplit import WORD_RE, Document, Unit, prepare, segments, strip_speech
from storyframe.errors import InputError
from storyframe.models import Character, Scene, StoryAnalysis, Style
from storyframe.providers import ProviderConfig, TextProvider

_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u024f\u0370-\u03ff\u0400-\u042f"
_CAP_RUN = re.compile(rf"(?<![\w'’-])[{_UPPER}][\w'’-]*(?:\.? [{_UPPER}][\w'’-]*)*")
_RUN_SPLIT = re.compile(r"\.? ")
_CLAUSE_CHARS = frozenset(".!?:;\"“‘«([—–-'")
_QUOTES = re.compile("[\"'“”‘’«»「」『』]")
_QUOTE_MARKS = re.compile(r"[\"“”«»„「」『』]|(?<!\w)['‘]|['’](?!\w)")
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
_CLAUSES = re.compile(
    r"\s*(?:[;:—–]|--)\s*|,\s+(?=(?:and|but|so|then|when|while|till|until|where)\b)"
)
_LEADING_JOINERS = re.compile(
    r"^(?:(?:and|but|so|then|now|however|thus|yet|for|or|when|while|meanwhile|suddenly|presently"
    r"|afterwards|soon|at\s+(?:last|length|once)|one\s+day|(?:the\s+)?next\s+(?:morning|day)"
    r"|that\s+(?:night|evening|morning))\b[\s,]*)+",
    re.IGNORECASE,
)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
_REPEATED_COMMAS = re.compile(r"(?:,\s*){2,}")
_EDGE_JUNK = re.compile(r"^[\s,;:.\-—–]+|[\s,;:\-—–]+$")
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_SMALL_WORDS = _words("a an the and or of at in on by to with for from")
NOUN_FORMS = {
    form: noun
    for noun in (*CHARACTER_NOUNS, *PLACE_NOUNS)
    for form in (noun, f"{noun}'s", f"{noun}’s")
}
LOCATIVES = PLACE_PREPOSITIONS | {"on", "by", "entered"}
SUBJECT_STARTERS = DETERMINERS | _words("he she they it i we you there one two all some")
_LOWERCASE_STARTERS = SUBJECT_STARTERS | STOPWORDS  # words that need no capital mid-prompt
PLACE_OWNERS = frozenset(PLACE_NOUNS) | _words("land people villagers folk country realm isle")
LOOK_WORDS = VISUAL_ADJECTIVES | _words(
    "hair beard eyes coat dress cloak hat cap scarf boots apron wearing years tall short fat thin"
)
MIN_MENTIONS = 2


class HeuristicConfig(ProviderConfig):
    """Settings of the ``heuristic`` provider (``[providers.heuristic]``)."""

    max_description_chars: int = Field(
        default=600, ge=80, description="Scene descriptions are trimmed to about this length."
    )
    max_prompt_chars: int = Field(
        default=400, ge=80, le=4000, description="Image prompts are kept under this length."
    )
    max_characters: int = Field(
        default=8, ge=1, le=50, description="Key characters reported by the analysis."
    )


# Analysis ---------------------------------------------------------------------------------


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


def _modifiers(words: Sequence[str], k: int) -> list[str] | None:
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
    adjectives = _modifiers(words, k)
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


def _title_case(text: str) -> str:
    words = text.split()
    return " ".join(
        w.lower() if i and w.lower() in _SMALL_WORDS else _capitalise(w)
        for i, w in enumerate(words)
    )


def _title(doc: Document) -> str:
    title = doc.title
    if title and not any(c.islower() for c in title):
        title = _title_case(title.lower())
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


# Scenes -----------------------------------------------------------------------------------


def _term_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    unique = sorted({t for t in terms if t}, key=lambda t: (-len(t), t))
    if not unique:
        return None
    alternatives = "|".join(re.escape(t) for t in unique)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


@dataclass(slots=True)
class _Matchers:
    """Finds the analysis' characters and places in scene text."""

    names: list[str]
    character_terms: dict[str, int]
    character_re: re.Pattern[str] | None
    place_names: dict[str, str]  # lexicon noun or proper name (lowercase) -> how to show it
    proper_re: re.Pattern[str] | None

    @classmethod
    def build(cls, analysis: StoryAnalysis) -> _Matchers:
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
class _Tally:
    """What one scene's sentences mention, with the positions of first mentions."""

    who: Counter[int] = field(default_factory=Counter)
    where: dict[str, float] = field(default_factory=dict)
    when: dict[str, float] = field(default_factory=dict)
    first: dict[str, int] = field(default_factory=dict)
    things: Counter[str] = field(default_factory=Counter)
    thing_adjectives: dict[str, Counter[str]] = field(default_factory=dict)

    def add_place(self, place: str, weight: float, position: int) -> None:
        self.where[place] = self.where.get(place, 0.0) + weight
        self.first.setdefault(place, position)

    def add_time(self, time: str, weight: float, position: int) -> None:
        self.when[time] = self.when.get(time, 0.0) + weight
        self.first.setdefault("@" + time, position)


def _tally_settings(
    tally: _Tally, words: Sequence[str], weight: float, position: int, matchers: _Matchers
) -> int:
    """Add the places and times in ``words``; return how many places there were."""
    places = 0
    for k, word in enumerate(words):
        if word in PLACE_NOUNS:
            adjectives = _modifiers(words, k)
            if adjectives is None:
                continue
            det = k - 1 - len(adjectives)
            located = det > 0 and words[det - 1] in LOCATIVES
            tally.add_place(matchers.place_names[word], weight * (2 if located else 1), position)
            places += 1
        elif word in TIMES:
            tally.add_time(TIMES[word], weight, position)
    return places


def _sentence(
    unit: Unit, words: Sequence[str], position: int, tally: _Tally, matchers: _Matchers
) -> float:
    """Tally one sentence of a scene; return how well it shows the scene's action."""
    text = unit.text
    narration = text
    if unit.in_quote or _QUOTES.search(text):
        narration = strip_speech(text, unit.in_quote)
    told = words if narration is text else WORD_RE.findall(narration.lower())
    people = 0
    if matchers.character_re is not None:
        for match in matchers.character_re.finditer(text):
            index = matchers.character_terms.get(" ".join(match.group().lower().split()))
            if index is not None:
                tally.who[index] += 1
                people += 1
    if matchers.proper_re is not None:
        for match in matchers.proper_re.finditer(text):
            place = matchers.place_names.get(" ".join(match.group().lower().split()))
            if place:
                tally.add_place(place, 1.0, position)
    places = _tally_settings(tally, told, 0.75, position, matchers)
    _tally_settings(tally, words, 0.25, position, matchers)
    for k, word in enumerate(words):
        noun = word if word in THINGS else word[:-1] if word[:-1] in THINGS else ""
        if noun:
            tally.things[noun] += 1
            if k and words[k - 1] in VISUAL_ADJECTIVES:
                tally.thing_adjectives.setdefault(noun, Counter())[words[k - 1]] += 1
    verbs = sum(1 for w in told if w in ACTION_VERBS)
    speech = 1 - len(narration) / max(1, len(text))
    return (
        2 * min(people, 3)
        + 1.5 * min(places, 2)
        + min(verbs, 3)
        - 2 * speech
        - (0.5 if len(text) < 40 else 0)
        - (0.5 if len(text) > 350 else 0)
    )


def _compress(text: str, max_chars: int) -> str:
    """The most visual clause or two of a sentence, tidied up."""
    clauses = [c for c in _CLAUSES.split(text) if c and c.strip()]
    if not clauses:
        return ""

    def score(clause: str) -> float:
        clause = _LEADING_JOINERS.sub("", clause.strip())
        words = WORD_RE.findall(clause.lower())
        verbs = sum(1 for w in words if w in ACTION_VERBS)
        things = sum(1 for w in words if w in THINGS or w in NOUN_FORMS)
        # A clause that starts with its subject reads well on its own ("he ran", not "ran").
        subject = bool(words) and (words[0] in SUBJECT_STARTERS or clause[:1].isupper())
        return verbs * 2 + things + (2 if subject else 0) - abs(len(words) - 14) / 10

    best = max(range(len(clauses)), key=lambda i: (score(clauses[i]), -i))
    chosen = clauses[best]
    if len(chosen) < 60 and best + 1 < len(clauses):
        chosen = f"{chosen}, {clauses[best + 1]}"
    chosen = _LEADING_JOINERS.sub("", chosen.strip())
    chosen = _SPACE_BEFORE_PUNCT.sub(r"\1", chosen)
    chosen = _REPEATED_COMMAS.sub(", ", chosen)
    chosen = _EDGE_JUNK.sub("", chosen).rstrip(".!?。！？｡")
    if len(chosen) > max_chars:
        chosen = chosen[:max_chars].rsplit(" ", 1)[0].rstrip(",;: ")
    return chosen[:1].upper() + chosen[1:]


@dataclass(slots=True)
class _Draft:
    """What one scene is made of, before its title and prompt are written."""

    units: list[Unit]
    who: list[str]  # the characters present, most mentioned first
    lead: str  # who the scene is about: the most mentioned, or two of similar weight
    place: str
    time: str
    action: str
    tally: _Tally


def _draft(doc: Document, start: int, end: int, matchers: _Matchers, previous_place: str) -> _Draft:
    units = list(doc.units[start:end])
    body = [i for i in range(start, end) if not doc.units[i].heading] or list(range(start, end))
    tally = _Tally()
    best, best_score = doc.units[body[0]], float("-inf")
    for position, index in enumerate(body):
        unit = doc.units[index]
        score = _sentence(unit, doc.words[index], position, tally, matchers)
        if score > best_score:
            best, best_score = unit, score
    who = sorted(tally.who, key=lambda i: (-tally.who[i], i))
    place = min(tally.where, key=lambda p: (-tally.where[p], tally.first[p]), default="")
    time = min(tally.when, key=lambda t: (-tally.when[t], tally.first["@" + t]), default="")
    action = _compress(strip_speech(best.text, best.in_quote), 220)
    if len(action) < 20:  # mostly speech: use the words spoken
        action = _compress(_QUOTE_MARKS.sub("", best.text), 220)
    return _Draft(
        units=units,
        who=[matchers.names[i] for i in who],
        lead=_join(
            [matchers.names[i] for i in who[:2] if 5 * tally.who[i] >= 3 * tally.who[who[0]]]
        ),
        place=place or previous_place,
        time=time,
        action=action,
        tally=tally,
    )


def _join(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _preposition(place: str) -> str:
    words = place.lower().split()
    return PLACE_NOUNS.get(words[-1] if words else "", "in" if place[:1].isupper() else "at")


def _thing(tally: _Tally, document_frequency: Counter[str], scenes: int) -> str:
    """The scene's most distinctive object, with its usual adjective ("the golden cage")."""
    if not tally.things:
        return ""
    order = {noun: i for i, noun in enumerate(tally.things)}
    noun = min(
        tally.things,
        key=lambda n: (-tally.things[n] * math.log(1 + scenes / document_frequency[n]), order[n]),
    )
    adjectives = tally.thing_adjectives.get(noun)
    if adjectives:
        adjective = min(adjectives, key=lambda a: (-adjectives[a], a))
        return f"the {adjective} {noun}"
    return f"the {noun}"


def _scene_title(draft: _Draft, thing: str, used: set[str]) -> str:
    """A short title from who, where and what ("The Fox at the Castle"), unique in the story."""
    lead = draft.lead
    where = f"{_preposition(draft.place)} {draft.place}" if draft.place else ""
    options = []
    if lead and where:
        options.append(f"{lead} {where}")
    if lead and thing and " and " not in lead:
        options.append(f"{lead} and {thing}")
    if thing and where:
        options.append(f"{thing} {where}")
    if len(draft.who) > 1 and lead != _join(draft.who[:2]):
        options.append(_join(draft.who[:2]))
    options += [o for o in (lead, thing, where) if o]
    titles = [_title_case(o)[:80] for o in options]
    if not titles:  # nothing recognised (another language?): the start of the key action
        words = draft.action.split()
        if len(words) > 2:
            titles.append(" ".join(words[:5]) + ("…" if len(words) > 5 else ""))
        else:
            titles.append(draft.action[:16] + ("…" if len(draft.action) > 16 else ""))
    titles = [t for t in titles if t.strip()] or ["Scene"]
    title = next((t for t in titles if t.lower() not in used), "")
    if not title:
        number = 2
        while f"{titles[0]} ({number})".lower() in used:
            number += 1
        title = f"{titles[0]} ({number})"
    used.add(title.lower())
    return title


def _prompt(draft: _Draft, max_chars: int) -> str:
    """Who, where and the light, then what happens.

    No style words and no looks: ``compose_prompt`` adds those for the characters named here.
    """
    staging = (
        " ".join(s for s in (_join(draft.who[:3]), _preposition(draft.place), draft.place) if s)
        if draft.place
        else _join(draft.who[:3])
    )
    if draft.time:
        staging = f"{staging}, {LIGHTING[draft.time]}" if staging else LIGHTING[draft.time]
    staging = staging[:1].upper() + staging[1:]
    action = draft.action
    if staging and action and action.split(" ", 1)[0].lower() in _LOWERCASE_STARTERS:
        action = action[:1].lower() + action[1:]
    room = max_chars - len(staging) - 2
    if len(action) > room:
        action = action[: max(room, 0)].rsplit(" ", 1)[0].rstrip(",;: ")
    prompt = ": ".join(p for p in (staging, action) if p) or "A scene from the story"
    return prompt[:max_chars]


def _description(units: Sequence[Unit], max_chars: int) -> str:
    """The scene's own text, trimmed at a sentence end to about ``max_chars``."""
    texts = [u.text for u in units if not u.heading] or [u.text for u in units]
    kept: list[str] = []
    size = -1
    for text in texts:
        if size + 1 + len(text) > max_chars:
            break
        kept.append(text)
        size += 1 + len(text)
    if len(kept) == len(texts):
        return " ".join(kept)
    if not kept:
        return texts[0][: max_chars - 1].rsplit(" ", 1)[0].rstrip(",;: ") + "…"
    return " ".join(kept) + " …"


def scenes_from_document(
    doc: Document, n: int, analysis: StoryAnalysis, config: HeuristicConfig | None = None
) -> list[Scene]:
    """Cut a prepared story into at most ``n`` scenes and describe each one."""
    config = config or HeuristicConfig()
    matchers = _Matchers.build(analysis)
    drafts: list[_Draft] = []
    place = ""
    for start, end in segments(doc.units, n):
        draft = _draft(doc, start, end, matchers, place)
        drafts.append(draft)
        place = draft.place
    frequency: Counter[str] = Counter()
    for draft in drafts:
        frequency.update(draft.tally.things.keys())
    used: set[str] = set()
    scenes = []
    for number, draft in enumerate(drafts, 1):
        thing = _thing(draft.tally, frequency, len(drafts))
        scenes.append(
            Scene(
                number=number,
                title=_scene_title(draft, thing, used),
                description=_description(draft.units, config.max_description_chars),
                image_prompt=_prompt(draft, config.max_prompt_chars),
                characters=draft.who[:6],
                place=draft.place,
                time_of_day=draft.time,
            )
        )
    return scenes


# The provider -----------------------------------------------------------------------------


class HeuristicTextProvider(TextProvider):
    """Offline scene extraction with plain heuristics: always available, no key, no network."""

    name = "heuristic"
    description = "Built-in offline scene extractor (heuristics; no model, no network)."
    needs_key = False
    config_model = HeuristicConfig

    def __init__(self, config: ProviderConfig | None = None, api_key: SecretStr | None = None):
        super().__init__(config, api_key)
        if isinstance(self.config, HeuristicConfig):
            self.settings = self.config
        else:
            self.settings = HeuristicConfig.model_validate(self.config.model_dump())
        self._prepared: tuple[str, Document] | None = None
        self._analysis: tuple[str, StoryAnalysis] | None = None

    def _document(self, story: str) -> Document:
        if self._prepared is not None and self._prepared[0] == story:
            return self._prepared[1]
        if not story or not story.strip():
            raise InputError("the story is empty.", hint="Pass a text that holds a story.")
        doc = prepare(story)
        if not doc.units:
            raise InputError(
                "the story holds no text once boilerplate and markup are removed.",
                hint="Pass a text that holds a story.",
            )
        self._prepared = (story, doc)
        return doc

    async def analyze(self, story: str) -> StoryAnalysis:
        """Counts, key characters with looks, places, themes, mood, complexity, a scene count."""
        if self._analysis is None or self._analysis[0] != story:
            # CPU-bound on long stories: keep it off the event loop.
            analysis = await asyncio.to_thread(self._analyze_sync, story)
            self._analysis = (story, analysis)
        return self._analysis[1].model_copy(deep=True)

    def _analyze_sync(self, story: str) -> StoryAnalysis:
        return analyze_document(self._document(story), self.settings.max_characters)

    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None = None
    ) -> list[Scene]:
        """Exactly ``n`` scenes, or one per sentence when the story has fewer than ``n``."""
        if n < 1:
            raise InputError(f"cannot split a story into {n} scenes.", hint="Ask for 1 or more.")
        if analysis is None:
            analysis = await self.analyze(story)
        doc = await asyncio.to_thread(self._document, story)
        return await asyncio.to_thread(scenes_from_document, doc, n, analysis, self.settings)


__all__ = [
    "HeuristicConfig",
    "HeuristicTextProvider",
    "analyze_document",
    "scenes_from_document",
]
