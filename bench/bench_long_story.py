"""Long-story benchmark: the OpenRouter planner on a novel, against the local look-alike.

    python bench/bench_long_story.py [--latency 2] [--concurrency 16] [--story PATH]

For Little Women at 12, 40 and 120 scenes on a 128k-context model and at 40 scenes on a
16k-context model, it prints the calls made, the tokens sent against the story's estimated
tokens, distinct prompts, whether the scenes are in story order, the cost the look-alike bills,
and the wall time against the ideal (sequential rounds x latency, where a round is one wave of
up to ``--concurrency`` calls). Then it checks that a 3,000-word tale is one call. The
look-alike enforces each model's context and output limits, so a context error would show as a
failed run. Nothing leaves 127.0.0.1; the model cache lives in a temporary HOME.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pydantic import SecretStr  # noqa: E402

from storyframe.models import Style  # noqa: E402
from storyframe.providers import TextJob  # noqa: E402
from storyframe.story import read_story  # noqa: E402
from storyframe_openrouter.budget import estimate_tokens  # noqa: E402
from storyframe_openrouter.config import OpenRouterConfig  # noqa: E402
from storyframe_openrouter.text import OpenRouterTextProvider  # noqa: E402
from tests.openrouter.emulator import OpenRouterEmulator  # noqa: E402

STORIES = REPO.parent / "shared" / "stories"
CASES = [
    (12, "openai/gpt-4o-mini"),
    (40, "openai/gpt-4o-mini"),
    (120, "openai/gpt-4o-mini"),
    (40, "openai/gpt-3.5-turbo"),
]


async def one_run(
    story: str, n: int, model: str, latency: float, concurrency: int
) -> dict[str, object]:
    """Plan ``n`` scenes of ``story`` with ``model`` and measure the run."""
    async with OpenRouterEmulator(latency=latency) as emulator:
        config = OpenRouterConfig(base_url=emulator.base_url, model=model, concurrency=concurrency)
        provider = OpenRouterTextProvider(config, SecretStr(emulator.api_key))
        await provider.limits()  # GET /models is not part of the planning time
        provider.job = TextJob(n, (4, 24), Path(tempfile.mkdtemp()))
        started = time.perf_counter()
        analysis = await provider.analyze(story)
        scenes = await provider.generate_scenes(story, n, Style(name="cinematic"), analysis)
        wall = time.perf_counter() - started
        await provider.aclose()
        errors = sum(1 for _ in emulator.chat_requests) - len(provider.calls)
    kinds = [c.purpose.split()[0] for c in provider.calls]
    rounds = sum(
        math.ceil(kinds.count(kind) / concurrency)
        for kind in ("analysis", "beats", "scenes", "repair")
        if kind in kinds
    )
    starts = [s.source_start or 0 for s in scenes]
    return {
        "scenes": len(scenes),
        "calls": len(provider.calls),
        "beats": kinds.count("beats"),
        "batches": kinds.count("scenes"),
        "repairs": kinds.count("repair"),
        "errors": errors,
        "sent": sum(c.prompt_tokens for c in provider.calls),
        "distinct": len({s.image_prompt for s in scenes}),
        "ordered": starts == sorted(starts),
        "cost": sum(c.cost for c in provider.calls),
        "wall": wall,
        "rounds": rounds,
        "titles": [s.title for s in scenes[:5]],
    }


async def main() -> None:
    """Run every case and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--story", type=Path, default=STORIES / "novel-little-women.txt")
    args = parser.parse_args()
    os.environ["HOME"] = tempfile.mkdtemp()  # a private model cache
    os.environ.pop("XDG_CACHE_HOME", None)
    story = read_story(args.story).text
    tokens = estimate_tokens(story)
    print(f"{args.story.name}: {len(story):,} characters, about {tokens:,} tokens")
    print(f"latency {args.latency:g} s per call, concurrency {args.concurrency}\n")
    tale = read_story(STORIES / "18-the-valiant-little-tailor.txt").text
    await one_run(tale, 4, "openai/gpt-4o-mini", 0.0, args.concurrency)  # imports, regexes
    header = "model                 n  calls beats batch rep err  sent/story distinct order"
    print(f"{header}   cost $   wall s  rounds  wall/ideal")
    titles: list[str] = []
    for n, model in CASES:
        r = await one_run(story, n, model, args.latency, args.concurrency)
        ideal = r["rounds"] * args.latency  # type: ignore[operator]
        print(
            f"{model:20} {n:3}  {r['calls']:5} {r['beats']:5} {r['batches']:5} {r['repairs']:3}"
            f" {r['errors']:3}  {r['sent'] / tokens:10.3f} {r['distinct']:5}/{r['scenes']:<3}"  # type: ignore[operator]
            f" {r['ordered']!s:5}  {r['cost']:7.4f}  {r['wall']:7.2f}  {r['rounds']:6}"
            f"  {r['wall'] / ideal if ideal else 0:10.2f}"  # type: ignore[operator]
        )
        if n == 40 and model.endswith("4o-mini"):
            titles = list(r["titles"])  # type: ignore[call-overload]
    print("\nfirst five titles at -n 40:", "; ".join(titles))
    r = await one_run(tale, 8, "openai/gpt-4o-mini", args.latency, args.concurrency)
    print(
        f"3,000-word tale ({len(tale.split()):,} words), -n 8: {r['calls']} call(s), "
        f"sent/story {r['sent'] / estimate_tokens(tale):.2f}, wall {r['wall']:.2f} s"  # type: ignore[operator]
    )


if __name__ == "__main__":
    asyncio.run(main())
