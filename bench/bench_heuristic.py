"""Benchmark the built-in heuristic scene extractor: does it stay linear in the story's length?

Splits a novel (and the novel repeated 2 and 4 times) into scenes with a fresh provider each run,
keeps the best of several runs, and prints the times and the scaling ratios t(2x)/t(1x) and
t(4x)/t(1x); a linear extractor gives about 2 and 4. Run it with::

    python bench/bench_heuristic.py [--story FILE] [--scenes 50] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from pathlib import Path

from storyframe.builtins.heuristic import HeuristicTextProvider
from storyframe.styles import BUILTIN_STYLES

STORIES = Path(__file__).resolve().parents[2] / "shared" / "stories"
DEFAULT_STORY = STORIES / "novel-connecticut-yankee.txt"
FACTORS = (1, 2, 4)


async def best_time(text: str, scenes: int, runs: int) -> tuple[float, int]:
    """The fastest of ``runs`` analyses plus scene splits of ``text``, and the scene count."""
    style = BUILTIN_STYLES[0]
    best = float("inf")
    count = 0
    for _ in range(runs):
        provider = HeuristicTextProvider()  # a fresh one: no cached preparation or analysis
        gc.collect()
        started = time.perf_counter()
        result = await provider.generate_scenes(text, scenes, style)
        best = min(best, time.perf_counter() - started)
        count = len(result)
    return best, count


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--story", type=Path, default=DEFAULT_STORY, help="the story to split")
    parser.add_argument("--scenes", type=int, default=50, help="scenes to split it into")
    parser.add_argument("--runs", type=int, default=5, help="runs per size; the best is kept")
    args = parser.parse_args()
    story = args.story.read_text(encoding="utf-8")

    print(
        f"story: {args.story.name} ({len(story):,} characters), {args.scenes} scenes, "
        f"best of {args.runs} runs"
    )
    print(f"{'size':>5} {'characters':>12} {'scenes':>7} {'seconds':>9} {'t/t(1x)':>8}")
    times: dict[int, float] = {}
    for factor in FACTORS:
        text = "\n\n".join([story] * factor)
        seconds, count = await best_time(text, args.scenes, args.runs)
        times[factor] = seconds
        print(
            f"{factor:>4}x {len(text):>12,} {count:>7} {seconds:>9.3f} {seconds / times[1]:>8.2f}"
        )
    print(
        f"scaling: t(2x)/t(1x) = {times[2] / times[1]:.2f} (linear: 2), "
        f"t(4x)/t(1x) = {times[4] / times[1]:.2f} (linear: 4)"
    )


if __name__ == "__main__":
    asyncio.run(main())
