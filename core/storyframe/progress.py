"""Progress reporting: a rich bar per stage on a terminal, plain lines otherwise, or silence."""

from __future__ import annotations

import sys
from typing import Any, TextIO


class Reporter:
    """Plain-line reporter (the one used when stderr is not a terminal)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._totals: dict[str, int] = {}
        self._done: dict[str, int] = {}

    def stage(self, name: str, total: int) -> None:
        """Start a stage of ``total`` steps."""
        self._totals[name], self._done[name] = total, 0
        self._line(f"{name}: 0/{total}")

    def advance(self, name: str, detail: str = "") -> None:
        """One step of a stage is done."""
        self._done[name] = self._done.get(name, 0) + 1
        total = self._totals.get(name, 0)
        self._line(f"{name}: {self._done[name]}/{total}" + (f" {detail}" if detail else ""))

    def note(self, message: str) -> None:
        """A one-line note (fallbacks, skipped providers, shortfalls)."""
        self._line(f"note: {message}")

    def close(self) -> None:
        """Finish all stages."""

    def _line(self, text: str) -> None:
        print(f"storyframe: {text}", file=self.stream, flush=True)


class QuietReporter(Reporter):
    """Prints nothing."""

    def _line(self, text: str) -> None:
        pass


class RichReporter(Reporter):
    """One rich progress bar per stage, notes printed above the bars."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._console = Console(file=self.stream)
        self._progress = Progress(
            TextColumn("[bold]{task.description:<8}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}"),
            console=self._console,
            transient=False,
        )
        self._tasks: dict[str, Any] = {}
        self._progress.start()

    def stage(self, name: str, total: int) -> None:
        self._tasks[name] = self._progress.add_task(name, total=total, detail="")

    def advance(self, name: str, detail: str = "") -> None:
        task = self._tasks.get(name)
        if task is not None:
            self._progress.update(task, advance=1, detail=detail)

    def note(self, message: str) -> None:
        from rich.text import Text

        self._console.print(Text.assemble(("note: ", "yellow"), message), highlight=False)

    def close(self) -> None:
        self._progress.stop()


def make_reporter(*, quiet: bool = False, stream: TextIO | None = None) -> Reporter:
    """The right reporter for the situation: silent, rich on a terminal, plain otherwise."""
    stream = stream or sys.stderr
    if quiet:
        return QuietReporter(stream)
    if stream.isatty():
        return RichReporter(stream)
    return Reporter(stream)
