"""The built-in visual styles, as data."""

from __future__ import annotations

from storyframe.models import Style

BUILTIN_STYLES: tuple[Style, ...] = (
    Style(
        name="cinematic",
        description="Film still: dramatic light, shallow depth of field, wide frame.",
        prompt_suffix="cinematic film still, dramatic lighting, shallow depth of field, "
        "35mm photograph, rich colour grading",
        negative_prompt="cartoon, illustration, text, watermark, blurry, deformed hands",
        palette=["#14161b", "#f2e9dc", "#d08c35", "#3d5a80"],
        width=1344,
        height=768,
        provider_params={"runware": {"CFGScale": 3.5}},
    ),
    Style(
        name="cartoon",
        description="Bright animated-film look with clean outlines.",
        prompt_suffix="cartoon illustration, bold clean outlines, bright flat colours, "
        "friendly expressive characters, animated film style",
        negative_prompt="photorealistic, photo, gritty, text, watermark",
        palette=["#fff8e7", "#2b2d42", "#ef476f", "#ffd166", "#06d6a0"],
        width=1024,
        height=768,
    ),
    Style(
        name="realistic",
        description="Natural, photographic realism.",
        prompt_suffix="photorealistic, natural light, highly detailed, realistic textures",
        negative_prompt="cartoon, painting, illustration, text, watermark, deformed",
        palette=["#f4f1ea", "#22252a", "#6b8f71", "#a0785a"],
        width=1024,
        height=768,
    ),
    Style(
        name="watercolor",
        description="Soft watercolour painting on textured paper.",
        prompt_suffix="watercolor painting, soft washes, visible paper texture, gentle bleeding "
        "edges, storybook illustration",
        negative_prompt="photo, 3d render, harsh lines, text, watermark",
        palette=["#fbf7f0", "#34495e", "#7fb3d5", "#f5b7b1", "#a9dfbf"],
        width=1024,
        height=768,
    ),
    Style(
        name="comic",
        description="Inked comic-book panel with halftone shading.",
        prompt_suffix="comic book panel, bold ink lines, halftone shading, dynamic composition, "
        "vivid colours",
        negative_prompt="photo, blurry, watermark, text bubbles with gibberish",
        palette=["#fffbe6", "#111111", "#e63946", "#1d3557", "#f1c40f"],
        width=1024,
        height=768,
    ),
    Style(
        name="noir",
        description="Black-and-white film noir: hard shadows, rain, smoke.",
        prompt_suffix="film noir, black and white, hard chiaroscuro shadows, high contrast, "
        "moody atmosphere",
        negative_prompt="colour, bright, cheerful, cartoon, text, watermark",
        palette=["#0d0d0d", "#eeeeee", "#7a7a7a", "#3a3a3a"],
        width=1344,
        height=768,
    ),
)

DEFAULT_STYLE = "cinematic"
