"""The ``openrouter`` text provider: story analysis, scenes and prompt enhancement via an LLM."""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import SecretStr

from storyframe.errors import BadResponse
from storyframe.models import Character, Scene, StoryAnalysis, Style, TextCall
from storyframe.prompts import LOOK_FIELDS
from storyframe.providers import (
    Capabilities,
    CheckResult,
    ProviderConfig,
    TextProvider,
)
from storyframe.secrets import register_secret
from storyframe_openrouter import prompts
from storyframe_openrouter.chat import ChatClient, Completion
from storyframe_openrouter.config import OpenRouterConfig, coerce
from storyframe_openrouter.limits import ModelLimits, model_limits
from storyframe_openrouter.schema import (
    ANALYSIS_SCHEMA_NAME,
    SCENES_SCHEMA_NAME,
    AnalysisAnswer,
    AnswerError,
    CharacterAnswer,
    ScenesAnswer,
    parse_answer,
    parse_scenes,
    response_format,
    strict_schema,
)

if TYPE_CHECKING:
    from storyframe.cost import CostEstimate

log = logging.getLogger("storyframe.openrouter")

T = TypeVar("T")

REPAIR_TOKEN_CEILING = 32_768
"""The most a repair round raises ``max_tokens`` to after a truncated answer."""


class OpenRouterTextProvider(TextProvider):
    """Any chat model on OpenRouter, asked for strict JSON and validated client-side."""

    name: ClassVar[str] = "openrouter"
    description: ClassVar[str] = "LLM-written analysis and scenes through OpenRouter."
    needs_key: ClassVar[bool] = True
    key_env: ClassVar[str | None] = "OPENROUTER_API_KEY"
    config_model: ClassVar[type[ProviderConfig]] = OpenRouterConfig
    capabilities: ClassVar[Capabilities] = Capabilities(structured_output=True)

    def __init__(self, config: ProviderConfig | None = None, api_key: SecretStr | None = None):
        settings = coerce(config, OpenRouterConfig)
        super().__init__(settings, api_key)
        self.settings = settings
        if api_key is not None:
            register_secret(api_key.get_secret_value())
        self.chat = ChatClient(self.name, settings, api_key, self.usage)
        self._limits: ModelLimits | None = None
        self.plan: Any = None
        """What :mod:`.long` learned from the story, reused between analyze and scenes."""

    async def limits(self) -> ModelLimits:
        """The model's context window and output limit (looked up once per provider)."""
        if self._limits is None:
            self._limits = await model_limits(self.chat, self.settings)
            log.info(
                "%s: %s context %d, output %d tokens (%s)",
                self.name,
                self.settings.model,
                self._limits.context_length,
                self._limits.max_output,
                self._limits.source,
            )
        return self._limits

    async def analyze(self, story: str) -> StoryAnalysis:
        """Characters with reusable looks, places, themes and mood; counts are computed here.

        When the pipeline has set ``job``, the story is read once for the whole run: one call
        with the scenes too if it fits, else beats chunk by chunk (see :mod:`.long`).
        """
        from storyframe_openrouter.long import analyze

        return await analyze(self, story)

    async def analyze_alone(self, story: str) -> StoryAnalysis:
        """The analysis by itself, in one call with the whole story."""
        messages = prompts.analysis_messages(story)
        body = self._body(
            messages,
            response_format(ANALYSIS_SCHEMA_NAME, strict_schema(AnalysisAnswer)),
            max_tokens=await self.max_tokens(messages, 1200),
        )
        answer = await self._structured(
            body, lambda text: parse_answer(text, AnalysisAnswer), purpose="analysis"
        )
        return to_analysis(answer, story)

    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None = None
    ) -> list[Scene]:
        """Exactly ``n`` scenes (fewer only for a story with fewer sentences), numbered 1..n."""
        from storyframe_openrouter.long import generate_scenes

        return await generate_scenes(self, story, n, style, analysis)

    async def scenes_alone(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None
    ) -> list[Any]:
        """``n`` scene answers from one call with the whole story (count repaired in-thread)."""
        from storyframe_openrouter.budget import SCENE_TOKENS

        schema = strict_schema(
            ScenesAnswer, scenes=f"Exactly {n} scenes, in story order, beginning to end."
        )
        messages = prompts.scenes_messages(story, n, style, analysis)
        body = self._body(
            messages,
            response_format(SCENES_SCHEMA_NAME, schema),
            max_tokens=await self.max_tokens(messages, n * SCENE_TOKENS),
        )
        fewer_ok = story_counts(story)[1] < n
        return await self._structured(
            body, lambda text: parse_scenes(text, n, fewer_ok=fewer_ok), n=n, purpose="scenes"
        )

    async def enhance_prompt(
        self, scene: Scene, analysis: StoryAnalysis | None, style: Style
    ) -> str:
        """The scene's image prompt rewritten with the story's context (plain text, bounded)."""
        limit = self.settings.enhance_max_chars
        body = self._body(
            prompts.enhance_messages(scene, analysis, style, limit),
            max_tokens=min(self.settings.max_tokens or 600, 600),
        )
        completion = await self.complete(
            body, f"enhance scene {scene.number}", accept=lambda c: bool(clean_prompt(c.content))
        )
        from storyframe_openrouter.validate import settle_framing

        text = bound(clean_prompt(completion.content), limit)
        # The scene's shot and camera go in front of the prompt: a framing term the rewrite
        # ends (or opens) with would say it twice, or contradict it.
        return settle_framing(text, scene.shot, scene.camera, fill=False)[0]

    async def estimate(self, story: str, scenes: int) -> CostEstimate | None:
        """The tokens the run will use at the model's prices (``GET /models``, free, cached),
        or at ``price_per_1k_tokens``; no paid call. See :mod:`storyframe_openrouter.costs`."""
        from storyframe_openrouter.costs import estimate

        return await estimate(self, story, scenes)

    async def check(self) -> CheckResult:
        """Validate the key with ``GET /key`` and report the credit left. Never raises."""
        return await self.chat.check(self.settings.model)

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self.chat.aclose()

    def _body(
        self,
        messages: list[dict[str, str]],
        response_format: dict[str, Any] | None = None,
        *,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        cfg = self.settings
        body: dict[str, Any] = {
            "model": cfg.model,
            "messages": messages,
            "max_tokens": max_tokens or cfg.max_tokens or 4096,
            "provider": {"require_parameters": True},
        }
        if cfg.models:
            body["models"] = list(cfg.models)
        if cfg.temperature is not None:
            body["temperature"] = cfg.temperature
        if response_format is not None:
            body["response_format"] = response_format
        return body

    async def max_tokens(self, messages: list[dict[str, str]], expected: int) -> int:
        """The answer budget: ``expected`` tokens with room to spare, within the model's limits.

        A configured ``max_tokens`` wins (still capped by the model's output limit).
        """
        from storyframe_openrouter.budget import estimate_tokens

        limits = await self.limits()
        if self.settings.max_tokens:
            return min(self.settings.max_tokens, limits.max_output)
        prompt = sum(estimate_tokens(m["content"]) for m in messages) + 600
        room = int(limits.context_length * 0.95) - prompt
        return max(16, min(int(expected * 1.5) + 300, limits.output_cap(), room))

    async def complete(self, body: dict[str, Any], purpose: str, **kwargs: Any) -> Completion:
        """One chat completion, recorded in ``calls`` with its purpose, tokens and cost."""
        started = time.perf_counter()
        completion = await self.chat.complete(body, **kwargs)
        self.calls.append(
            TextCall(
                provider=self.name,
                purpose=purpose,
                model=completion.model or self.settings.model,
                prompt_tokens=completion.usage.prompt_tokens,
                completion_tokens=completion.usage.completion_tokens,
                cost=completion.usage.cost,
                seconds=round(time.perf_counter() - started, 3),
                finish_reason=completion.finish_reason,
            )
        )
        return completion

    async def _structured(
        self,
        body: dict[str, Any],
        parse: Callable[[str], T],
        *,
        n: int | None = None,
        purpose: str = "answer",
    ) -> T:
        """Ask, parse; on a bad answer ask once more with the problem; then ``BadResponse``."""
        first = await self.complete(body, purpose)
        try:
            return parse(first.content)
        except AnswerError as error:
            problem = str(error)
        log.info("%s: unusable answer from %s (%s); asking again", self.name, first.model, problem)
        retry_body = {
            **body,
            "messages": [
                *body["messages"],
                {"role": "assistant", "content": first.content},
                prompts.repair_message(problem, n=n),
            ],
        }
        if first.finish_reason == "length":
            retry_body["max_tokens"] = min(body["max_tokens"] * 2, REPAIR_TOKEN_CEILING)
        second = await self.complete(retry_body, f"{purpose} (again)")
        try:
            return parse(second.content)
        except AnswerError as error:
            hint = (
                "The answer was cut off: raise [providers.openrouter] max_tokens."
                if second.finish_reason == "length"
                else "Try another [providers.openrouter] model."
            )
            raise BadResponse(
                f"{second.model or self.settings.model} gave an unusable answer twice: {error}",
                provider=self.name,
                code="invalid_answer",
                hint=hint,
            ) from None


def to_character(item: CharacterAnswer, aliases: list[str]) -> Character:
    """The character an answer describes, with its look fields (already cleaned)."""
    return Character(
        name=item.name,
        look=item.look,
        aliases=aliases,
        **{field: getattr(item, field) for field in LOOK_FIELDS},
    )


def to_analysis(answer: AnalysisAnswer, story: str) -> StoryAnalysis:
    """Map the LLM's analysis onto :class:`StoryAnalysis`, counting words and mentions here."""
    characters: list[Character] = []
    seen: set[str] = set()
    for item in answer.characters:
        own = item.name.casefold()
        if own in seen:
            continue
        seen.add(own)
        aliases = [a for a in dict.fromkeys(item.aliases) if a and a.casefold() != own]
        character = to_character(item, aliases)
        character.mentions = sum(_mentions(story, name) for name in (item.name, *aliases))
        characters.append(character)
    words, sentences, paragraphs = story_counts(story)
    return StoryAnalysis(
        title=answer.title,
        word_count=words,
        sentence_count=sentences,
        paragraph_count=paragraphs,
        characters=characters,
        places=[p for p in answer.places if p],
        themes=[t for t in answer.themes if t],
        mood=answer.mood,
        complexity=answer.complexity,
        recommended_scenes=answer.recommended_scenes,
    )


_FENCE_EDGE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_QUOTES = {('"', '"'), ("'", "'"), ("\u201c", "\u201d")}
_LABEL = re.compile(r"^(?:here is[^:\n]*:|(?:enhanced |image |rewritten )?prompt:)\s*", re.I)


def clean_prompt(text: str) -> str:
    """An LLM's plain-text prompt without fences, labels, wrapping quotes or extra spaces."""
    text = _FENCE_EDGE.sub("", text.strip())
    text = _LABEL.sub("", text.strip())
    text = " ".join(text.split())
    quoted = len(text) >= 2 and (text[0], text[-1]) in _QUOTES
    return text[1:-1].strip() if quoted else text


def bound(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a sentence or word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    sentence = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if sentence >= limit // 2:
        return cut[: sentence + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space >= limit // 2 else cut).rstrip(" ,;:")


@functools.lru_cache(maxsize=2)
def story_counts(story: str) -> tuple[int, int, int]:
    """Words, sentences and paragraphs, counted the way the heuristic provider counts them."""
    from storyframe.builtins.textsplit import prepare

    doc = prepare(story)
    return sum(len(words) for words in doc.words), len(doc.units), doc.paragraph_count


def count_mentions(story: str, characters: list[Character]) -> None:
    """Set each character's ``mentions`` (name and aliases) in one pass over ``story``."""
    owner = {
        name.strip().casefold(): c.name
        for c in reversed(characters)
        for name in (c.name, *c.aliases)
        if name.strip()
    }
    counts: dict[str, int] = dict.fromkeys((c.name for c in characters), 0)
    if owner:
        names = sorted(owner, key=len, reverse=True)
        pattern = re.compile(rf"(?<!\w)(?:{'|'.join(map(re.escape, names))})(?!\w)")
        for found in pattern.findall(story.casefold()):
            counts[owner[found]] += 1
    for character in characters:
        character.mentions = counts[character.name]


def _mentions(story: str, name: str) -> int:
    if not name.strip():
        return 0
    return len(re.findall(rf"(?<!\w){re.escape(name.strip())}(?!\w)", story, flags=re.I))
