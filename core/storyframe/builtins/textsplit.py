"""Text processing for the heuristic provider: cleaning, paragraphs, sentences and scene cuts.

Pure stdlib and linear in the length of the text: every regular expression is compiled once
here, and every pass walks the text (or its sentences) a bounded number of times.
"""

# Quotes, dashes and CJK punctuation in these patterns are deliberate.
# ruff: noqa: RUF001, RUF002

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

# Cleaning -----------------------------------------------------------------------------------

_INVISIBLE = re.compile("[\ufeff\u00ad\u200b\u200c\u200d\u2060]")
_LINE_BREAKS = re.compile("\r\n?|[\u2028\u2029\x0b\x0c\x85]")
_PG_START = re.compile(
    r"^[ \t]*\*{3}[ \t]*START OF (?:THE|THIS) PROJECT GUTENBERG[^*\n]*(?:\n[^*\n]*)?\*{3}.*$"
    r"|^[ \t]*\*{3}[ \t]*START OF (?:THE|THIS) PROJECT GUTENBERG.*$"
    r"|^[ \t]*\*END\*THE SMALL PRINT.*$",
    re.IGNORECASE | re.MULTILINE,
)
_PG_END = re.compile(
    r"^[ \t]*(?:\*{3}[ \t]*END OF (?:THE|THIS) PROJECT GUTENBERG"
    r"|End of (?:the |this )?Project Gutenberg)",
    re.IGNORECASE | re.MULTILINE,
)
_PG_TITLE = re.compile(r"^Title:[ \t]*(\S.*?)[ \t]*$", re.MULTILINE)
_PG_CREDIT = re.compile(
    r"^[ \t]*(?:Produced by|Transcribed (?:from|by)|E-?text prepared by|This e-?(?:book|text) "
    r"was (?:produced|prepared)|Updated editions will)\b.*$"
    r"(?:\n.*(?:Proofread|pgdp|https?://|Team\b|Gutenberg).*$)*",
    re.IGNORECASE | re.MULTILINE,
)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_TITLE = re.compile(r"^title:[ \t]*[\"']?(.*?)[\"']?[ \t]*$", re.MULTILINE | re.IGNORECASE)

# Inline Markdown and HTML, applied to the whole text before it is split into lines.
_MD_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]+)\](?:\([^)\n]*\)|\[[^\]\n]*\])")
_MD_LINK_DEF = re.compile(r"^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*\S+.*$", re.MULTILINE)
_MD_AUTOLINK = re.compile(r"<(?:https?|mailto):[^>\s]+>")
_MD_CODE = re.compile(r"`+([^`\n]*)`+")
_MD_STARS = re.compile(r"(?<![\w*])(\*{1,3})(?=[^\s*])([^\n]*?[^\s*])\1(?![\w*])")
_MD_UNDERSCORES = re.compile(r"(?<![\w_])(_{1,3})(?=[^\s_])([^\n]*?[^\s_])\1(?![\w_])")
_MD_STRIKE = re.compile(r"~~(?=\S)([^\n]*?\S)~~")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>\n]{0,200}>")
_INLINE_MARKUP = (
    ("]:", _MD_LINK_DEF, ""),
    ("![", _MD_IMAGE, r"\1"),
    ("](", _MD_LINK, r"\1"),
    ("][", _MD_LINK, r"\1"),
    ("<", _MD_AUTOLINK, ""),
    ("`", _MD_CODE, r"\1"),
    ("*", _MD_STARS, r"\2"),
    ("_", _MD_UNDERSCORES, r"\2"),
    ("~~", _MD_STRIKE, r"\1"),
    ("<", _HTML_TAG, ""),
)

# Line classification.
_MD_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^[ \t]{0,3}(?:=+|-+)[ \t]*$")
_RULE = re.compile(r"^[ \t]*(?:(?:[*\-_=~•·#][ \t]*){3,}|[#*][ \t]*)$")
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)")
_BLOCKQUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+(?=\S)")
_MARKUP_STARTS = frozenset(">-*+•0123456789")
_CHAPTER = re.compile(
    r"^(?:chapter|book|part|act|canto|prologue|epilogue|preface|introduction|contents)\b"
    r"[ \t]*[\w.:\- ]{0,40}$",
    re.IGNORECASE,
)
_CLOSERS = "\"'”’»)]」』）"
_SENTENCE_MARKS = ".!?…。！？｡"
_PUNCT_MARKS = _SENTENCE_MARKS + ":;,"

# Sentences.
_SENT_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|[。！？｡]+[」』”’）)\]\"']*")
_ABBREV = re.compile(
    r"(?<![\w.])(?:Mr|Mrs|Ms|Dr|St|Mt|Jr|Sr|Prof|Capt|Col|Gen|Lt|Sgt|Rev|Hon|Gov|vs|etc|viz|cf"
    r"|No|Vol|Ch|pp|fig|[A-HJ-Z])\.$"
)
_ANY_SENTENCE_END = re.compile(r"[.!?…。！？｡]")
_OPEN_QUOTE = re.compile(r"(?:^|(?<=[\s(\[—–-]))[\"'“‘«„](?=[^\s\"'])|[「『]")
_ANY_QUOTE = re.compile("[\"'“”‘’«»„「」『』]")
_CLOSE_QUOTE = re.compile(r"(?<=[^\s\"'])[\"'”’»](?=$|[\s.,;:!?)\]—–-])|[」』]")

# Words: CJK ideographs and kana count one word each, since those scripts use no spaces.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD_RE = re.compile(rf"[{_CJK}]|[^\W\d_{_CJK}]+(?:['’-][^\W\d_{_CJK}]+)*")
"""One word: a run of letters with inner apostrophes or hyphens, or one CJK character."""

# What makes a sentence a good place to start a scene, strongest first.
_CUES = re.compile(
    r"^\W{0,3}(?:"
    r"(?P<strong>(?:the\s+)?(?:next|following)\s+(?:morning|day|night|evening|week|month|year"
    r"|spring|summer|autumn|winter)|one\s+(?:day|morning|evening|night|fine\s+day)"
    r"|once\s+upon\s+a\s+time|meanwhile|in\s+the\s+meantime|time\s+passed"
    r"|(?:some|a\s+long|a\s+short|a\s+little)\s+(?:time|while)\s+(?:after|later|afterwards)"
    r"|(?:many\s+|some\s+|a\s+few\s+|two\s+|three\s+)?(?:years|months|weeks|days)\s+"
    r"(?:later|after|passed|went\s+by)|long\s+after|soon\s+after(?:wards)?|early\s+next"
    r"|after\s+(?:a\s+(?:time|while)|some\s+time|that)|the\s+day\s+after)"
    r"|(?P<move>(?:when|as|after)\s+(?:\w+\s+){1,3}?(?:came|arrived|reached|got|returned"
    r"|entered|drew\s+near)\b)"
    r"|(?P<medium>at\s+(?:last|length)|in\s+the\s+(?:morning|evening|night|afternoon)"
    r"|that\s+(?:night|evening|morning|day)|at\s+(?:midnight|dawn|daybreak|nightfall|sunset"
    r"|sunrise|noon)|when\s+(?:day|morning|night|evening)\s+(?:dawned|came|broke|fell)"
    r"|early\s+in\s+the\s+morning|on\s+the\s+(?:next|following|third|second))"
    r"|(?P<weak>then|now|so|afterwards|after\s+this|but\s+when|finally|suddenly|presently)"
    r")\b",
    re.IGNORECASE,
)
_CUE_STRENGTH = {"strong": 1.5, "move": 1.2, "medium": 1.0, "weak": 0.4}
HEADING_CUE = 3.0
PARAGRAPH_CUE = 1.0
_IN_QUOTE_PENALTY = 1.0
_CONTINUATION_PENALTY = 0.5

MAX_UNIT_CHARS = 1000
"""Longer sentences are cut at clause or word boundaries, so a scene cut is always possible."""
MAX_UNPUNCTUATED_CHARS = 300
"""Chunk size for text without any sentence punctuation."""


@dataclass(frozen=True, slots=True)
class Unit:
    """A sentence, a heading, or a chunk of unpunctuated text: what scenes are made of.

    ``cue`` says how strongly a scene should start here (paragraph and heading breaks, time and
    place shifts, dialogue turns; negative inside a quotation).
    """

    text: str
    heading: bool = False
    para_start: bool = False
    cue: float = 0.0
    in_quote: bool = False


@dataclass(frozen=True, slots=True)
class Document:
    """A cleaned story: its title (if it has one), its units in order, its paragraph count."""

    title: str
    units: tuple[Unit, ...]
    paragraph_count: int
    words: tuple[tuple[str, ...], ...] = ()
    """The lowercase words of each unit (see :data:`WORD_RE`), computed once for all stages."""


@dataclass(slots=True)
class _Para:
    text: str
    heading: bool
    gap: float  # the strength of the structural break before the paragraph


def clean(raw: str) -> tuple[str, str]:
    """Normalise line endings, strip BOM, Gutenberg boilerplate and Markdown.

    Returns the cleaned text and a title found in metadata (Gutenberg ``Title:``, front matter).
    """
    text = _LINE_BREAKS.sub("\n", _INVISIBLE.sub("", raw))
    text, title = _strip_gutenberg(text)
    front = _FRONT_MATTER.match(text)
    if front:
        found = _FRONT_TITLE.search(front.group(1))
        title = title or (found.group(1).strip() if found else "")
        text = text[front.end() :]
    for marker, pattern, replacement in _INLINE_MARKUP:
        if marker in text:  # most texts have no markup: skip the whole-text passes
            text = pattern.sub(replacement, text)
    return text, title


def _strip_gutenberg(text: str) -> tuple[str, str]:
    start = _PG_START.search(text)
    title = ""
    if start:
        found = _PG_TITLE.search(text, 0, start.start())
        title = found.group(1) if found else ""
        text = text[start.end() :]
        head = _PG_CREDIT.sub("", text[:3000])
        text = head + text[3000:]
    end = _PG_END.search(text)
    if end:
        text = text[: end.start()]
    return text, title


def _ends_with(line: str, marks: str) -> bool:
    """Whether ``line`` ends with one of ``marks``, ignoring closing quotes and brackets."""
    stripped = line.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in marks


def _is_heading_line(line: str) -> bool:
    if len(line) > 80:
        return False
    if _CHAPTER.match(line):
        return True
    if line != line.upper() or line == line.lower() or _ends_with(line, _PUNCT_MARKS):
        return False
    return len(line.split()) <= 12 and sum(c.isalpha() for c in line) >= 2


def _is_title_line(line: str) -> bool:
    """A first line in Title Case without sentence punctuation ("The Fox and the Cat")."""
    if len(line) > 80 or _ends_with(line, _PUNCT_MARKS) or not line[:1].isupper():
        return False
    long_words = [w for w in line.split() if len(w) >= 4]
    return bool(long_words) and 2 * sum(w[:1].isupper() for w in long_words) >= len(long_words)


def _classify(text: str) -> list[tuple[str, str]]:
    """Each line as ("blank" | "rule" | "heading" | "text", content)."""
    records: list[tuple[str, str]] = []
    for raw_line in text.split("\n"):
        line = raw_line.strip()
        if not line or _FENCE.match(line):
            records.append(("blank", ""))
            continue
        if _SETEXT.match(line) and records and records[-1][0] == "text":
            records[-1] = ("heading", records[-1][1])
            continue
        if _RULE.match(line):
            records.append(("rule", ""))
            continue
        heading = _MD_HEADING.match(line)
        if heading:
            records.append(("heading", heading.group(1).strip()))
            continue
        if line[0] in _MARKUP_STARTS:
            line = _LIST_ITEM.sub("", _BLOCKQUOTE.sub("", line)).strip()
        if not line:
            records.append(("blank", ""))
        elif _is_heading_line(line):
            records.append(("heading", line))
        else:
            records.append(("text", line))
    return records


def _paragraphs(text: str, punctuated: bool) -> list[_Para]:
    records = _classify(text)
    lengths = sorted(len(content) for kind, content in records if kind == "text")
    kinds = "".join(kind[0] for kind, _ in records).strip("b")
    blanks = kinds.count("tb") + kinds.count("hb")  # blank runs after text, not at the ends
    width = lengths[int(len(lengths) * 0.9)] if lengths else 0
    open_lines = sum(
        1 for kind, content in records if kind == "text" and not _ends_with(content, _PUNCT_MARKS)
    )
    # Hard-wrapped text (lines of ~70 characters) joins lines; otherwise a line is a paragraph.
    wrapped = punctuated and len(lengths) >= 6 and width <= 110 and open_lines >= 0.3 * len(lengths)
    blank_separated = blanks >= max(1, len(lengths) // 40)

    paras: list[_Para] = []
    buf: list[str] = []
    buf_gap = 0.0
    pending = 0.0
    blank_run = 0

    def flush() -> None:
        nonlocal buf_gap
        if buf:
            paras.append(_Para(" ".join(" ".join(buf).split()), False, buf_gap))
            buf.clear()
            buf_gap = 0.0

    for kind, content in records:
        if kind == "blank":
            flush()
            blank_run += 1
            continue
        if blank_run:
            if not blank_separated or blank_run >= 2:
                pending = max(pending, 1.5)
            blank_run = 0
        if kind == "rule":
            flush()
            pending = max(pending, 2.0)
        elif kind == "heading":
            flush()
            paras.append(_Para(" ".join(content.split()), True, pending))
            pending = 0.0
        else:
            if not buf:
                buf_gap, pending = pending, 0.0
            buf.append(content)
            if not wrapped or (
                not blank_separated
                and len(content) < 0.75 * width
                and _ends_with(content, _SENTENCE_MARKS)
            ):
                flush()
    flush()
    if len(paras) >= 2 and not paras[0].heading and _is_title_line(paras[0].text):
        paras[0].heading = True
    return paras


def split_sentences(text: str) -> list[str]:
    """Split one whitespace-normalised paragraph into sentences.

    A sentence ends at ``.!?…`` (plus closing quotes) followed by a space and a character that is
    not lowercase and not after a known abbreviation, or at ``。！？`` anywhere.
    """
    out: list[str] = []
    start = 0
    size = len(text)
    for match in _SENT_END.finditer(text):
        end = match.end()
        if match.group()[0] in ".!?…":
            if end + 1 >= size:
                continue
            following = text[end + 1]
            if following.islower() or following in ",;:":
                continue
            if match.group() == "." and _ABBREV.search(
                text, max(start, match.start() - 8), match.start() + 1
            ):
                continue
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = end
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def chunk(text: str, limit: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` characters at clause or word boundaries."""
    pieces: list[str] = []
    start = 0
    while len(text) - start > limit:
        lo, hi = start + limit // 2, start + limit
        cut = -1
        for breakers in (("; ", ": ", "；", "："), (", ", "，", "、", " — ", " -- "), (" ",)):
            for breaker in breakers:
                found = text.rfind(breaker, lo, hi)
                if found >= 0:
                    cut = max(cut, found + len(breaker))
            if cut > start:
                break
        if cut <= start:
            cut = hi
        pieces.append(text[start:cut].strip())
        start = cut
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


def _quote_depth(text: str, depth: int) -> int:
    if not _ANY_QUOTE.search(text):
        return depth
    opened = len(_OPEN_QUOTE.findall(text))
    closed = len(_CLOSE_QUOTE.findall(text))
    return max(0, depth + opened - closed)


def _cue(text: str) -> float:
    match = _CUES.match(text)
    return _CUE_STRENGTH[match.lastgroup] if match and match.lastgroup else 0.0


def _starts_with_quote(text: str) -> bool:
    return bool(_OPEN_QUOTE.match(text))


_SPEECH = re.compile(
    r"“[^”]*”|\"[^\"]*\"|«[^»]*»|「[^」]*」|『[^』]*』"
    r"|(?<!\w)‘(?:[^’]|’(?=\w))*’(?!\w)|(?<!\w)'(?:[^']|'(?=\w))*'(?!\w)"
)


def strip_speech(text: str, in_quote: bool = False) -> str:
    """The narration of a sentence: ``text`` without its quoted speech.

    ``in_quote`` says the sentence begins inside a quotation opened by an earlier one.
    """
    if in_quote:
        close = _CLOSE_QUOTE.search(text)
        text = text[close.end() :] if close else ""
    text = _SPEECH.sub(" ", text)
    unclosed = _OPEN_QUOTE.search(text)
    if unclosed:
        text = text[: unclosed.start()]
    return " ".join(text.split())


def prepare(raw: str) -> Document:
    """Clean ``raw`` and cut it into units. The result may be empty (no text at all)."""
    text, meta_title = clean(raw)
    punctuated = bool(_ANY_SENTENCE_END.search(text))
    paras = _paragraphs(text, punctuated)
    if paras and all(p.heading for p in paras):
        for para in paras:
            para.heading = False
    limit = MAX_UNIT_CHARS if punctuated else MAX_UNPUNCTUATED_CHARS
    units: list[Unit] = []
    title = meta_title
    after_speech = False  # the previous paragraph ended inside or with a quotation
    for index, para in enumerate(paras):
        if para.heading:
            if not title and not units:
                title = para.text
            units.append(Unit(para.text, heading=True, para_start=True, cue=HEADING_CUE))
            after_speech = False
            continue
        sentences = split_sentences(para.text) if punctuated else [para.text]
        depth = 0
        first = True
        for sentence in sentences:
            for piece in chunk(sentence, limit):
                cue = _cue(piece)
                if first:
                    cue += PARAGRAPH_CUE + para.gap
                    quoted = _starts_with_quote(piece)
                    if after_speech and not quoted:
                        cue += 0.3  # narration resumes after an exchange
                    elif quoted and not after_speech and index:
                        cue += 0.2
                if depth:
                    cue -= _IN_QUOTE_PENALTY
                if piece[:1].islower():
                    cue -= _CONTINUATION_PENALTY
                units.append(Unit(piece, para_start=first, cue=cue, in_quote=depth > 0))
                depth = _quote_depth(piece, depth)
                first = False
        last = units[-1].text if units else ""
        after_speech = depth > 0 or bool(_CLOSE_QUOTE.search(last[-2:]))
    body_paragraphs = sum(1 for p in paras if not p.heading)
    words = tuple(tuple(WORD_RE.findall(u.text.lower())) for u in units)
    return Document(title.strip(), tuple(units), body_paragraphs, words)


def cut_points(
    units: Sequence[Unit], n: int, *, window: float = 0.3, distance_weight: float = 1.5
) -> list[int]:
    """The start indexes of at most ``n`` consecutive segments of ``units`` (the first is 0).

    Cut ``k`` is chosen near the ideal equal-length position ``k * total / n``: among the units
    starting within ``window`` of a segment length from it, the one with the best
    ``cue - distance_weight * distance / half_window`` wins (ties go to the earliest). A scene
    never starts right after a heading, nor with only headings left. Linear in ``len(units)``.
    """
    count = len(units)
    if count == 0:
        return []
    cum = [0] * (count + 1)
    total = 0
    for i, unit in enumerate(units):
        total += len(unit.text) + 1
        cum[i + 1] = total
    allowed: list[int] = []
    body_after = False
    for i in range(count - 1, 0, -1):
        body_after = body_after or not units[i].heading
        if body_after and not units[i - 1].heading:
            allowed.append(i)
    allowed.reverse()
    if n <= 1:
        return [0]
    if len(allowed) <= n - 1:
        return [0, *allowed]
    positions = [cum[i] for i in allowed]
    length = total / n
    half = max(window * length, 1.0)
    last = len(allowed) - 1
    starts = [0]
    previous = -1
    for k in range(1, n):
        target = k * length
        lo, hi = previous + 1, last - (n - 1 - k)
        a = max(lo, bisect_left(positions, target - half))
        b = min(hi, bisect_right(positions, target + half) - 1)
        best, best_score = -1, float("-inf")
        for j in range(a, b + 1):
            score = units[allowed[j]].cue - distance_weight * abs(positions[j] - target) / half
            if score > best_score:
                best, best_score = j, score
        if best < 0:
            j = min(max(bisect_left(positions, target, lo, hi + 1), lo), hi)
            best = j - 1 if j > lo and target - positions[j - 1] < positions[j] - target else j
        starts.append(allowed[best])
        previous = best
    return starts


def segments(units: Sequence[Unit], n: int) -> list[tuple[int, int]]:
    """``(start, end)`` index ranges of at most ``n`` segments covering ``units`` in order."""
    starts = cut_points(units, n)
    ends = [*starts[1:], len(units)]
    return list(zip(starts, ends, strict=True))


__all__ = [
    "HEADING_CUE",
    "MAX_UNIT_CHARS",
    "PARAGRAPH_CUE",
    "WORD_RE",
    "Document",
    "Unit",
    "chunk",
    "clean",
    "cut_points",
    "prepare",
    "segments",
    "split_sentences",
    "strip_speech",
]
