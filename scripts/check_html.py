#!/usr/bin/env python3
"""Screenshot a project's storyboard page in headless Chromium, at desktop and phone widths.

Usage::

    python scripts/check_html.py out/golden-bird            # writes the PNGs into the project
    python scripts/check_html.py out/golden-bird --out /tmp/shots --full

It opens ``PROJECT/index.html`` from ``file://`` (as a user would), with a fresh throw-away
browser profile and background networking switched off, and writes

- ``screenshot-desktop.png`` (1280 px wide, window 1280x900), and
- ``screenshot-phone.png``   (390 px wide, window 390x844),

into the project folder or ``--out``. ``--full`` makes the windows tall enough to show the
whole page instead of the first screenful. Look at them: the page should have 2-3 columns of
cards on the desktop, one on the phone, and no horizontal scrolling.

Exit codes: 0 both screenshots written; 1 Chromium failed or wrote no valid PNG;
2 bad arguments (no ``index.html``); 3 no ``chromium`` / ``chromium-browser`` on PATH.

Only the standard library is used, so it runs with any Python 3.11+.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def find_chromium() -> str | None:
    """The path of a Chromium-like browser on PATH, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of a PNG file, or None if it is not one."""
    try:
        head = path.read_bytes()[:24]
    except OSError:
        return None
    if len(head) < 24 or not head.startswith(PNG_MAGIC) or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def screenshot(
    browser: str, page: Path, target: Path, width: int, height: int, timeout: float
) -> None:
    """Have Chromium render ``page`` in a ``width`` x ``height`` window into ``target``."""
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="storyframe-chromium-") as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--virtual-time-budget=5000",  # let images load before the shot
            f"--window-size={width},{height}",
            f"--screenshot={target}",
            page.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise RuntimeError(f"Chromium took longer than {timeout:.0f} s") from error
    size = png_size(target)
    if done.returncode != 0 or size is None:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(
            f"Chromium exited with {done.returncode} and wrote "
            f"{'no valid PNG' if size is None else 'a PNG'}: " + " | ".join(detail)
        )
    if size[0] != width:
        raise RuntimeError(f"{target.name} is {size[0]} px wide, expected {width}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, take the screenshots, report; returns the exit code."""
    parser = argparse.ArgumentParser(
        description="Screenshot PROJECT/index.html in headless Chromium (desktop and phone).",
    )
    parser.add_argument("project", type=Path, help="the project folder (holds index.html)")
    parser.add_argument("--out", type=Path, help="where to write the PNGs (default: PROJECT)")
    parser.add_argument(
        "--full", action="store_true", help="tall windows: capture the whole page, not one screen"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per screenshot")
    args = parser.parse_args(argv)

    page = args.project / "index.html"
    if not page.is_file():
        print(f"error: {page} does not exist (run `storyframe render` first)", file=sys.stderr)
        return 2
    browser = find_chromium()
    if browser is None:
        print("error: no chromium or chromium-browser on PATH", file=sys.stderr)
        return 3
    out = args.out or args.project
    out.mkdir(parents=True, exist_ok=True)

    for label, (width, height) in VIEWPORTS.items():
        if args.full:
            height = 6000 if label == "desktop" else 12000
        target = out / f"screenshot-{label}.png"
        try:
            screenshot(browser, page, target, width, height, args.timeout)
        except (OSError, RuntimeError) as error:
            print(f"error: {label} screenshot failed: {error}", file=sys.stderr)
            return 1
        print(f"{label}: {target} ({width}x{height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
