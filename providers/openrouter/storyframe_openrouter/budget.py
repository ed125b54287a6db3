"""Token estimates and the story's chunks.

The estimator needs no tokenizer: one token per four ASCII characters, plus one token per
non-ASCII character (accented letters, CJK, emoji cost more tokens per character than English).
For English prose it lands within a few percent of OpenAI's and Anthropic's tokenizers; the
planner keeps every call to ``context_share`` of the window, which absorbs the error.

Chunks end at the strongest boundary available: a chapter heading, a section break
(``* * *``, ``---``), a blank line between paragraphs, a line break (texts that put one
paragraph on each line), then a sentence end.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

SCENE_TOKENS = 260
"""What one written scene costs in answer tokens (JSON keys, title, description, prompt)."""
BEAT_TOKENS = 90
"""What one beat costs in answer tokens."""
ANALYSIS_TOKENS = 900
"""What the analysis part of an answer costs (a cast of about ten with looks)."""
CALL_OVERHEAD = 1200
"""Instructions and schema sent with every call, in tokens."""


def estimate_tokens(text: str) -> int:
    """About how many tokens ``text`` is (see the module docstring)."""
    ascii_count = len(text.encode("ascii", "ignore"))
    return math.ceil(ascii_count / 4) + (len(text) - ascii_count)


@dataclass(frozen=True)
class Chunk:
    """A piece of the story: ``text == story[start:end]``."""

    index: int
    start: int
    end: int
    text: str


_CHAPTER = re.compile(
    r"\n(?=[ \t]*(?:CHAPTER|Chapter|BOOK|Book|PART|Part)\b[^\n]{0,80}\n)"
    r"|\n(?=[ \t]*[IVXLC]+\.?[ \t]*\n)"
)
_SECTION = re.compile(r"\n[ \t]*(?:\*[ \t]*){3,}\n|\n[ \t]*-{3,}[ \t]*\n")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_LINE = re.compile(r"\n")
_SENTENCE = re.compile(r"(?<=[.!?\u201d\"'])\s+(?=[A-Z\u201c\"'])")


def _cuts(text: str, pattern: re.Pattern[str]) -> list[int]:
    return [m.end() for m in pattern.finditer(text) if 0 < m.end() < len(text)]


def split_story(story: str, max_tokens: int) -> list[Chunk]:
    """``story`` in consecutive chunks of at most about ``max_tokens`` tokens each."""
    pieces = _split(story, 0, len(story), max_tokens, 0)
    return [Chunk(i, a, b, story[a:b]) for i, (a, b) in enumerate(pieces)]


_LEVELS = (_CHAPTER, _SECTION, _PARAGRAPH, _LINE, _SENTENCE)


def _split(story: str, start: int, end: int, budget: int, level: int) -> list[tuple[int, int]]:
    if estimate_tokens(story[start:end]) <= budget:
        return [(start, end)]
    if level >= len(_LEVELS):
        width = max(1, budget * 4)  # no boundary left: cut by length
        return [(a, min(a + width, end)) for a in range(start, end, width)]
    cuts = [start + c for c in _cuts(story[start:end], _LEVELS[level])]
    bounds = [start, *cuts, end]
    pieces: list[tuple[int, int]] = []
    for a, b in itertools.pairwise(bounds):
        for piece in _split(story, a, b, budget, level + 1):
            if pieces and estimate_tokens(story[pieces[-1][0] : piece[1]]) <= budget:
                pieces[-1] = (pieces[-1][0], piece[1])  # pack small units together
            else:
                pieces.append(piece)
    return pieces


def beats_for(chunk: Chunk, tokens_per_beat: int) -> int:
    """How many beats to ask of ``chunk``: one per ``tokens_per_beat``, at least three."""
    return max(3, round(estimate_tokens(chunk.text) / tokens_per_beat))
