"""Docs that cannot drift: the generated parts of docs/cli.md and docs/configuration.md."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GENERATED = ["docs/cli.md", "docs/configuration.md"]


def cog_check(*files: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", *map(str, files)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
        check=False,
    )


def test_generated_docs_are_up_to_date() -> None:
    """Fails when a command's help or a config field changed: run `cog -r docs/*.md`."""
    result = cog_check(*GENERATED)
    assert result.returncode == 0, (
        "docs are out of date; regenerate with: cog -r docs/cli.md docs/configuration.md\n"
        + result.stdout
        + result.stderr
    )


def test_the_check_catches_an_edited_reference(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(REPO / "docs" / "docgen.py", docs)
    for name in GENERATED:
        text = (REPO / name).read_text()
        edited = text.replace("Images drawn at once.", "Pictures drawn at once.")
        assert edited != text, f"{name} has no generated help to edit"
        (tmp_path / name).write_text(edited)
        result = cog_check(name, cwd=tmp_path)
        assert result.returncode != 0
        assert "changed" in result.stdout + result.stderr


def test_references_cover_every_command_and_provider() -> None:
    import click

    from storyframe.cli import cli
    from storyframe.plugins import get_host

    cli_md = (REPO / "docs" / "cli.md").read_text()
    for name in cli.list_commands(click.Context(cli)):
        assert f"### `storyframe {name}`" in cli_md, name
    for sub in ("keys set", "keys list", "keys path", "keys remove", "config show"):
        assert f"### `storyframe {sub}`" in cli_md, sub
    config_md = (REPO / "docs" / "configuration.md").read_text()
    host = get_host()
    for name in [*host.text_providers, *host.image_providers]:
        assert f"### `[providers.{name}]`" in config_md, name
