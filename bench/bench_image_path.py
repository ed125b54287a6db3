"""The image path against local look-alikes of Runware and its image host, as ratios.

    python bench/bench_image_path.py            # all three
    python bench/bench_image_path.py --only throughput|memory|manifest

- throughput: ``storyframe images`` of 200 scenes (sync delivery, batches of 4, 4 batches in
  flight: ``--concurrency 16``, as storyframe counts images) against a zero-latency look-alike,
  next to a plain aiohttp script making the same requests and writing the same bytes
  (``bench/plain_image_client.py``), in turn, in one run.
- memory: peak RSS of ``storyframe images`` for 25 and for 100 images of about 8 MB, next to the
  plain script for 100 (RSS of each child process, read with ``resource``).
- manifest: the cost of one scene's state change at 50 and at 200 scenes, in this process, for
  the journal and for rewriting the whole manifest (the design before the journal).

Everything runs on this machine (127.0.0.1); timings are medians of alternating runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STORY = ROOT.parent / "shared" / "stories" / "novel-little-women.txt"
KEY = "bench-key-0123456789"
BATCH, BATCHES = 4, 4
IN_FLIGHT = BATCH * BATCHES  # storyframe's --concurrency counts images, the plain script batches
RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
)


def load_emulator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "bench_emulator", ROOT / "tests/runware/emulator.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_emulator"] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def look_alike(big: bool = False) -> Iterator[str]:
    emu = load_emulator()
    server = emu.Emulator(api_key=KEY, image_scale=8)
    if big:
        image = big_jpeg()
        server.render = lambda record: image
    with emu.serve_in_thread(server) as url:
        yield url


def big_jpeg() -> bytes:
    """About 8 MB of JPEG: noise does not compress."""
    from PIL import Image

    noise = Image.effect_noise((2400, 1700), 120).convert("RGB")
    buffer = io.BytesIO()
    noise.save(buffer, "JPEG", quality=100, subsampling=0)
    return buffer.getvalue()


def write_config(folder: Path, url: str) -> Path:
    config = folder / "storyframe.toml"
    config.write_text(
        '[text]\nproviders = ["heuristic"]\n[image]\nproviders = ["runware"]\n'
        f'[providers.runware]\nbase_url = "{url}"\nallowed_download_hosts = ["127.0.0.1"]\n'
        f'delivery = "sync"\nbatch_size = {BATCH}\nconcurrency = {IN_FLIGHT}\n'
        "max_download_bytes = 64000000\n"
    )
    return config


def storyframe(*args: str) -> list[str]:
    return [sys.executable, "-m", "storyframe", *args]


def env() -> dict[str, str]:
    """The children's environment: Runware's key, and bytecode caching on (as a normal install
    has it; with PYTHONDONTWRITEBYTECODE every process would compile every module again)."""
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**base, "RUNWARE_API_KEY": KEY, "STORYFRAME_LOAD_PLUGINS": "runware"}


def scenes_project(folder: Path, config: Path, count: int) -> Path:
    project = folder / f"scenes-{count}"
    subprocess.run(
        storyframe("--config", str(config), "scenes", str(STORY), "-n", str(count), "-o",
                   str(project), "-q"),
        env=env(), check=True,
    )  # fmt: skip
    return project


def fresh_copy(project: Path, folder: Path) -> Path:
    copy = folder / f"run-{time.monotonic_ns()}"
    shutil.copytree(project, copy)
    return copy


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env(), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def peak_rss_mb(command: list[str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", RSS, *command], env=env(), capture_output=True, text=True
    ).stdout.split()
    assert out and out[1] == "0", out
    return int(out[0]) / 1024


def throughput(rounds: int) -> None:
    """200 images, whole process, against the plain script; then the cost of one more image
    (200 images against 50, for each), which leaves start-up and stage-end costs out."""
    counts = (50, 200)
    with tempfile.TemporaryDirectory() as tmp, look_alike() as url:
        folder = Path(tmp)
        config = write_config(folder, url)
        projects = {n: scenes_project(folder, config, n) for n in counts}
        ours: dict[int, list[float]] = {n: [] for n in counts}
        plain: dict[int, list[float]] = {n: [] for n in counts}
        for round_ in range(rounds + 1):  # the first round warms the caches and is not counted
            for count in counts:
                copy = fresh_copy(projects[count], folder)
                command = storyframe("--config", str(config), "images", str(copy), "-q",
                                     "--concurrency", str(IN_FLIGHT))  # fmt: skip
                ours[count].append(timed(command))
                out = folder / f"plain-{time.monotonic_ns()}"
                script = str(ROOT / "bench/plain_image_client.py")
                plain[count].append(timed([sys.executable, script, url, KEY, str(count),
                                           str(BATCH), str(BATCHES), str(out)]))  # fmt: skip
                if round_ == 0:
                    ours[count].clear()
                    plain[count].clear()
    a = {n: statistics.median(ours[n]) for n in counts}
    b = {n: statistics.median(plain[n]) for n in counts}
    small, large = counts
    print(
        f"throughput, {large} images: storyframe {a[large]:.2f} s ({large / a[large]:.0f} img/s), "
        f"plain aiohttp {b[large]:.2f} s ({large / b[large]:.0f} img/s), "
        f"ratio {b[large] / a[large]:.2f}x (target >= 0.8x)"
    )
    per_ours = (a[large] - a[small]) / (large - small)
    per_plain = (b[large] - b[small]) / (large - small)
    print(
        f"throughput, one more image ({large} vs {small}): storyframe {per_ours * 1000:.2f} ms, "
        f"plain aiohttp {per_plain * 1000:.2f} ms, ratio {per_plain / per_ours:.2f}x; "
        f"{small} images: storyframe {a[small]:.2f} s, plain aiohttp {b[small]:.2f} s"
    )


def memory() -> None:
    with tempfile.TemporaryDirectory() as tmp, look_alike(big=True) as url:
        folder = Path(tmp)
        config = write_config(folder, url)
        rss = {}
        for count in (25, 100):
            project = scenes_project(folder, config, count)
            copy = fresh_copy(project, folder)
            rss[count] = peak_rss_mb(storyframe("--config", str(config), "images", str(copy),
                                                "-q", "--concurrency", str(IN_FLIGHT)))  # fmt: skip
            shutil.rmtree(copy)
        out = folder / "plain"
        plain = peak_rss_mb([sys.executable, str(ROOT / "bench/plain_image_client.py"), url,
                             KEY, "100", str(BATCH), str(BATCHES), str(out)])  # fmt: skip
    print(
        f"memory, ~8 MB images: storyframe peak RSS {rss[25]:.0f} MiB for 25, "
        f"{rss[100]:.0f} MiB for 100 (ratio {rss[100] / rss[25]:.2f}; target < 150 MiB, flat); "
        f"plain aiohttp {plain:.0f} MiB for 100"
    )


def manifest() -> None:
    from storyframe.models import RunSettings, Scene, SceneRecord, Storyboard, StoryInfo
    from storyframe.project import Project

    def board(count: int) -> Storyboard:
        return Storyboard(
            story=StoryInfo(path="s.txt", sha256="ab" * 32),
            settings=RunSettings(scenes=count, style="cinematic", seed=1, width=64, height=64,
                                 text_providers=["heuristic"], image_providers=["placeholder"]),
            scenes=[SceneRecord(scene=Scene(number=i, title=f"Scene {i}", description="d" * 400,
                                            image_prompt="p" * 300)) for i in range(1, count + 1)],
        )  # fmt: skip

    def per_change(count: int, journal: bool) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            project = Project(Path(tmp))
            b = board(count)
            project.save(b)
            started = time.perf_counter()
            for i in range(50):
                record = b.record(i % count + 1)
                record.status = "done" if i % 2 else "pending"
                if journal:
                    project.record(b, record)
                else:
                    project.save(b)
            return (time.perf_counter() - started) / 50

    rows = {(n, j): per_change(n, j) for n in (50, 200) for j in (True, False)}
    for journal, name in ((True, "journal"), (False, "whole manifest")):
        small, large = rows[(50, journal)], rows[(200, journal)]
        print(
            f"manifest, {name}: {small * 1000:.2f} ms per change at 50 scenes, "
            f"{large * 1000:.2f} ms at 200 (ratio {large / small:.2f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["throughput", "memory", "manifest"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.only in (None, "manifest"):
        manifest()
    if args.only in (None, "throughput"):
        throughput(args.rounds)
    if args.only in (None, "memory"):
        memory()


if __name__ == "__main__":
    main()
