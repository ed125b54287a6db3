"""What a command did (:class:`Summary`), for its final line and ``--json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storyframe.drawing import fallback_line
from storyframe.models import Fallback

if TYPE_CHECKING:
    from storyframe.sheets import SheetResult


@dataclass
class Summary:
    """What a command did, for the final message and ``--json``."""

    project: Path
    total: int = 0
    done: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    unapproved: list[int] = field(default_factory=list)
    text_provider: str | None = None
    text_fallback: Fallback | None = None
    image_providers: dict[int, str] = field(default_factory=dict)
    image_fallbacks: dict[int, Fallback] = field(default_factory=dict)
    cost: float = 0.0
    text_cost: float = 0.0
    """The part of ``cost`` spent on text (analysis and scenes)."""
    notes: list[str] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    """Scenes left to draw because ``--max-cost`` would not cover them."""
    spent: float | None = None
    """What this command spent (``None``: part of it unknown)."""
    costs: dict[str, Any] = field(default_factory=dict)
    """The project's cost and time per stage (:func:`storyframe.cost.cost_dict`)."""
    cost_text: str = ""
    """The same in words, for the final line."""
    sheets: SheetResult | None = None
    """What the sheet stage did, when references were on."""

    @property
    def ok(self) -> bool:
        """Whether every scene asked for was drawn."""
        return not self.failed

    @property
    def degraded(self) -> bool:
        """Whether a fallback did work that a preferred provider failed to do."""
        sheets = self.sheets is not None and bool(self.sheets.fallbacks)
        return bool(self.image_fallbacks) or self.text_fallback is not None or sheets

    def fallbacks(self) -> list[dict[str, Any]]:
        """Each piece of work a fallback did, for ``--json``."""
        rows: list[dict[str, Any]] = []
        if self.text_fallback is not None:
            rows.append({"stage": "text", "scene": None, **self.text_fallback.model_dump()})
        for number, fallback in sorted(self.image_fallbacks.items()):
            rows.append({"stage": "image", "scene": number, **fallback.model_dump()})
        for name, fallback in (self.sheets.fallbacks if self.sheets else {}).items():
            rows.append(
                {"stage": "sheet", "scene": None, "character": name, **fallback.model_dump()}
            )
        return rows

    def degradation(self) -> str:
        """The fallbacks in words ("" when there were none)."""
        parts = []
        if self.text_fallback is not None:
            fb = self.text_fallback
            parts.append(f"scenes written by {fb.provider} after {fb.after} failed: {fb.reason}")
        if self.image_fallbacks:
            parts.append(fallback_line(self.image_fallbacks))
        for name, fb in (self.sheets.fallbacks if self.sheets else {}).items():
            parts.append(f"sheet of {name} by {fb.provider} after {fb.after} failed: {fb.reason}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "ok": self.ok,
            "degraded": self.degraded,
            "project": str(self.project),
            "manifest": str(self.project / "storyboard.json"),
            "html": str(self.project / "index.html"),
            "scenes": self.total,
            "done": sorted(self.done + self.kept),
            "drawn": sorted(self.done),
            "kept": sorted(self.kept),
            "recovered": sorted(self.recovered),
            "failed": {str(k): v for k, v in sorted(self.failed.items())},
            "unapproved": self.unapproved,
            "fallbacks": self.fallbacks(),
            "text_provider": self.text_provider,
            "image_providers": {str(k): v for k, v in sorted(self.image_providers.items())},
            "cost": self.cost,
            "text_cost": self.text_cost,
            "costs": self.costs,
            "spent": self.spent,
            "held": sorted(self.held),
            "sheets": None
            if self.sheets is None
            else {
                "drawn": self.sheets.done,
                "kept": self.sheets.kept,
                "recovered": self.sheets.recovered,
                "failed": self.sheets.failed,
                "held": self.sheets.held,
            },
            "notes": self.notes,
        }


__all__ = ["Summary"]
