"""Scene building for the heuristic provider.

A prepared story is cut near equal-length positions, preferring paragraph breaks and time or
place shifts (see :mod:`.textsplit`). Each scene's sentences are tallied for the analysis'
characters and places, times and objects; its title, image prompt and description come from that
tally and from the sentence that best shows the action.
"""

# Quotes, dashes and CJK punctuation in these patterns are deliberate.
# ruff: noqa: RUF001

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from storyframe.builtins.analysis import NOUN_FORMS, modifiers, title_case
from storyframe.builtins.lexicon import (
    ACTION_VERBS,
    DETERMINERS,
    LIGHTING,
    PLACE_NOUNS,
    PLACE_PREPOSITIONS,
    STOPWORDS,
    THINGS,
    TIMES,
    VISUAL_ADJECTIVES,
    word_set,
)
from storyframe.builtins.textsplit import WORD_RE, Document, Unit, segments, strip_speech
from storyframe.models import Scene, StoryAnalysis

_QUOTES = re.compile("[\"'“”‘’«»「」『』]")
_QUOTE_MARKS = re.compile(r"[\"“”«»„「」『』]|(?<!\w)['‘]|['’](?!\w)")
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
LOCATIVES = PLACE_PREPOSITIONS | {"on", "by", "entered"}
SUBJECT_STARTERS = DETERMINERS | word_set("he she they it i we you there one two all some")
_LOWERCASE_STARTERS = SUBJECT_STARTERS | STOPWORDS  # words that need no capital mid-prompt


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
    titles = [title_case(o)[:80] for o in options]
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
    doc: Document,
    n: int,
    analysis: StoryAnalysis,
    *,
    max_description_chars: int = 600,
    max_prompt_chars: int = 400,
) -> list[Scene]:
    """Cut a prepared story into at most ``n`` scenes and describe each one."""
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
                description=_description(draft.units, max_description_chars),
                image_prompt=_prompt(draft, max_prompt_chars),
                characters=draft.who[:6],
                place=draft.place,
                time_of_day=draft.time,
            )
        )
    return scenes


__all__ = ["scenes_from_document"]
