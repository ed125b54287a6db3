"""The look fields of the heuristic analysis' characters, from what the story says near them.

Only the story's own words are used, and only where they are tied to the character: adjectives
right before a mention ("the old grey wolf": age "old", colours "grey", species "wolf"), the
words of its name ("Red-Cap": a red cap), a "with"/"wearing" clause after a mention, and, in a
sentence that names no other character, a possessive of its gender ("her golden hair"), clothes
it wears or puts on, and "N years old". Nothing is guessed where the text is silent.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from storyframe.builtins.lexicon import FEMALE_NOUNS, MALE_NOUNS, word_set
from storyframe.builtins.names import _gender as name_gender
from storyframe.builtins.names import features
from storyframe.builtins.textsplit import Document
from storyframe.models import Character

SPECIES = word_set(
    """fox wolf bird horse cat dog mouse frog bear goose fish donkey ass cock hen sparrow raven
    dove owl swan lion snake toad duck cow goat hare sheep bee ant wren kid pig ox calf lamb
    dragon giant dwarf elf fairy mermaid unicorn griffin troll goblin"""
)
"""Animals and other non-humans a character noun can name."""
_PLURAL_SPECIES = {"wolves": "wolf", "mice": "mouse", "geese": "goose", "dwarfs": "dwarf",
                   "elves": "elf", "fairies": "fairy", "fishes": "fish", "asses": "ass",
                   "oxen": "ox", "sheep": "sheep"} | {f"{s}s": s for s in SPECIES}  # fmt: skip
AGE_WORDS = word_set("old young aged elderly ancient baby infant youthful grey-haired")
CHILD_NOUNS = word_set("girl boy child children kid kids baby daughter son lad maiden youth")
BUILD_WORDS = word_set(
    """tall short fat thin stout slender lean big huge tiny small strong broad plump portly
    skinny lanky hunchbacked crooked mighty"""
)
COLOURS = word_set(
    """red white black green blue yellow brown grey gray golden gold silver scarlet crimson
    purple pink orange tawny russet"""
)
GARMENTS = word_set(
    """cap hat hood cloak cape coat dress gown apron boots shoes slippers slipper shoe mantle
    robe veil crown scarf shawl jacket waistcoat breeches stockings skirt petticoat bonnet tunic
    shirt trousers belt gloves armour helmet collar necklace kerchief spectacles clothes"""
)
_MATERIALS = "velvet|silk|wool|woollen|linen|leather|fur|satin|lace|gold|silver|iron|glass|straw"
_GARMENT = "|".join(sorted(GARMENTS, key=len, reverse=True))
_ADJ = r"(?:(?!(?:the|a|an|and|or|of|in|on|his|her|their|its|with|to)\b)[\w-]+,?\s+){0,3}?"
_GARMENT_PHRASE = rf"{_ADJ}(?:{_GARMENT})(?:\s+of\s+(?:[\w-]+\s+)?(?:{_MATERIALS}))?\b"
_WEARS = re.compile(
    rf"\b(?:wore|wears|wearing|put\s+on|puts\s+on|dressed\s+in|clad\s+in|had\s+on|in)\s+"
    rf"(?:a|an|the|her|his|their)\s+({_GARMENT_PHRASE})",
    re.IGNORECASE,
)
_GIVEN = re.compile(
    rf"\b(?:gave|brought|made|bought|sewed|sent)\s+(her|him)\s+(?:a|an|the)\s+({_GARMENT_PHRASE})",
    re.IGNORECASE,
)
_OWNED = re.compile(rf"\b(her|his)\s+({_GARMENT_PHRASE})", re.IGNORECASE)
_WITH_AFTER = re.compile(
    rf"^,?\s+(?:with|wearing|in)\s+(?:a|an|the|her|his)\s+({_GARMENT_PHRASE})"
    rf"(?:,?\s+and\s+(?:a|an|the|her|his)\s+({_GARMENT_PHRASE}))?",
    re.IGNORECASE,
)
_YEARS = re.compile(
    r"^[^.;!?]{0,40}?\b((?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty)\s+years?\s+old)\b",
    re.IGNORECASE,
)
_NAME_SPECIES = re.compile(
    rf"\b({'|'.join(sorted(SPECIES, key=len, reverse=True))}),?\s+(?:(?:called|named)\s+)?"
    "[\"'\u201c\u2018]?$"
)
_APPOSITIVE_SPECIES = re.compile(
    rf"^,?\s+(?:the|a|an)\s+(?:[\w-]+\s+){{0,2}}?({'|'.join(sorted(SPECIES))})\b", re.IGNORECASE
)
_NAME_PART = re.compile(rf"^({'|'.join(sorted(COLOURS))})[- ]?({_GARMENT}|beard|hair)$", re.I)
_HAIR = word_set("hair beard locks tresses braids braid curls moustache mane")
_FACE = word_set("skin cheeks eyes lips face complexion nose")
_LOOKS = AGE_WORDS | BUILD_WORDS | COLOURS | {"little"}
_DULL = word_set("own same other very whole own poor dear")
SCAN_UNITS = 800
"""Sentences read for looks: the first ones introduce the characters (keeps novels fast)."""


@dataclass(slots=True)
class _Found:
    votes: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, name: str, value: str, weight: int = 1) -> None:
        value = " ".join(value.split()).strip(" ,;").lower()
        if value:
            self.votes.setdefault(name, Counter())[value] += weight

    def best(self, name: str, limit: int = 2) -> str:
        ranked = sorted(self.votes.get(name, {}).items(), key=lambda kv: (-kv[1], kv[0]))
        kept: list[str] = []
        for value, _ in ranked:
            words = set(value.split())
            same = [k for k in kept if words <= set(k.split()) or set(k.split()) <= words]
            if not same:
                kept.append(value)
            elif len(value) > len(same[0]):  # "little cap of red velvet" says more than "red cap"
                kept[kept.index(same[0])] = value
        return ", ".join(kept[:limit])


def _head(name: str) -> str:
    """The character noun a "the ..." name ends in ("the king's son" -> "son"), else ""."""
    name = name.lower()
    return name.rsplit(" ", 1)[-1] if name.startswith("the ") else ""


def _clean_garment(phrase: str) -> str:
    words = phrase.replace(",", " ").split()
    while words and (words[0].lower() in _DULL or words[0].lower() in word_set("a an the")):
        words.pop(0)
    return " ".join(words)


def _run_before(text: str) -> list[str]:
    """The look words directly before a mention, nearest last ("the old grey" -> old, grey);
    a comma or any other word ends the run."""
    run: list[str] = []
    for word in reversed(text.rstrip().split(" ")):
        bare = word.lower()
        if not bare or bare.endswith((",", ";", ".", "'", "\u2019", '"')):
            break
        if bare not in _LOOKS:
            break
        run.insert(0, bare)
    return run[-3:]


def _adjectives(found: _Found, words: Sequence[str], noun: str) -> None:
    """Votes for the age, build and colour words right before a mention."""
    for word in words:
        word = word.lower().strip(",")
        if word in AGE_WORDS or (word == "little" and noun in CHILD_NOUNS):
            found.add("age", word)
        elif word in BUILD_WORDS or word == "little":
            found.add("build", "small" if word == "little" else word)
        elif word in COLOURS:
            found.add("colours", word)


def describe(
    character: Character, doc: Document, units: Sequence[int], solo: set[int]
) -> dict[str, str]:
    """The look fields the story gives ``character`` in the sentences ``units`` (where it is
    mentioned; ``solo``: those that name no other character), each '' when it says nothing."""
    found = _Found()
    noun = _head(character.name)
    # a named character's descriptive aliases ("the fox") tell what a character noun would
    nouns = [noun] if noun else [_head(a) for a in character.aliases]
    species = next(
        (_PLURAL_SPECIES.get(n, n) for n in nouns if _PLURAL_SPECIES.get(n, n) in SPECIES), ""
    )
    for alias_noun in nouns:
        if alias_noun in CHILD_NOUNS and alias_noun not in ("daughter", "son"):
            found.add("age", "young" if alias_noun in ("kid", "kids") else alias_noun, 1)
    genders = {"f" if n in FEMALE_NOUNS else "m" if n in MALE_NOUNS else "" for n in nouns} - {""}
    gender = genders.pop() if len(genders) == 1 else ""
    if not noun:
        gender = name_gender(character.name, doc, units) or gender
        for part in re.split(r"[\s]+", character.name):
            match = _NAME_PART.match(part)
            if match:
                key = "hair" if match.group(2).lower() in _HAIR else "clothes"
                found.add(key, f"{match.group(1)} {match.group(2)}", 3)
    words = character.name.split()
    _adjectives(found, words[:-1] if noun else words, noun)
    named = {character.name, *character.aliases}
    forms = sorted(
        named | {re.sub(r"^(?:the|a|an)\s+", "", f) for f in named}, key=len, reverse=True
    )
    pattern = re.compile(
        rf"(?<![\w-])(?:{'|'.join(re.escape(f) for f in forms)})(?![\w-])", re.IGNORECASE
    )
    species_votes: Counter[str] = Counter()
    for index in units:
        text = doc.units[index].text
        for match in pattern.finditer(text):
            window = text[max(0, match.start() - 60) : match.start()]
            _adjectives(found, _run_before(window), noun)
            if not noun:
                animal = _NAME_SPECIES.search(window.lower())
                if animal:
                    species_votes[animal.group(1)] += 1
            after = text[match.end() : match.end() + 120]
            if not noun:
                animal = _APPOSITIVE_SPECIES.match(after)
                if animal:
                    species_votes[animal.group(1).lower()] += 1
            clause = _WITH_AFTER.match(after)
            if clause:
                for phrase in clause.groups():
                    if phrase:
                        found.add("clothes", _clean_garment(phrase), 2)
            years = _YEARS.match(after)
            if years:
                found.add("age", years.group(1), 3)
    head = character.look.split()
    if 1 < len(head) <= 4 and " with " not in character.look:  # "young daughter"
        _adjectives(found, head[:-1], head[-1].lower())
    for part in character.look.split(";"):  # the look the analysis tied to it, in parts
        for phrase in features(f"with {part.split(' with ', 1)[-1].strip()}", ""):
            told = set(re.findall(r"[\w-]+", phrase))
            key = "hair" if told & _HAIR else "face" if told & _FACE else ""
            if key:
                found.add(key, phrase, 2)
        for garment in re.finditer(_GARMENT_PHRASE, part, re.IGNORECASE):
            found.add("clothes", _clean_garment(garment.group()), 1)
    if not species and species_votes:
        species = species_votes.most_common(1)[0][0]
    return {
        "species": species,
        "age": found.best("age", 1),
        "build": found.best("build", 1),
        "hair": found.best("hair"),
        "face": found.best("face"),
        "clothes": found.best("clothes"),
        "colours": found.best("colours", 3),
    } | _alone(doc, [i for i in units if i in solo], gender, found, pattern)


def _alone(
    doc: Document, units: Sequence[int], gender: str, found: _Found, pattern: re.Pattern[str]
) -> dict[str, str]:
    """Looks from the sentences ``units`` that name this character alone: a possessive must be
    of its gender, and clothes must follow a mention of it closely."""
    wrong = {"f": {"his", "him"}, "m": {"her", "hers"}}.get(gender, {"his", "her", "him"})
    for index in units:
        text = doc.units[index].text
        for phrase in features(text, gender):
            words = set(re.findall(r"[\w-]+", phrase))
            if words & wrong:
                continue
            if words & _HAIR:
                found.add("hair", phrase, 2)
            elif words & _FACE:
                found.add("face", phrase, 2)
        near = [m.end() for m in pattern.finditer(text)]
        for match in _WEARS.finditer(text):
            # "put on the cloak": whoever the sentence is about, so only right after a mention
            owner = match.group(0).lower().split()
            close = any(0 <= match.start() - end <= 80 for end in near)
            if close and not (set(owner) & wrong):
                found.add("clothes", _clean_garment(match.group(1)), 1)
        for match in [*_OWNED.finditer(text), *_GIVEN.finditer(text)]:
            said = "f" if match.group(1).lower() == "her" else "m"
            if gender and said == gender:
                found.add("clothes", _clean_garment(match.group(2)), 1)
    fields = {
        "hair": found.best("hair"),
        "face": found.best("face"),
        "clothes": found.best("clothes"),
    }
    colours = found.best("colours", 3)
    said = " ".join(fields.values()).lower()
    extra = re.findall(rf"\b(?:{'|'.join(sorted(COLOURS))})\b", said)  # in the order said
    fields["colours"] = ", ".join(c for c in dict.fromkeys([*colours.split(", "), *extra]) if c)
    return fields


def fill_looks(characters: list[Character], doc: Document) -> None:
    """Fill the look fields of ``characters`` from the story (see the module docstring)."""
    if not characters:
        return
    terms: dict[str, int] = {}
    for index, character in enumerate(characters):
        for form in (character.name, *character.aliases):
            form = " ".join(form.lower().split())
            terms.setdefault(form, index)
            terms.setdefault(re.sub(r"^(?:the|a|an)\s+", "", form), index)
    ordered = sorted(terms, key=len, reverse=True)
    pattern = re.compile(
        rf"(?<![\w-])(?:{'|'.join(re.escape(t) for t in ordered)})(?![\w-])", re.IGNORECASE
    )
    mentions: list[list[int]] = [[] for _ in characters]
    solo: dict[str, set[int]] = {c.name: set() for c in characters}
    for index, unit in enumerate(doc.units[:SCAN_UNITS]):
        if unit.heading:
            continue
        who = {terms[" ".join(m.group().lower().split())] for m in pattern.finditer(unit.text)}
        for i in who:
            if len(mentions[i]) < 12:
                mentions[i].append(index)
        if len(who) == 1:
            solo[characters[next(iter(who))].name].add(index)
    for character, units in zip(characters, mentions, strict=True):
        for name, value in describe(character, doc, units, solo[character.name]).items():
            setattr(character, name, value)


__all__ = ["AGE_WORDS", "BUILD_WORDS", "COLOURS", "GARMENTS", "SPECIES", "fill_looks"]
