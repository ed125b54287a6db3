#!/usr/bin/env python3
"""Run a story with character reference sheets against the Runware look-alike; print its log.

Usage::

    python scripts/reference_log.py                 # the bundled three-character tale
    python scripts/reference_log.py STORY -n 8 --keep out/refs

It starts the Runware look-alike (``tests/runware/emulator.py``) on 127.0.0.1, then runs
``storyframe run STORY --references`` twice in a subprocess, with the offline heuristic text
provider and Runware's FLUX.1 Kontext (``runware:106@1``, two ``referenceImages`` a task),
``[image] sheets = 3`` and sync delivery. After each run it prints what the look-alike received,
one line per task::

    #  task            taskUUID  draws         referenceImages (imageUUID prefix = sheet)

an ``imageUpload`` line names the sheet it uploads and the ``imageUUID`` Runware gave it. The
second run is the same command again: its log should be empty (nothing uploaded, nothing
bought). No network: everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TALE = REPO / "tests" / "characters" / "lantern.txt"
KEY = "rw-reference-log-key"
KONTEXT = "runware:106@1"

sys.path.insert(0, str(REPO))

from tests.runware.emulator import Emulator, serve_in_thread  # noqa: E402


def write_config(folder: Path, base_url: str) -> Path:
    """A config: heuristic text, Runware Kontext images, references on, three sheets."""
    config = folder / "storyframe.toml"
    config.write_text(
        '[text]\nproviders = ["heuristic"]\n'
        '[image]\nproviders = ["runware"]\nreferences = true\nsheets = 3\n'
        f'[providers.runware]\nbase_url = "{base_url}"\nmodel = "{KONTEXT}"\n'
        'delivery = "sync"\noutput_format = "PNG"\nallowed_download_hosts = ["127.0.0.1"]\n'
        "max_attempts = 2\nbackoff_base = 0.01\nbackoff_max = 0.02\n"
    )
    return config


def run_command(config: Path, story: Path, out: Path, scenes: int) -> list[str]:
    """The ``storyframe run`` command line of the scenario."""
    return [
        sys.executable, "-m", "storyframe", "--config", str(config),
        "run", str(story), "-n", str(scenes), "-o", str(out), "--references", "--json",
    ]  # fmt: skip


def short(value: str) -> str:
    """The first 8 characters of an id."""
    return value[:8]


def condensed(tasks: list[dict[str, Any]], manifest: dict[str, Any], emulator: Any) -> list[str]:
    """One line per task the look-alike received: type, taskUUID, what it draws, references."""
    drawn: dict[str, str] = {}
    for record in manifest["scenes"]:
        if record.get("task_id"):
            drawn[record["task_id"]] = f"scene {record['scene']['number']}"
    sheet_of: dict[str, str] = {}  # imageUUID of an upload -> the sheet's name
    sheet_bytes: dict[bytes, str] = {}
    for sheet in manifest["sheets"]:
        if sheet.get("task_id"):
            drawn[sheet["task_id"]] = f"sheet {sheet['name']}"
        for image_uuid in sheet.get("uploads", {}).values():
            sheet_of[image_uuid] = sheet["name"]
    for image_uuid, (_, data) in emulator.uploads.items():
        if data is not None and image_uuid in sheet_of:
            sheet_bytes[data] = image_uuid
    lines = []
    for number, task in enumerate(tasks, 1):
        kind = str(task.get("taskType"))
        task_uuid = str(task.get("taskUUID", ""))
        if kind == "imageUpload":
            data = base64.b64decode(str(task.get("image", "")).split(",", 1)[-1])
            image_uuid = sheet_bytes.get(data, "")
            what = f"sheet {sheet_of.get(image_uuid, '?')}"
            tail = f"-> imageUUID {short(image_uuid) or '?'}"
        else:
            what = drawn.get(task_uuid, "?")
            refs = task.get("referenceImages") or []
            tail = "refs [" + ", ".join(f"{short(r)}={sheet_of.get(r, '?')}" for r in refs) + "]"
        lines.append(f"{number:>2} {kind:<15} {short(task_uuid)}  {what:<14} {tail}")
    return lines


def received(emulator: Any, start: int) -> list[dict[str, Any]]:
    """The tasks of the API requests received since request ``start`` (polls included)."""
    return [t for body in emulator.bodies[start:] if isinstance(body, list) for t in body]


def main(argv: list[str] | None = None) -> int:
    """Run the scenario and print both runs' logs; 1 if a run failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("story", nargs="?", type=Path, default=TALE)
    parser.add_argument("-n", "--scenes", type=int, default=8)
    parser.add_argument("--keep", type=Path, help="Write the project here (default: a temp dir).")
    args = parser.parse_args(argv)
    emulator = Emulator(api_key=KEY, image_scale=16)
    env = {**os.environ, "RUNWARE_API_KEY": KEY, "STORYFRAME_LOAD_PLUGINS": "storyframe"}
    with tempfile.TemporaryDirectory() as tmp, serve_in_thread(emulator) as base_url:
        folder = Path(tmp)
        out = args.keep or folder / "project"
        command = run_command(write_config(folder, base_url), args.story, out, args.scenes)
        for label in ("first run", "the same command again"):
            start = len(emulator.bodies)
            result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
            manifest = json.loads((out / "storyboard.json").read_text())
            lines = condensed(received(emulator, start), manifest, emulator)
            print(f"# {label}: exit {result.returncode}, {len(lines)} request(s)")
            print("\n".join(lines) if lines else "   (nothing sent)")
            if result.returncode != 0:
                print(result.stderr, file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
