"""A plain aiohttp client doing the image work of a storyframe run: the baseline it is held to.

POSTs Runware ``imageInference`` batches (sync delivery), ``concurrency`` batches at a time,
downloads each ``imageURL`` and writes the bytes to a file. No checks, journal or manifest.

    python bench/plain_image_client.py BASE_URL KEY COUNT BATCH CONCURRENCY OUT_DIR
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import aiohttp


async def main(
    base_url: str, key: str, count: int, batch: int, concurrency: int, out: Path
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as session:

        async def one_batch(first: int) -> None:
            tasks = [
                {
                    "taskType": "imageInference",
                    "taskUUID": str(uuid.uuid4()),
                    "model": "runware:101@1",
                    "positivePrompt": f"scene {n}, a castle on a hill at dusk",
                    "width": 1024,
                    "height": 576,
                    "seed": n,
                    "numberResults": 1,
                    "outputType": "URL",
                    "outputFormat": "JPG",
                    "includeCost": True,
                    "deliveryMethod": "sync",
                }
                for n in range(first, min(first + batch, count))
            ]
            async with limit:
                async with session.post(base_url, json=tasks, headers=headers) as response:
                    body = await response.json()
                for item in body["data"]:
                    async with session.get(item["imageURL"]) as image:
                        data = await image.read()
                    (out / f"{item['taskUUID']}.jpg").write_bytes(data)

        await asyncio.gather(*(one_batch(i) for i in range(0, count, batch)))


if __name__ == "__main__":
    url, key, count, batch, concurrency, out = sys.argv[1:7]
    Path(out).mkdir(parents=True, exist_ok=True)
    asyncio.run(main(url, key, int(count), int(batch), int(concurrency), Path(out)))
