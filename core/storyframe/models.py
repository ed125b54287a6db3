"""The data contracts of storyframe (pydantic v2). They are the public API and the manifest schema.

The flow::

    story text -> StoryAnalysis -> list[Scene] -> ImageRequest -> GeneratedImage -> Storyboard

The models live in :mod:`storyframe.contracts` (what providers are given and return) and
:mod:`storyframe.manifest` (the manifest); this module is where everyone imports them from.
"""

from __future__ import annotations

from storyframe.contracts import (
    Character,
    GeneratedImage,
    ImageRequest,
    ReferenceImage,
    Scene,
    StoryAnalysis,
    Style,
    TextCall,
    Usage,
)
from storyframe.contracts import utcnow as utcnow  # used across the package
from storyframe.manifest import (
    SCHEMA_VERSION,
    CharacterSheet,
    Fallback,
    ImageFile,
    PaidJob,
    RunSettings,
    SceneCount,
    SceneRecord,
    SceneStatus,
    StageCost,
    Storyboard,
    StoryInfo,
    Variant,
)

__all__ = [
    "SCHEMA_VERSION",
    "Character",
    "CharacterSheet",
    "Fallback",
    "GeneratedImage",
    "ImageFile",
    "ImageRequest",
    "PaidJob",
    "ReferenceImage",
    "RunSettings",
    "Scene",
    "SceneCount",
    "SceneRecord",
    "SceneStatus",
    "StageCost",
    "StoryAnalysis",
    "StoryInfo",
    "Storyboard",
    "Style",
    "TextCall",
    "Usage",
    "Variant",
]
