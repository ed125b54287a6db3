"""Start-up benchmark: the light commands against ``python -c "import click"``, as ratios.

    python bench/bench_startup.py [-n 30] [--plugins storyframe]

Runs ``storyframe --help``, ``plugins``, ``providers`` and ``styles`` and the click baseline as
subprocesses of the same Python, interleaved (one of each per round, so drift on a shared
machine hits all of them alike) and in the same environment. Prints the median wall and CPU
time of each, and each command's ratio to the baseline against the target. ``--plugins`` sets
``STORYFRAME_LOAD_PLUGINS`` for every run (default: the environment's own setting, so every
installed plugin loads).

The listings answer from the plugin cache (written by the warm-up run); the same listing with
``STORYFRAME_NO_CACHE=1``, which loads every plugin, is printed for reference. Bytecode caching
is on for every run (``PYTHONDONTWRITEBYTECODE`` is removed from the environment), as in a
normal install.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

TARGET = 2.5
BASELINE = ("click", [sys.executable, "-c", "import click"])
COMMANDS = [
    ("--help", [sys.executable, "-m", "storyframe", "--help"]),
    ("plugins", [sys.executable, "-m", "storyframe", "plugins"]),
    ("providers", [sys.executable, "-m", "storyframe", "providers"]),
    ("styles", [sys.executable, "-m", "storyframe", "styles"]),
]
# Not targets: the import every command that reads the configuration pays (pydantic), and a
# listing that loads every plugin (no cache), for reading the ratios above against.
NO_CACHE = "(providers, no cache)"
REFERENCES = [
    ("(import pydantic)", [sys.executable, "-c", "import click, pydantic.main"]),
    (NO_CACHE, [sys.executable, "-m", "storyframe", "providers"]),
]
EXTRA_ENV = {NO_CACHE: {"STORYFRAME_NO_CACHE": "1"}}


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run."""
    cpu = _child_cpu()
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[1:])} failed ({done.returncode}): {done.stderr.decode()}")
    return took, _child_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--rounds", type=int, default=30, help="runs of each (default 30)")
    parser.add_argument("--plugins", help="STORYFRAME_LOAD_PLUGINS for every run")
    args = parser.parse_args()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("STORYFRAME_NO_CACHE", None)
    if args.plugins is not None:
        env["STORYFRAME_LOAD_PLUGINS"] = args.plugins
    jobs = [BASELINE, *COMMANDS, *REFERENCES]
    for name, argv in jobs:  # warm the file and plugin caches once; not counted
        run_once(argv, {**env, **EXTRA_ENV.get(name, {})})
    wall: dict[str, list[float]] = {name: [] for name, _ in jobs}
    cpu: dict[str, list[float]] = {name: [] for name, _ in jobs}
    for _ in range(args.rounds):
        for name, argv in jobs:
            took, used = run_once(argv, {**env, **EXTRA_ENV.get(name, {})})
            wall[name].append(took)
            cpu[name].append(used)
    plugins = env.get("STORYFRAME_LOAD_PLUGINS", "(all installed)")
    print(
        f"rounds: {args.rounds}, STORYFRAME_LOAD_PLUGINS={plugins}, python {sys.version.split()[0]}"
    )
    for label, times in (("wall time", wall), ("CPU time (user + system)", cpu)):
        click_median = statistics.median(times["click"])
        print(f"\n{label}, medians")
        print(f"{'command':<24}{'storyframe':>12}{'click':>10}{'ratio':>8}{'target':>8}")
        references = [name for name, _ in REFERENCES]
        for name, _ in [*COMMANDS, *REFERENCES]:
            median = statistics.median(times[name])
            ratio = median / click_median
            label = name if name in references else f"storyframe {name}"
            if name in references:
                target, verdict = "-", ""
            else:
                target, verdict = f"{TARGET:.1f}x", "ok" if ratio <= TARGET else "OVER"
            print(
                f"{label:<24}{median * 1000:>10.1f}ms{click_median * 1000:>8.1f}ms"
                f"{ratio:>7.2f}x{target:>8}  {verdict}".rstrip()
            )


if __name__ == "__main__":
    main()
