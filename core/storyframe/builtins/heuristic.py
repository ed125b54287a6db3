"""The built-in offline text provider: a heuristic scene extractor, no model and no network.

The story analysis lives in :mod:`.analysis` and the scene building in :mod:`.scenes`; this
module holds the provider and its settings. Everything is deterministic and linear in the length
of the story.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr

from storyframe.errors import InputError
from storyframe.models import Scene, StoryAnalysis, Style
from storyframe.providers import ProviderConfig, TextProvider

if TYPE_CHECKING:  # the text machinery is imported on first use, keeping CLI start-up light
    from storyframe.builtins.textsplit import Document


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
        from storyframe.builtins.textsplit import prepare

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
        from storyframe.builtins.analysis import analyze_document

        return analyze_document(self._document(story), self.settings.max_characters)

    async def generate_scenes(
        self, story: str, n: int, style: Style, analysis: StoryAnalysis | None = None
    ) -> list[Scene]:
        """Exactly ``n`` scenes, or one per sentence when the story has fewer than ``n``."""
        if n < 1:
            raise InputError(f"cannot split a story into {n} scenes.", hint="Ask for 1 or more.")
        if analysis is None:
            analysis = await self.analyze(story)
        # The first call imports the scene machinery: that, too, stays off the event loop.
        return await asyncio.to_thread(self._scenes_sync, story, n, analysis)

    def _scenes_sync(self, story: str, n: int, analysis: StoryAnalysis) -> list[Scene]:
        from storyframe.builtins.scenes import scenes_from_document

        return scenes_from_document(
            self._document(story),
            n,
            analysis,
            max_description_chars=self.settings.max_description_chars,
            max_prompt_chars=self.settings.max_prompt_chars,
        )


__all__ = ["HeuristicConfig", "HeuristicTextProvider"]
