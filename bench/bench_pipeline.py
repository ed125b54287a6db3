"""Pipeline benchmark: concurrency speed-up and the cost of a resume, as ratios.

    python bench/bench_pipeline.py [--scenes 24] [--latency 0.05]

Images come from a placeholder provider that first waits ``--latency`` seconds, standing in for
a remote image service. Everything else (heuristic scenes, manifest written after each scene,
PNG storage, HTML) is the real pipeline. All times are measured in this process, and only ratios
are reported as results: absolute times drift on shared machines.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from storyframe.builtins.placeholder import PlaceholderImageProvider
from storyframe.config import Config
from storyframe.models import GeneratedImage, ImageRequest, RunSettings
from storyframe.pipeline import Pipeline
from storyframe.plugins import get_host
from storyframe.project import Project
from storyframe.prompts import story_seed
from storyframe.registry import Registry
from storyframe.story import read_story

REPO = Path(__file__).resolve().parents[1]


class SlowPlaceholder(PlaceholderImageProvider):
    """The placeholder provider behind a fixed network-like latency."""

    name = "bench-slow"
    latency = 0.05

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        await asyncio.sleep(self.latency)
        return await super().generate(request)


async def one_run(story_path: Path, folder: Path, scenes: int, concurrency: int) -> float:
    config = Config()
    registry = Registry(config)
    story = read_story(story_path)
    settings = RunSettings(
        scenes=scenes,
        style="cinematic",
        seed=story_seed(story.sha256),
        width=640,
        height=360,
        text_providers=["heuristic"],
        image_providers=["bench-slow"],
    )
    pipeline = Pipeline(config, registry=registry)
    project = Project(folder)
    started = time.perf_counter()
    board = await pipeline.write_scenes(story, project, settings)
    summary = await pipeline.draw(project, board, concurrency=concurrency)
    elapsed = time.perf_counter() - started
    assert summary.ok, summary.failed
    return elapsed


def best(values: list[float]) -> float:
    return min(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--story", type=Path, default=REPO / "examples/stories/golden-bird.txt")
    parser.add_argument("--scenes", type=int, default=24)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    SlowPlaceholder.latency = args.latency
    host = get_host()
    host.image_providers[SlowPlaceholder.name] = SlowPlaceholder

    results: dict[str, list[float]] = {"c1": [], "c4": [], "c8": [], "resume": []}
    for _ in range(args.repeat):
        for label, concurrency in (("c1", 1), ("c4", 4), ("c8", 8)):
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp) / "p"
                elapsed = asyncio.run(one_run(args.story, folder, args.scenes, concurrency))
                results[label].append(elapsed)
                if label == "c4":
                    results["resume"].append(
                        asyncio.run(one_run(args.story, folder, args.scenes, concurrency))
                    )

    base = best(results["c1"])
    print(f"story: {args.story.name}, {args.scenes} scenes, {args.latency * 1000:.0f} ms latency")
    print(f"{'run':<28}{'best s':>8}{'median s':>10}{'ratio':>9}")
    rows = [
        ("concurrency 1 (baseline)", "c1"),
        ("concurrency 4", "c4"),
        ("concurrency 8", "c8"),
        ("resume of a finished run", "resume"),
    ]
    for title, key in rows:
        values = results[key]
        print(
            f"{title:<28}{best(values):>8.3f}{statistics.median(values):>10.3f}"
            f"{best(values) / base:>9.3f}"
        )
    print(f"speed-up at concurrency 4: {base / best(results['c4']):.2f}x")
    print(f"speed-up at concurrency 8: {base / best(results['c8']):.2f}x")
    print(
        f"resume / first run at concurrency 4: {best(results['resume']) / best(results['c4']):.3f}"
    )


if __name__ == "__main__":
    main()
