"""Wording for the heuristic provider's scenes: the shown moment, its framing, its title.

The sentence that shows a scene's action is cut to its most visual clause, told without speech,
and given an explicit subject (a leading "he" becomes the character it stands for). The prompt
adds where and the light; the shot size and camera angle read from the scene's content go to the
scene's ``shot`` and ``camera`` (the image prompt gets them from there); the title is the action's
subject and verb phrase in the present tense ("Rapunzel lets down her hair").
"""

# Quotes and dashes in these patterns are deliberate.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from storyframe.builtins.lexicon import (
    ACTION_VERBS,
    CHARACTER_PLURALS,
    CLOSE_CUES,
    DETERMINERS,
    FEMALE_NOUNS,
    FIRST_PERSON,
    INDOOR_PLACES,
    IRREGULAR_PAST,
    LIGHTING,
    MALE_NOUNS,
    OPEN_PLACES,
    SECOND_PERSON,
    SPEAKING,
    STOPWORDS,
    THINGS,
    TRAVEL_VERBS,
    word_set,
)
from storyframe.builtins.textsplit import WORD_RE

_CLAUSES = re.compile(
    r"\s*(?:[;:—–]|--)\s*|,\s+(?=(?:and|but|so|then|when|while|till|until|where)\b)"
)
_LEADING_JOINERS = re.compile(
    r"^(?:(?:and|but|so|then|now|however|thus|yet|for|or|when|while|meanwhile|suddenly|presently"
    r"|afterwards|soon|at\s+(?:last|length|once)|one\s+day|(?:the\s+)?next\s+(?:morning|day)"
    r"|that\s+(?:night|evening|morning))\b[\s,]*)+",
    re.IGNORECASE,
)
_SPEECH_TAG = re.compile(
    r",?\s*(?:and\s+)?\b(?:said|says|cried|asked|answered|replied|exclaimed|shouted|whispered"
    r"|called\s+out|thought)\b(?:\s+[\w'’-]+){0,3}\W*$",
    re.IGNORECASE,
)
_QUOTE_CHARS = re.compile(r"[\"“”«»„「」『』]|(?<!\w)['‘]|['’](?!\w)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
_REPEATED_COMMAS = re.compile(r"(?:,\s*){2,}")
_EDGE_JUNK = re.compile(r"^[\s,;:.\-—–()]+|[\s,;:\-—–(]+$")
_FIRST_PERSON_WORD = re.compile(r"\b(?:I|me|my|mine|myself|we|us|our|ours|ourselves)\b")
_NARRATOR = {
    "I": "the narrator", "me": "the narrator", "my": "the narrator's", "mine": "the narrator's",
    "myself": "the narrator", "we": "the narrator and companions",
    "us": "the narrator and companions", "our": "their", "ours": "theirs",
    "ourselves": "themselves",
}  # fmt: skip
SUBJECT_PRONOUNS = word_set("he she they his her their him them")
_VAGUE_STARTS = word_set("it there this that these those its what which who")
_ASIDE = re.compile(
    r"^((?:\S+ ){0,3}?\S+), (?:who|which|whom|whose|thinking|seeing|with|to|however|therefore"
    r"|too|then|still|in|at)\b[^,]{0,80}, "
)
_SOFT_LIMIT = 120  # characters of action an image prompt needs
_ARTICLES = word_set("the a an this that these those")
_SUBORDINATE = word_set("how if whether because though although unless lest whereas")
_CLAUSE_END = word_set(
    "and but when while who which that as because for so till until where whereupon though if"
)
_TITLE_TAIL = STOPWORDS | DETERMINERS | word_set("very great little")
_MODAL_BASES = word_set("can will shall may must")
_PARTICLES = word_set("out down up off away back over")
_BE = {"was": "is", "were": "are", "had": "has", "did": "does"}
_PRESENT_BE = word_set("is are has have does do")
_PLURAL_BE = {"was": "are", "were": "are", "had": "have", "did": "do"}
MALE_PRONOUNS = word_set("he his him himself")
FEMALE_PRONOUNS = word_set("she her hers herself")


def gender_of(name: str) -> str:
    """The gender ("m", "f", "") of a character noun or name, where the lexicon knows it."""
    last = name.lower().rsplit(" ", 1)[-1]
    return "m" if last in MALE_NOUNS else "f" if last in FEMALE_NOUNS else ""


def clean_speech(text: str) -> str:
    """Narration only: speech tags ("said he") and stray quote marks removed."""
    text = _QUOTE_CHARS.sub("", text)
    stripped = _SPEECH_TAG.sub("", text)
    if len(stripped.split()) >= 3:
        text = stripped
    return " ".join(text.split())


def vague(word: str) -> bool:
    """Whether a sentence opening with ``word`` names nothing to show ("It was", "There")."""
    return word in _VAGUE_STARTS or word in _SUBORDINATE


def speechy(words: Iterable[str], narrator: bool) -> int:
    """How much a sentence's narration still reads as speech."""
    count = len(SPEAKING.intersection(words)) + 2 * len(SECOND_PERSON.intersection(words))
    if not narrator:
        count += 2 * len(FIRST_PERSON.intersection(words))
    return count


def compress(text: str, max_chars: int) -> str:
    """The most visual clause or two of a sentence, tidied up."""
    clauses = [c for c in _CLAUSES.split(text) if c and c.strip()]
    if not clauses:
        return ""

    def score(clause: str) -> float:
        clause = _LEADING_JOINERS.sub("", clause.strip())
        words = WORD_RE.findall(clause.lower())
        verbs = sum(1 for w in words if w in ACTION_VERBS)
        things = sum(1 for w in words if w in THINGS)
        head = words[0] if words else ""
        subject = head in SUBJECT_PRONOUNS or head in DETERMINERS or clause[:1].isupper()
        vague = head in _VAGUE_STARTS or head in _SUBORDINATE
        speech = sum(1 for w in words if w in SPEAKING)
        return (
            verbs * 2 + things + (2 if subject else 0) - (2 if vague else 0) - 2 * speech
        ) - abs(len(words) - 14) / 10

    best = max(range(len(clauses)), key=lambda i: (score(clauses[i]), -i))
    chosen = clauses[best]
    if len(chosen) < 60 and best + 1 < len(clauses):
        chosen = f"{chosen}, {clauses[best + 1]}"
    chosen = _LEADING_JOINERS.sub("", chosen.strip())
    chosen = _SPACE_BEFORE_PUNCT.sub(r"\1", chosen)
    chosen = _REPEATED_COMMAS.sub(", ", chosen)
    chosen = _EDGE_JUNK.sub("", chosen).rstrip(".!?。！？｡")
    cut = chosen.rfind(", ", 50, _SOFT_LIMIT) if len(chosen) > _SOFT_LIMIT else -1
    if cut > 0:  # a long run of clauses: keep the ones up to a comma
        chosen = chosen[:cut]
    if len(chosen) > max_chars:
        chosen = chosen[:max_chars].rsplit(" ", 1)[0].rstrip(",;: ")
    return chosen


def tell_as_narrator(text: str) -> str:
    """A first-person narrator's "I" and "my" as "the narrator" and "the narrator's"."""
    return _FIRST_PERSON_WORD.sub(lambda m: _NARRATOR[m.group()], text)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_start(text: str) -> str:
    return text if text[:2] == "I " else text[:1].lower() + text[1:]


def with_subject(action: str, resolve: Callable[[str, str], str]) -> str:
    """``action`` with a leading pronoun, or a missing subject, made explicit.

    ``resolve(pronoun, action)`` names who a pronoun ("he", "she", "they", "" for a missing
    subject) stands for: the last characters mentioned before it, of its gender where known, and
    not named in the action itself.
    """
    words = action.split(" ")
    head = words[0].lower().strip(",")
    rest = " ".join(words[1:])

    def name(pronoun: str) -> str:
        return resolve(pronoun, action)

    group = name("they") or name("")
    if head in ("he", "she", "him") and name(head):
        return _capital(f"{name(head)} {rest}".strip())
    if head in ("his", "her") and name(head):
        return _capital(f"{name(head)}'s {rest}".strip())
    if head in ("they", "them") and group:
        return _capital(f"{group} {rest}".strip())
    if head == "their" and group:
        return _capital(f"{group}'s {rest}".strip())
    if head in _VAGUE_STARTS and name(""):
        return _capital(f"{name('')} sees how {_lower_start(action)}")
    for k, word in enumerate(words[1:7], 1):
        # "In his despair he leapt down", "Late at night they arrived": the opening phrase stays
        bare = word.lower().strip(",")
        if bare in ("he", "she", "they") and not any(
            w.lower() in _ARTICLES or w[:1].isupper() for w in words[1:k]
        ):
            who = group if bare == "they" else name(bare)
            if who:
                return _capital(" ".join([*words[:k], who, *words[k + 1 :]]))
            break
    if head and action[:1].islower() and head not in STOPWORDS and name(""):
        return _capital(f"{name('')} {action}")  # "came to the tower" has lost its subject
    return _capital(action)


def subject_of(action: str) -> str:
    """The words before the action's first past-tense verb ("The old king" in "The old king
    gathered his court"), or "" if no verb comes within eight words."""
    words = action.split()
    for k in range(1, min(len(words), 9)):
        word = words[k].lower().strip(",;")
        if words[k - 1].endswith((",", ";")) or words[k - 1].lower() in SUBJECT_PRONOUNS:
            break
        if words[k - 1].lower() in DETERMINERS or word in STOPWORDS - _BE.keys() - _PRESENT_BE:
            continue
        if _present(word, False) is not None:
            return " ".join(words[:k])
    return ""


def shot_size(action_words: Sequence[str], characters: int, place: str) -> str:
    """The shot size ("close-up", "medium", "wide": ``Scene.shot``) from what the moment shows."""
    close = sum(1 for w in action_words if w in CLOSE_CUES)
    travel = sum(1 for w in action_words if w in TRAVEL_VERBS)
    open_place = place.lower().rsplit(" ", 1)[-1] in OPEN_PLACES if place else False
    if close and characters <= 2 and not travel:
        return "close-up"
    if characters == 0 or characters >= 3 or (travel and (open_place or not place)):
        return "wide"
    if open_place and not characters:
        return "wide"
    return "medium"


_GAZE = (
    r"\b(?:look(?:ed|s|ing)?|gaz(?:ed|es|ing)|star(?:ed|es|ing)|peep(?:ed|s|ing)?|glanc(?:ed|es))"
)
_LOOK_UP = re.compile(
    rf"{_GAZE}\s+up|\bup\s+(?:at|to)\s+(?:the\s+)?(?:\w+\s+)?(?:giant|tower|window|top|sky|roof|"
    r"mountain|castle|wall|branches)\b",
    re.IGNORECASE,
)
_LOOK_DOWN = re.compile(
    rf"{_GAZE}\s+down|\bfrom\s+(?:above|the\s+(?:top|tower|window|roof|wall|hill|mountain|sky))"
    r"\b|\bfar\s+below\b|\bbeneath\s+(?:him|her|them)\b",
    re.IGNORECASE,
)
_TOWERING = re.compile(r"\b(?:giants?|towers?|towering|high\s+above|loom(?:ed|ing))\b", re.I)


def camera_angle(action: str, conversation: bool) -> str:
    """The camera angle (``Scene.camera``) the moment suggests.

    Looking up (at a giant, a tower) is a low angle, looking down or from a height a high
    angle, a conversation between two over the shoulder, anything else eye level.
    """
    if _LOOK_UP.search(action):
        return "low angle"
    if _LOOK_DOWN.search(action):
        return "high angle"
    if _TOWERING.search(action):
        return "low angle"
    if conversation:
        return "over the shoulder"
    return "eye level"


def light(time: str, place: str, scene_words: Iterable[str]) -> str:
    """The light: the scene's time of day, else firelight, indoor or daylight."""
    if time:
        return LIGHTING[time]
    words = set(scene_words)
    if words & {"candle", "candles", "lamp", "lantern", "torch", "torches", "hearth", "fire"}:
        return "warm firelight"
    if place and place.lower().rsplit(" ", 1)[-1] in INDOOR_PLACES:
        return "soft indoor light"
    return "soft daylight"


def talk(present: Sequence[str], verb: str) -> str:
    """A spoken moment told as an action: "The king speaks to the miller's daughter"."""
    if len(present) >= 2:
        said = {"asked": "asks", "cried": "cries out to", "shouted": "shouts at"}.get(verb)
        return _capital(f"{present[0]} {said or 'speaks to'} {present[1]}")
    if present:
        alone = {"asked": "asks a question", "cried": "cries out", "shouted": "shouts"}.get(verb)
        return _capital(f"{present[0]} {alone or 'speaks'}")
    return ""


def _present(verb: str, plural: bool) -> str | None:
    """The present tense of a past-tense verb, or None if ``verb`` is not one."""
    if verb in _BE:
        return (_PLURAL_BE if plural else _BE)[verb]
    if verb in _PRESENT_BE:
        return verb  # "A trap is laid": the present already
    base = IRREGULAR_PAST.get(verb)
    if base is None:
        if not verb.endswith("ed") or len(verb) < 5:
            return None
        stem = verb[:-2]
        if verb.endswith("ied"):
            base = verb[:-3] + "y"
        elif len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsfz":
            base = stem[:-1]  # "stopped", "begged"
        elif stem.endswith(("v", "c", "z", "g")) and not stem.endswith(("ng", "gg")):
            base = stem + "e"  # "loved", "danced", "changed"
        elif (
            len(stem) > 2
            and stem[-1] not in "aeiouwxy"
            and stem[-2] in "aeiou"
            and stem[-3] not in "aeiou"
            and not stem.endswith(("en", "er", "on", "el", "it", "om", "et", "al", "ar"))
        ):
            base = stem + "e"  # "smiled", "hated"
        else:
            base = stem
    if plural or base in _MODAL_BASES:
        return base
    if base.endswith(("s", "x", "z", "ch", "sh", "o")):
        return base + "es"
    if base.endswith("y") and base[-2:-1] not in ("a", "e", "i", "o", "u"):
        return base[:-1] + "ies"
    return base + "s"


def event_title(action: str, subject: str) -> str:
    """The action's subject and verb phrase, present tense: "Rapunzel lets down her hair"."""
    action = _ASIDE.sub(r"\1 ", action)  # "The ass, who saw the mischief, took himself off"
    subject = subject or subject_of(action)
    if not subject or not action.lower().startswith(subject.lower()):
        return ""
    rest = action[len(subject) :].split()
    if rest and _present(rest[0].lower().strip(","), False) is None:
        subject = subject_of(action)  # "Partlet and Chanticleer arrived": the whole subject
        rest = action[len(subject) :].split() if subject else []
    if not rest:
        return ""
    last = subject.rsplit(" ", 1)[-1]
    plural = (
        " and " in subject
        or last.lower() in CHARACTER_PLURALS
        or (last.islower() and last.endswith("s") and not last.endswith(("ss", "us", "is", "'s")))
    )
    verb = _present(rest[0].lower().strip(","), plural)
    if verb is None and len(rest[0]) > 3 and rest[0].endswith("s") and not rest[0].endswith("ss"):
        verb = rest[0].strip(",")  # told in the present already: "Hans takes the knife"
    if verb is None:
        return ""
    kept = [verb]
    for word in rest[1:] if not rest[0].endswith((",", ";")) else ():
        bare = word.lower().strip(",;")
        if word.endswith((",", ";")):
            kept.append(word.rstrip(",;"))
            break
        if bare in _CLAUSE_END or bare in ("he", "she", "they") or len(kept) >= 6:
            break
        kept.append(word)
    while len(kept) > 1 and kept[-1].lower() in _TITLE_TAIL - _PARTICLES:
        kept.pop()
    if kept[-1] in _BE.values() or kept[-1] in _PLURAL_BE.values():
        return ""  # "The way is": no event
    title = _capital(f"{subject} {' '.join(kept)}")
    return title if len(title) <= 70 else title[:70].rsplit(" ", 1)[0]


__all__ = [
    "SUBJECT_PRONOUNS",
    "camera_angle",
    "clean_speech",
    "compress",
    "event_title",
    "gender_of",
    "light",
    "shot_size",
    "speechy",
    "subject_of",
    "talk",
    "tell_as_narrator",
    "vague",
    "with_subject",
]
