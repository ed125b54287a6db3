"""Measure what a storyboard artist sees in the heuristic provider's scenes.

Runs the provider (public API only) on every shared story and prints: how many image prompts
start with a pronoun (as a whole or after a colon) or carry speech (quote marks, a speech verb,
first or second person), their length, whether each says who, where, what happens, the light
and a shot size (the shot in the prompt sent, where the scene's shot goes in front; framing
words count neither as prompt words nor as an action); where the first and last scenes' moments
fall (each prompt is matched to the sentence of its own scene it shares most words with);
whether the sentence whose narration has the strongest turning-point cues is shown; how many
titles name an event; how many characters have a look, and a look field (age, hair, ...); and
the precision and recall of the characters against the hand-labelled casts in
``tests/heuristic/cast_labels.json``.
Run it with::

    python bench/heuristic_quality.py [--tales 6] [--novels 12] [--show 0]
"""

# Quotes in these patterns are deliberate.
# ruff: noqa: RUF001

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
from pathlib import Path

from storyframe.builtins.heuristic import HeuristicTextProvider
from storyframe.builtins.lexicon import ACTION_VERBS, COMMON_VERBS, STOPWORDS, word_set
from storyframe.builtins.textsplit import WORD_RE, prepare, strip_speech
from storyframe.models import Scene, StoryAnalysis
from storyframe.prompts import LOOK_FIELDS as FIELDS
from storyframe.prompts import scene_part
from storyframe.styles import BUILTIN_STYLES

ROOT = Path(__file__).resolve().parents[1]
STORIES = ROOT.parent / "shared" / "stories"
LABELS = ROOT / "tests" / "heuristic" / "cast_labels.json"

PRONOUNS = word_set("he she it they him her his them their its we i you us our my")
QUOTED = re.compile(r"[\"“”«»„]|(?<![\w])['‘]|['’](?![\w])")
# Speech with its marks taken off still reads as speech: a speech verb, or first and second person.
SPOKEN = re.compile(
    r"\b(?:said|says|cried|asked|answered|replied|exclaimed|shouted|whispered|i|i'm|i'll|me|my|"
    r"you|your|we|us|thou|thee|thy|ye)\b",
    re.IGNORECASE,
)
STARTS = re.compile(r"(?:^|: |\. )\W*([\w'’]+)")
SHOT = re.compile(r"\b(?:wide|medium|long|full|establishing|close-up|close) shot\b|\bclose-up\b")
LIGHT = re.compile(
    r"\b(?:light|lit|sun|sunlit|sunlight|moon|moonlight|moonlit|night|dawn|dusk|morning|evening|"
    r"noon|midday|afternoon|twilight|daylight|candle|candlelight|firelight|lamplight|lantern|"
    r"torchlight|dark|darkness|starlight|overcast|shadow|shadows|gloom)\b",
    re.IGNORECASE,
)
SMALL = word_set("and at in on by the of a an to with")
TURNING = re.compile(
    r"\b(?:suddenly|all at once|at once|at last|at that moment|in an instant|but when|just as|"
    r"no sooner|fell down dead|was dead|were dead|died|killed|slew|cut off|burst|broke|awoke|"
    r"woke up|transformed|turned into|changed into|vanished|disappeared|rescued|saved|set free|"
    r"released|married|wedding|recogni[sz]ed|discovered|revealed|seized|caught|escaped|fled)\b",
    re.IGNORECASE,
)


def turning_score(text: str) -> int:
    """How many turning-point cues a sentence has."""
    return len(TURNING.findall(text))


def content_words(text: str) -> set[str]:
    """The words of ``text`` that are not stopwords."""
    return {w for w in WORD_RE.findall(text.lower()) if w not in STOPWORDS and len(w) > 2}


# Plain forms of common verbs whose past tense is irregular (present-tense titles use these).
BASES = word_set(
    """be begin bite blow break bring build burn buy catch choose come creep cut dig do draw drink
    drive eat fall feed feel fight find flee fly forget freeze get give go grow hang have hear
    hide hit hold keep kneel know lay lead leap leave let lie light lose make meet pay put ride
    ring rise run say see seek sell send set shake shine shoot shut sing sink sit sleep slay
    speak spin spring stand steal strike swim take teach tear tell think throw wake wear weave
    weep win write become"""
)


def is_verb(word: str) -> bool:
    """A past or present (third person) form of a verb, as far as a word list can tell."""
    past = ACTION_VERBS | COMMON_VERBS
    if word in past or word in {"is", "are", "was", "were", "has", "have"}:
        return True
    if len(word) > 4 and word.endswith("ed"):
        return True
    if word in BASES or word + "d" in past or word + "ed" in past:
        return True  # a plural subject's verb: "Hansel and Gretel wake"
    if not word.endswith("s") or word.endswith("ss"):
        return False
    stems = {word[:-1], word[:-2], word[:-3] + "y"}
    return any(s in BASES or s in past or s + "ed" in past or s + "d" in past for s in stems)


def is_event_title(title: str, names: set[str]) -> bool:
    """A title that names an event: it has a verb and is not "The X and the Y in the Z".

    A verb is a word :func:`is_verb` knows, or a lower-case word in -s right after one of the
    story's character names ("The sparrow perches upon the shelf").
    """
    if all(w[:1].isupper() or w in SMALL for w in title.split()):
        return False  # "The Fox and the King at the Castle": names and places in title case
    words = WORD_RE.findall(title.lower())
    heads = {n.rsplit(" ", 1)[-1] for n in names}
    return any(
        is_verb(w) or (w.endswith("s") and words[k - 1] in heads and w not in heads)
        for k, w in enumerate(words[1:], 1)
    )


def forms(names: list[str]) -> set[str]:
    """Lower-case name forms without a leading article."""
    return {re.sub(r"^(?:the|a|an) ", "", n.lower().strip()) for n in names}


def cast_score(analysis: StoryAnalysis, label: dict[str, list[list[str]]]) -> tuple[int, int, int]:
    """(true positives, predicted, labelled cast found) for one tale."""
    cast = [forms(c) for c in label["cast"]]
    known = cast + [forms(c) for c in label.get("also", [])]
    correct = 0
    found: set[int] = set()
    for character in analysis.characters:
        mine = forms([character.name, *character.aliases])
        if any(mine & entry for entry in known):
            correct += 1
        found.update(i for i, entry in enumerate(cast) if mine & entry)
    return correct, len(analysis.characters), len(found)


class Tally:
    """Counts over all the prompts and scenes."""

    def __init__(self) -> None:
        self.prompts = 0
        self.pronoun = 0
        self.quoted = 0
        self.words: list[int] = []
        self.who = self.where = self.action = self.light = self.shot = self.complete = 0
        self.stories = self.first_ok = self.last_ok = self.turning_ok = 0
        self.titles = self.event_titles = 0
        self.characters = self.looks = self.look_fields = 0


def scene_starts(scenes: list[Scene], units: list[str]) -> list[int]:
    """The index of the sentence each scene's description starts with (scenes are in order)."""
    starts: list[int] = []
    at = 0
    for scene in scenes:
        head = scene.description[:40]
        found = next((i for i in range(at, len(units)) if units[i].startswith(head)), at)
        starts.append(found)
        at = found
    return starts


def shown_sentence(
    prompt: str, sentences: list[tuple[int, set[str]]], start: int = 0, end: int | None = None
) -> int:
    """The index of the sentence in ``start:end`` the prompt shows best (most shared words)."""
    mine = content_words(prompt)
    best, best_score = start, -1.0
    for index in range(start, len(sentences) if end is None else end):
        words = sentences[index][1]
        if not words:
            continue
        score = len(mine & words) / (1 + 0.02 * len(words))
        if score > best_score:
            best, best_score = index, score
    return best


def measure(
    tally: Tally, story: str, scenes: list[Scene], analysis: StoryAnalysis, show: int
) -> None:
    """Add one story's scenes to the tally."""
    body = [u for u in prepare(story).units if not u.heading]
    units = [u.text for u in body]
    offsets, total = [], 0
    for text in units:
        offsets.append(total)
        total += len(text) + 1
    sentences = [(offsets[i], content_words(t)) for i, t in enumerate(units)]
    names = {f for c in analysis.characters for f in forms([c.name, *c.aliases])}
    verbs = ACTION_VERBS | COMMON_VERBS
    shown = []
    starts = scene_starts(scenes, units)
    bounds = list(zip(starts, [*starts[1:], len(units)], strict=True))
    for scene in scenes[:show]:
        print(f"    {scene.number}. {scene.title} | {scene.image_prompt}")
    for number, scene in enumerate(scenes):
        prompt = scene.image_prompt
        # A framing phrase ("wide shot") counts neither as words nor as an action ("shot").
        lower = " ".join(SHOT.sub("", prompt.lower()).split())
        words = WORD_RE.findall(lower)
        tally.prompts += 1
        tally.words.append(len(words))
        # The prompt and each part after a colon or full stop ("The fox: He went on ...").
        tally.pronoun += any(m.group(1).lower() in PRONOUNS for m in STARTS.finditer(prompt))
        tally.quoted += bool(QUOTED.search(prompt) or SPOKEN.search(prompt))
        who = any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", lower) for n in names if n)
        where = bool(scene.place) and scene.place.lower().removeprefix("the ") in lower
        action = any(
            w in verbs or (len(w) > 4 and w.endswith(("ed", "ing"))) or w[:-1] in verbs
            for w in words
        )
        light = bool(LIGHT.search(prompt))
        shot = bool(SHOT.search(scene_part(scene).lower()))  # the framing goes in front
        tally.who += who
        tally.where += where
        tally.action += action
        tally.light += light
        tally.shot += shot
        tally.complete += who and where and action and light and shot
        tally.titles += 1
        tally.event_titles += is_event_title(scene.title, names)
        start, end = bounds[number]
        shown.append(shown_sentence(prompt, sentences, start, max(end, start + 1)))
    tally.stories += 1
    if shown and total:
        tally.first_ok += sentences[shown[0]][0] <= 0.15 * total
        tally.last_ok += sentences[shown[-1]][0] >= 0.85 * total - len(units[shown[-1]])
        scores = [
            turning_score(strip_speech(t, u.in_quote)) for t, u in zip(units, body, strict=True)
        ]
        strongest = max(scores)
        tally.turning_ok += strongest == 0 or any(scores[i] == strongest for i in shown)
    tally.characters += len(analysis.characters)
    tally.looks += sum(1 for c in analysis.characters if c.look)
    tally.look_fields += sum(1 for c in analysis.characters if any(map(c.__getattribute__, FIELDS)))


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "  n/a"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tales", type=int, default=6, help="scenes per tale")
    parser.add_argument("--novels", type=int, default=12, help="scenes per novel")
    parser.add_argument("--show", type=int, default=0, help="print this many prompts per story")
    args = parser.parse_args()
    style = BUILTIN_STYLES[0]
    labelled = json.loads(LABELS.read_text(encoding="utf-8"))
    labels = {k: v for k, v in labelled.items() if not k.startswith("_")}
    tally = Tally()
    correct = predicted = found = wanted = 0
    paths = sorted(STORIES.glob("*.txt"))
    for path in paths:
        story = path.read_text(encoding="utf-8")
        provider = HeuristicTextProvider()
        analysis = await provider.analyze(story)
        n = args.novels if path.name.startswith("novel") else args.tales
        scenes = await provider.generate_scenes(story, n, style, analysis)
        if args.show:
            print(f"  {path.name}")
        measure(tally, story, scenes, analysis, args.show)
        if path.name in labels:
            c, p, f = cast_score(analysis, labels[path.name])
            correct, predicted, found = correct + c, predicted + p, found + f
            wanted += len(labels[path.name]["cast"])
    t = tally
    print(f"stories: {t.stories} ({args.tales} scenes per tale, {args.novels} per novel)")
    print(f"prompts beginning with a pronoun     {pct(t.pronoun, t.prompts)}   (target < 3%)")
    print(f"prompts with quoted speech           {pct(t.quoted, t.prompts)}   (target 0%)")
    print(f"median prompt words                  {statistics.median(t.words):6.1f}")
    print(f"prompts naming who                   {pct(t.who, t.prompts)}")
    print(f"prompts naming where (scene place)   {pct(t.where, t.prompts)}")
    print(f"prompts with an action verb          {pct(t.action, t.prompts)}")
    print(f"prompts with light or time of day    {pct(t.light, t.prompts)}")
    print(f"prompts with a shot size             {pct(t.shot, t.prompts)}")
    print(f"prompts with all five                {pct(t.complete, t.prompts)}")
    print(f"first scene from the first 15%       {pct(t.first_ok, t.stories)}")
    print(f"last scene from the final 15%        {pct(t.last_ok, t.stories)}")
    print(f"strongest turning point shown        {pct(t.turning_ok, t.stories)}")
    print(f"titles naming an event               {pct(t.event_titles, t.titles)}")
    print(f"characters with a look               {pct(t.looks, t.characters)}")
    print(f"characters with a look field         {pct(t.look_fields, t.characters)}")
    precision = correct / predicted if predicted else 0.0
    recall = found / wanted if wanted else 0.0
    print(
        f"characters vs {len(labels)} labelled casts     precision {precision:.2f} "
        f"(target >= 0.9), recall {recall:.2f} (target >= 0.8)"
    )


if __name__ == "__main__":
    asyncio.run(main())
