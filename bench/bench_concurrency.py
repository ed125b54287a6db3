"""Image-path benchmark: how close Runware drawing comes to the ideal at a given concurrency.

    python bench/bench_concurrency.py [--images 64] [--task-time 0.2] [--concurrency 8]
                                      [--batch 4] [--poll-interval 0.2] [--repeat 3]

Images are made by the Runware look-alike (``tests/runware/emulator.py``), which takes
``--task-time`` seconds per image (``task_time``; a sync request waits that long, an async task
answers ``processing`` until then) and ``--rtt`` seconds per API request (``latency``).
storyframe draws through the real image chain and provider (``ImageChain`` ->
``RunwareImageProvider``), images are not downloaded (``download = false``: this measures the
task path, not the image host).

Ideal: ``ceil(images / concurrency) * task_time`` for sync; async adds one poll round (the first
poll, ``poll_interval``, made before anything is known about how long tasks take).

The "original design" row is a small plain-aiohttp client against the same look-alike: every
batch at once (an unbounded gather), each task polled on its own, first after 2 s, then
x1.1. It ignores the concurrency, so its ratio is only a point of comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import math
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from storyframe.image_chain import ImageChain
from storyframe.models import ImageRequest
from storyframe.registry import Slot
from storyframe.styles import BUILTIN_STYLES
from storyframe_runware.config import RunwareConfig
from storyframe_runware.provider import RunwareImageProvider

REPO = Path(__file__).resolve().parents[1]
KEY = "bench-key"


def load_emulator() -> Any:
    path = REPO / "tests" / "runware" / "emulator.py"
    spec = importlib.util.spec_from_file_location("runware_emulator", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def requests(count: int) -> list[ImageRequest]:
    style = BUILTIN_STYLES[0]
    return [
        ImageRequest(
            scene_number=n,
            prompt=f"scene {n}: a red fox in the snow",
            width=512,
            height=512,
            seed=n,
            style=style,
        )
        for n in range(1, count + 1)
    ]


async def storyframe_run(base_url: str, args: argparse.Namespace, delivery: str) -> float:
    config = RunwareConfig(
        base_url=base_url,
        delivery=delivery,  # type: ignore[arg-type]
        batch_size=args.batch,
        download=False,
        allowed_download_hosts=["127.0.0.1"],
        poll_interval=args.poll_interval,
        check_content=False,
    )
    slot: Slot[Any] = Slot(
        name="runware",
        cls=RunwareImageProvider,
        config=config,
        key=SecretStr(KEY),
        key_source="bench",
    )
    chain = ImageChain([slot])
    try:
        started = time.perf_counter()
        outcomes = await chain.generate(requests(args.images), concurrency=args.concurrency)
        elapsed = time.perf_counter() - started
    finally:
        for provider in chain.providers:
            await provider.aclose()
    failed = [o for o in outcomes if o.image is None]
    if failed:
        raise SystemExit(f"{len(failed)} images failed: {failed[0].error}")
    return elapsed


async def original_run(base_url: str, args: argparse.Namespace, delivery: str) -> float:
    """The original design: gather every batch at once; poll each task alone, 2 s then x1.1."""
    headers = {"Authorization": f"Bearer {KEY}"}

    def task(n: int) -> dict[str, Any]:
        return {
            "taskType": "imageInference",
            "taskUUID": str(uuid.uuid4()),
            "model": "runware:101@1",
            "positivePrompt": f"scene {n}: a red fox in the snow",
            "width": 512,
            "height": 512,
            "seed": n,
            "numberResults": 1,
            "outputType": "URL",
            "outputFormat": "JPG",
            "deliveryMethod": delivery,
        }

    async with aiohttp.ClientSession(headers=headers) as session:

        async def post(body: list[dict[str, Any]]) -> dict[str, Any]:
            async with session.post(base_url, json=body) as response:
                result: dict[str, Any] = await response.json()
                return result

        async def poll(task_uuid: str) -> None:
            delay = 2.0
            while True:
                await asyncio.sleep(delay)
                delay *= 1.1
                body = await post([{"taskType": "getResponse", "taskUUID": task_uuid}])
                items = [i for i in body.get("data", []) if i.get("taskUUID") == task_uuid]
                if items and items[0].get("status") == "success":
                    return

        async def batch(numbers: range) -> None:
            tasks = [task(n) for n in numbers]
            body = await post(tasks)
            if delivery == "sync":
                assert len(body.get("data", [])) == len(tasks), body
                return
            await asyncio.gather(*(poll(t["taskUUID"]) for t in tasks))

        started = time.perf_counter()
        await asyncio.gather(
            *(
                batch(range(i, min(i + args.batch, args.images + 1)))
                for i in range(1, args.images + 1, args.batch)
            )
        )
        return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--task-time", type=float, default=0.2)
    parser.add_argument("--rtt", type=float, default=0.0, help="latency of every API request")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--poll-interval", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-original", action="store_true")
    args = parser.parse_args()
    emu = load_emulator()
    rounds = math.ceil(args.images / args.concurrency)
    print(
        f"{args.images} images, task time {args.task_time:g} s, rtt {args.rtt:g} s, "
        f"concurrency {args.concurrency}, batch {args.batch}, "
        f"poll_interval {args.poll_interval:g} s"
    )
    print(f"{'run':<28}{'wall s':>8}{'ideal s':>9}{'ratio':>7}{'poll requests':>15}")
    runners = [("storyframe", storyframe_run)]
    if not args.skip_original:
        runners.append(("original design", original_run))
    for label, runner in runners:
        for delivery in ("sync", "async"):
            ideal = rounds * (args.task_time + args.rtt)
            if delivery == "async":  # an ACK and a poll per round, and the first poll round
                ideal += rounds * args.rtt + args.poll_interval
            times = []
            polls = []
            for _ in range(args.repeat):
                server = emu.Emulator(api_key=KEY, task_time=args.task_time, latency=args.rtt)
                base_url = await server.start()
                try:
                    times.append(await runner(base_url, args, delivery))
                finally:
                    await server.stop()
                polls.append(
                    sum(
                        1
                        for body in server.bodies
                        if any(t.get("taskType") == "getResponse" for t in body)
                    )
                )
            wall = statistics.median(times)
            name = f"{label} {delivery}"
            print(
                f"{name:<28}{wall:>8.2f}{ideal:>9.2f}{wall / ideal:>6.2f}x"
                f"{statistics.median(polls):>15g}"
            )


if __name__ == "__main__":
    asyncio.run(main())
