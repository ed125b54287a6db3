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

``--probe`` measures the layout instead, and prints it as JSON: at each width, where the first
scene starts, how many columns the scenes take (also in the compact panel view), whether
the page scrolls sideways, and the first scene with several images: its thumbnails and the
chosen image shown large. It loads the page in an ``<iframe>`` of the exact width inside a
throw-away probe page (``--dump-dom`` ignores ``--window-size`` below 500 px), so the page itself
carries no script. It fails (exit 1) when, on the phone, the first scene starts below the first
screen, or when the page is wider than the window.

Exit codes: 0 screenshots written (or the layout passed); 1 Chromium failed, wrote no valid PNG,
or the layout failed; 2 bad arguments (no ``index.html``); 3 no ``chromium`` /
``chromium-browser`` on PATH.

Only the standard library is used, so it runs with any Python 3.11+.
"""

from __future__ import annotations

import argparse
import html
import json
import re
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


def _headless(browser: str, profile: str) -> list[str]:
    """A private, offline, headless Chromium command line."""
    return [
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
    ]


PROBE_PAGE = """<!doctype html><html><body>
<iframe id="page" src="{src}" style="width:{width}px;height:{height}px;border:0"></iframe>
<script>
addEventListener("load", () => {{
  const win = document.getElementById("page").contentWindow, doc = win.document;
  const columns = () => new Set(
    [...doc.querySelectorAll(".scene")].map(s => Math.round(s.getBoundingClientRect().left))
  ).size;
  const first = doc.querySelector(".scene");
  const result = {{
    viewport: [win.innerWidth, win.innerHeight],
    scroll_width: doc.documentElement.scrollWidth,
    first_scene_top: first ? Math.round(first.getBoundingClientRect().top + win.scrollY) : null,
    columns: columns(),
  }};
  const takes = doc.querySelector(".takes");
  if (takes) {{
    const main = takes.closest(".frame").querySelector(":scope > img");
    const chosen = takes.querySelector(".take--chosen img");
    result.takes = {{
      thumbs: takes.querySelectorAll(".take img").length,
      thumb_width: Math.round(takes.querySelector(".take img").getBoundingClientRect().width),
      main_width: Math.round(main.getBoundingClientRect().width),
      main_src: main.getAttribute("src"),
      chosen_src: chosen ? chosen.getAttribute("src") : null,
    }};
  }}
  const toggle = doc.getElementById("compact");
  if (toggle) {{ toggle.checked = true; result.compact_columns = columns(); }}
  if (takes) {{ result.takes.compact_height = Math.round(takes.getBoundingClientRect().height); }}
  document.body.setAttribute("data-probe", JSON.stringify(result));
}});
</script></body></html>
"""


def probe(browser: str, page: Path, width: int, height: int, timeout: float) -> dict[str, object]:
    """Lay ``page`` out at ``width`` x ``height`` in Chromium and measure it (see the docstring)."""
    with tempfile.TemporaryDirectory(prefix="storyframe-probe-") as folder:
        probe_page = Path(folder) / "probe.html"
        source = PROBE_PAGE.format(src=page.resolve().as_uri(), width=width, height=height)
        probe_page.write_text(source, encoding="utf-8")
        command = [
            *_headless(browser, str(Path(folder) / "profile")),
            "--allow-file-access-from-files",  # the probe reads the framed page's layout
            "--virtual-time-budget=5000",
            "--dump-dom",
            probe_page.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise RuntimeError(f"Chromium took longer than {timeout:.0f} s") from error
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    if done.returncode != 0 or found is None:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(
            f"Chromium exited with {done.returncode}, no probe: " + " | ".join(detail)
        )
    result: dict[str, object] = json.loads(html.unescape(found.group(1)))
    return result


def layout_problems(label: str, width: int, height: int, result: dict[str, object]) -> list[str]:
    """What is wrong with a probe ``result``; empty when the layout is fine."""
    problems = []
    scroll_width = result.get("scroll_width")
    if isinstance(scroll_width, int) and scroll_width > width:
        problems.append(f"{label}: the page is {scroll_width} px wide in a {width} px window")
    top = result.get("first_scene_top")
    if label == "phone" and isinstance(top, int) and top > height:
        problems.append(f"{label}: the first scene starts at {top} px, below the first screen")
    return problems


def screenshot(
    browser: str, page: Path, target: Path, width: int, height: int, timeout: float
) -> None:
    """Have Chromium render ``page`` in a ``width`` x ``height`` window into ``target``."""
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="storyframe-chromium-") as profile:
        command = [
            *_headless(browser, profile),
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
    parser.add_argument(
        "--probe", action="store_true", help="measure the layout and print it as JSON instead"
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
    if args.probe:
        results, problems = {}, []
        for label, (width, height) in VIEWPORTS.items():
            try:
                results[label] = probe(browser, page, width, height, args.timeout)
            except (OSError, RuntimeError) as error:
                print(f"error: {label} probe failed: {error}", file=sys.stderr)
                return 1
            problems += layout_problems(label, width, height, results[label])
        print(json.dumps(results, indent=2))
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1 if problems else 0
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
