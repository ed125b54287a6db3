"""Helpers for the reference-sheet runs against the Runware look-alike (FLUX.1 Kontext)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from storyframe.cli import cli
from tests.runware.emulator import Emulator

TALE = Path(__file__).with_name("lantern.txt")
"""Three main characters (Mara, Tobin, Old Wen) in eight scenes, by the heuristic analysis."""
KEY = "rw-e2e-references-key-41c7"
KONTEXT = "runware:106@1"


def write_config(
    folder: Path, rw: Emulator, *, references: bool, chain: str = '["runware"]'
) -> Path:
    """Heuristic text, Runware Kontext images (async delivery), ``sheets = 3``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "storyframe.toml"
    config.write_text(
        '[text]\nproviders = ["heuristic"]\n'
        f"[image]\nproviders = {chain}\nreferences = {str(references).lower()}\nsheets = 3\n"
        f'[providers.runware]\nbase_url = "{rw.base_url}"\nmodel = "{KONTEXT}"\n'
        'output_format = "PNG"\nallowed_download_hosts = ["127.0.0.1"]\n'
        "poll_interval = 0.01\npoll_max_interval = 0.05\nbackoff_base = 0.01\n"
        "poll_timeout = 60\n"
    )
    return config


def invoke(config: Path, *args: str | Path) -> Result:
    """``storyframe --config CONFIG ARGS...`` in this process."""
    argv = ["--config", str(config), *(str(a) for a in args)]
    return CliRunner().invoke(cli, argv, catch_exceptions=False)


def tasks_of(rw: Emulator, since: int = 0) -> list[dict[str, Any]]:
    """Every task the look-alike received (from request ``since`` on), polls included."""
    return [t for body in rw.bodies[since:] if isinstance(body, list) for t in body]


def inferences(rw: Emulator, since: int = 0) -> list[dict[str, Any]]:
    """The imageInference tasks received (from request ``since`` on)."""
    return [t for t in tasks_of(rw, since) if t["taskType"] == "imageInference"]
