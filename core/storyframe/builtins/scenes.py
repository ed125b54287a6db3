"""Scene building for the heuristic provider.

A prepared story is cut near equal-length positions, preferring paragraph breaks and time or
place shifts (see :mod:`.textsplit`). Each scene's sentences are tallied for the analysis'
characters and places, times and objects, and one sentence is chosen to show: the most visual
narration, never speech; the first scene's from the story's opening 15%, the last scene's from
its closing 15%, and the sentence with the strongest turning-point cues wherever it falls. The
wording of the prompt and title is in :mod:`.phrasing`.
"""

# Quotes, dashes and CJK punctuation in these patterns are deliberate.

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from storyframe.builtins.analysis import title_case
from storyframe.builtins.lexicon import (
    ACTION_VERBS,
    CHARACTER_PLURALS,
    FIRST_PERSON,
    PLACE_NOUNS,
    SECOND_PERSON,
    SPEAKING,
    THINGS,
    VISUAL_ADJECTIVES,
    word_set,
)
from storyframe.builtins.mentions import ABSENT, Matchers, Tally, tally_settings
from storyframe.builtins.phrasing import (
    SUBJECT_PRONOUNS,
    camera_angle,
    clean_speech,
    compress,
    event_title,
    light,
    shot_size,
    speechy,
    talk,
    tell_as_narrator,
    vague,
    with_subject,
)
from storyframe.builtins.storyline import FEMALE, MALE, Storyline, turning_cues
from storyframe.builtins.textsplit import WORD_RE, Document, Unit, segments, strip_speech
from storyframe.models import Scene, StoryAnalysis

_NOUN_PHRASE_START = re.compile(r"\b(?:the|a|an)\s+(?:[\w'-]+\s+){0,2}$", re.IGNORECASE)
_SPEECH = SPEAKING | FIRST_PERSON | SECOND_PERSON  # narration that still reads as speech
_TOLD_SPEECH = SPEAKING | SECOND_PERSON  # the same when "I" is the narrator
_FIRE = word_set("candle candles lamp lantern torch torches hearth fire")
_MODALS = word_set("would could should might must if")


def _sentence(
    index: int,
    unit: Unit,
    words: Sequence[str],
    position: int,
    tally: Tally,
    matchers: Matchers,
    story: Storyline,
) -> float:
    """Tally one sentence of a scene; return how well it shows the scene's action."""
    text = unit.text
    narration = text
    if story.quoted[index]:
        narration = strip_speech(text, unit.in_quote)
    told = words if narration is text else WORD_RE.findall(narration.lower())
    kinds = set(told)  # distinct words: cheap, and enough to rank sentences
    cues = turning_cues(told, kinds)
    if cues:
        story.turning[index] = cues
    people = 0
    mentions: list[tuple[int, int]] = []
    if matchers.character_re is not None:
        for match in matchers.character_re.finditer(text):
            who = matchers.character_terms.get(" ".join(match.group().lower().split()))
            if who is not None and not ABSENT.match(text, match.end()):
                tally.who[who] += 1
                mentions.append((match.start(), who))
                people += 1
    tally.mentions.append(mentions)
    if mentions and all(i == mentions[0][1] for _, i in mentions):
        # the pronouns of a sentence that names one character tell its gender
        votes = story.genders.setdefault(mentions[0][1], Counter())
        votes["m"] += len(MALE & kinds)
        votes["f"] += len(FEMALE & kinds)
    if matchers.proper_re is not None:
        for match in matchers.proper_re.finditer(text):
            place = matchers.place_names.get(" ".join(match.group().lower().split()))
            if place:
                tally.add_place(place, 1.0, position)
    places = tally_settings(tally, told, 0.75, position, matchers)
    tally_settings(tally, words, 0.25, position, matchers)
    for k, word in enumerate(words):
        noun = word if word in THINGS else word[:-1] if word[:-1] in THINGS else ""
        if noun:
            tally.things[noun] += 1
            if k and words[k - 1] in VISUAL_ADJECTIVES:
                tally.thing_adjectives.setdefault(noun, Counter())[words[k - 1]] += 1
    verbs = len(ACTION_VERBS & kinds)
    speech = 1 - len(narration) / max(1, len(text))
    people_told = len(SUBJECT_PRONOUNS & kinds)
    return (
        2 * min(people, 3)
        + 0.5 * min(people_told, 2)
        + 1.5 * min(places, 2)
        + min(verbs, 3)
        - 3 * speech
        - 1.5 * min(len(kinds & (_TOLD_SPEECH if story.narrator else _SPEECH)), 3)
        - (2 if len(told) < 5 else 0)
        - (1.5 if told and vague(told[0]) else 0)
        - 0.5 * len(_MODALS & kinds)
        - (0.5 if len(text) < 40 else 0)
        - (0.5 if len(text) > 350 else 0)
        + min(cues, 2)
    )


@dataclass(slots=True)
class _Draft:
    """What one scene is made of, before its title and prompt are written."""

    units: list[Unit]
    who: list[str]  # the characters present, the ones in the shown action first
    lead: str  # who the scene is about: the most mentioned, or two of similar weight
    place: str
    time: str
    action: str
    title: str  # what happens, if the action says it plainly ("Rapunzel lets down her hair")
    words: set[str]  # the scene's words that tell the light (candle, fire)
    tally: Tally
    talk: bool = False  # the moment is two characters speaking to each other


@dataclass(slots=True)
class _Tallied:
    """One scene's sentences, tallied and scored, before the moment to show is chosen."""

    start: int
    end: int
    body: list[int]
    tally: Tally
    scores: dict[int, float]


def _tally_scene(
    doc: Document, start: int, end: int, matchers: Matchers, story: Storyline
) -> _Tallied:
    body = [i for i in range(start, end) if not doc.units[i].heading] or list(range(start, end))
    tally = Tally()
    scores = {
        index: _sentence(
            index, doc.units[index], doc.words[index], position, tally, matchers, story
        )
        for position, index in enumerate(body)
    }
    return _Tallied(start, end, body, tally, scores)


def _draft(
    doc: Document,
    tallied: _Tallied,
    matchers: Matchers,
    previous_place: str,
    story: Storyline,
    role: str,
) -> _Draft:
    units = list(doc.units[tallied.start : tallied.end])
    body, tally, scores = tallied.body, tallied.tally, tallied.scores
    allowed = story.candidates(body, role)
    best = max(allowed, key=lambda i: (scores[i], -i))
    if story.climax in allowed:
        best = story.climax  # the moment the story turns is always shown
    who = sorted(tally.who, key=lambda i: (-tally.who[i], i))
    present = [matchers.names[i] for i in who]
    place = min(tally.where, key=lambda p: (-tally.where[p], tally.first[p]), default="")
    time = min(tally.when, key=lambda t: (-tally.when[t], tally.first["@" + t]), default="")
    unit = doc.units[best]
    narration = clean_speech(strip_speech(unit.text, unit.in_quote))
    action = compress(narration, 160)
    if story.narrator:
        action = tell_as_narrator(action)
    at = max(unit.text.find(action[:20]) if action else 0, 0)
    position = body.index(best)
    earlier = [i for offset, i in reversed(tally.mentions[position]) if offset < at]
    for mentions in reversed(tally.mentions[max(0, position - 3) : position]):
        earlier += [i for _, i in reversed(mentions)]
    earlier += who

    def resolve(pronoun: str, avoid: str = "") -> str:
        return story.referent(pronoun, earlier, matchers.names, avoid)

    said = next((w for w in doc.words[best] if w in SPEAKING), "said")
    spoken = len(action.split()) < 3 or bool(
        speechy(WORD_RE.findall(action.lower()), story.narrator)
    )
    if spoken:
        action = talk(present[:2] or ([resolve("")] if resolve("") else []), said)
    else:
        action = with_subject(action, resolve)
    title = action if spoken else ""
    if not spoken and matchers.character_re is not None:
        match = matchers.character_re.search(action, 0, 60)
        if match:  # "In her anger the enchantress clutched ...": the title starts at the name
            lead = _NOUN_PHRASE_START.search(action, 0, match.start())
            start = lead.start() if lead else match.start()
            told = action[start:]
            title = event_title(told[:1].upper() + told[1:], action[start : match.end()])
    if not title:
        title = event_title(action, "")
    in_action = [n for n in present if n.lower() in action.lower()]
    story.recent = [i for m in reversed(tally.mentions) for _, i in reversed(m)][:6] + story.recent[
        :6
    ]
    return _Draft(
        units=units,
        who=in_action + [n for n in present if n not in in_action],
        lead=_join(
            [matchers.names[i] for i in who[:2] if 5 * tally.who[i] >= 3 * tally.who[who[0]]]
        ),
        place=place or previous_place,
        time=time,
        action=action,
        title=title,
        words=set().union(*(_FIRE.intersection(doc.words[i]) for i in body)),
        tally=tally,
        talk=spoken and len(present) >= 2,
    )


def _join(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _preposition(place: str) -> str:
    words = place.lower().split()
    return PLACE_NOUNS.get(words[-1] if words else "", "in" if place[:1].isupper() else "at")


def _thing(tally: Tally, document_frequency: Counter[str], scenes: int) -> str:
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
    """What happens ("Rapunzel lets down her hair"), else who, where and what; unique."""
    lead = draft.lead
    where = f"{_preposition(draft.place)} {draft.place}" if draft.place else ""
    event = draft.title
    options = [event, f"{event} {where}"] if event and where else [event] if event else []
    if lead and where:
        options.append(title_case(f"{lead} {where}"))
    if lead and thing and " and " not in lead:
        options.append(title_case(f"{lead} and {thing}"))
    if thing and where:
        options.append(title_case(f"{thing} {where}"))
    options += [title_case(o) for o in (lead, thing, where) if o]
    titles = [o[:80] for o in options if o]
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


def _framing(draft: _Draft) -> tuple[str, str]:
    """The shot size and camera angle for the scene's moment."""
    lower = draft.action.lower()
    words = WORD_RE.findall(lower)
    present = sum(1 for n in draft.who if n.lower() in lower) or min(len(draft.who), 3)
    group = any(w in CHARACTER_PLURALS for w in words)
    shot = shot_size(words, 3 if group else present, draft.place)
    return shot, camera_angle(draft.action, draft.talk)


def _prompt(draft: _Draft, max_chars: int) -> str:
    """What happens, who does it, where and the light.

    No style words, looks or framing: ``compose_prompt`` adds the scene's shot and camera and
    the looks of the characters named here.
    """
    action = draft.action or "A scene from the story"
    lower = action.lower()
    extras = []
    if draft.who and not any(n.lower() in lower for n in draft.who):
        extras.append(f"with {_join(draft.who[:2])}")
    if draft.place and draft.place.lower().removeprefix("the ") not in lower:
        extras.append(f"{_preposition(draft.place)} {draft.place}")
    extras.append(light(draft.time, draft.place, draft.words))
    tail = ", ".join(extras)
    room = max_chars - len(tail) - 2
    if len(action) > room:
        action = action[: max(room, 0)].rsplit(" ", 1)[0].rstrip(",;: ")
    return f"{action}, {tail}"[:max_chars]


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
    matchers = Matchers.build(analysis)
    story = Storyline.build(doc)
    tallied = [
        _tally_scene(doc, start, end, matchers, story) for start, end in segments(doc.units, n)
    ]
    story.settle()
    drafts: list[_Draft] = []
    place = analysis.places[0] if analysis.places else ""
    for number, scene in enumerate(tallied):
        role = "first" if number == 0 else "last" if number == len(tallied) - 1 else ""
        draft = _draft(doc, scene, matchers, place, story, role)
        drafts.append(draft)
        place = draft.place
    frequency: Counter[str] = Counter()
    for draft in drafts:
        frequency.update(draft.tally.things.keys())
    used: set[str] = set()
    scenes = []
    for number, draft in enumerate(drafts, 1):
        thing = _thing(draft.tally, frequency, len(drafts))
        shot, camera = _framing(draft)
        scenes.append(
            Scene(
                number=number,
                title=_scene_title(draft, thing, used),
                description=_description(draft.units, max_description_chars),
                image_prompt=_prompt(draft, max_prompt_chars),
                characters=draft.who[:6],
                place=draft.place,
                time_of_day=draft.time,
                shot=shot,
                camera=camera,
            )
        )
    return scenes


__all__ = ["scenes_from_document"]
