"""Cost before and after: estimates, the plan of a dry run, budgets and the per-stage totals.

- Providers estimate their work with ``TextProvider.estimate`` and ``ImageProvider.estimate``
  (a :class:`CostEstimate`, or ``None`` when the price is unknown);
- :func:`plan_run` turns those into the plan ``--dry-run`` prints, without a paid call;
- :class:`Budget` (``--max-cost``) admits image requests while the spend so far plus their
  estimate stays within the limit; the rest stay to draw, with the reason :data:`BUDGET_REASON`;
- :func:`stage_costs` sums what each stage cost and took, for the manifest and the summary.

An unknown figure is never 0: it is ``None`` and shown as "unknown".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from storyframe.errors import ProviderError
from storyframe.models import StageCost, Storyboard
from storyframe.takes import scene_spend

if TYPE_CHECKING:
    from storyframe.models import ImageRequest
    from storyframe.providers import ImageProvider

BUDGET_REASON = "budget reached"
"""The error a scene left undrawn by ``--max-cost`` carries (it is drawn by the next run)."""


class CostEstimate(BaseModel):
    """What a piece of work will probably cost (USD) and take (seconds), as ranges."""

    model_config = ConfigDict(extra="forbid")

    low: float = Field(ge=0)
    high: float = Field(ge=0)
    requests: int = Field(default=1, ge=0)
    seconds_low: float = Field(default=0.0, ge=0)
    seconds_high: float = Field(default=0.0, ge=0)
    basis: str = ""
    """Where the price comes from: "free", "configured price", "GET /models", ..."""
    detail: str = ""

    @property
    def expected(self) -> float:
        """The middle of the range."""
        return (self.low + self.high) / 2

    def __add__(self, other: CostEstimate) -> CostEstimate:
        return CostEstimate(
            low=self.low + other.low,
            high=self.high + other.high,
            requests=self.requests + other.requests,
            seconds_low=self.seconds_low + other.seconds_low,
            seconds_high=self.seconds_high + other.seconds_high,
            basis=self.basis if self.basis == other.basis else "mixed",
            detail=self.detail or other.detail,
        )


def free(requests: int = 1, seconds: float = 0.0) -> CostEstimate:
    """The estimate of work done on this machine: no charge."""
    return CostEstimate(
        low=0, high=0, requests=requests, seconds_low=seconds, seconds_high=seconds, basis="free"
    )


class BudgetExceeded(ProviderError):
    """Paid work was not started because it would pass ``--max-cost`` (exit 6)."""

    exit_code = 6  # storyframe.cli.base.EXIT_BUDGET


def usd(value: float | None) -> str:
    """``$0.0123`` or ``unknown``."""
    return "unknown" if value is None else f"${value:.4f}"


def usd_range(low: float | None, high: float | None) -> str:
    """``$0.0100-0.0150``, ``$0.0100`` when both ends agree, or ``unknown``."""
    if low is None or high is None:
        return "unknown"
    if math.isclose(low, high, rel_tol=1e-9, abs_tol=5e-5):
        return usd(high)
    return f"${low:.4f}-{high:.4f}"


def seconds_range(low: float, high: float) -> str:
    """``about 10-40 s`` (or minutes)."""

    def one(value: float) -> str:
        return f"{value:.0f}" if high < 120 else f"{value / 60:.1f}"

    unit = "s" if high < 120 else "min"
    if round(low) == round(high):
        return f"about {one(high)} {unit}"
    return f"about {one(low)}-{one(high)} {unit}"


# Budget ------------------------------------------------------------------------------------


@dataclass
class Budget:
    """``--max-cost``: how much this command may spend, and what it spent and reserved."""

    limit: float
    spent: float = 0.0
    reserved: dict[int, float] = field(default_factory=dict)
    refused: list[int] = field(default_factory=list)
    unpriced: list[int] = field(default_factory=list)

    @property
    def committed(self) -> float:
        """Spent plus reserved for work under way."""
        return self.spent + sum(self.reserved.values())

    def left(self) -> float:
        """What may still be spent."""
        return max(0.0, self.limit - self.committed)

    def admit(self, scene: int, estimate: CostEstimate | None) -> bool:
        """Reserve the high end of ``estimate`` for ``scene`` if it fits; ``False`` if not.

        Work of unknown price is refused: the budget could not be kept.
        """
        if scene in self.reserved:
            return True
        if estimate is None:
            self.unpriced.append(scene)
            self.refused.append(scene)
            return False
        if self.committed + estimate.high > self.limit + 1e-12:
            self.refused.append(scene)
            return False
        self.reserved[scene] = estimate.high
        return True

    def check(self, provider: str, scenes: Iterable[int]) -> None:
        """Raise :class:`BudgetExceeded` if a request for one of ``scenes`` was not admitted."""
        stray = [n for n in scenes if n not in self.reserved]
        if stray:
            raise BudgetExceeded(
                f"scene(s) {', '.join(map(str, stray))} were not admitted by the budget",
                provider=provider,
                code="budget",
            )

    def settle(self, scene: int, cost: float | None) -> None:
        """Replace the reservation of ``scene`` by what it cost (``None``: the estimate)."""
        reserved = self.reserved.pop(scene, 0.0)
        self.spent += reserved if cost is None else cost

    def charge(self, amount: float) -> None:
        """Count spending that was not reserved (the text stage)."""
        self.spent += amount


async def admit_requests(
    budget: Budget, provider: ImageProvider | None, requests: list[ImageRequest]
) -> tuple[list[ImageRequest], list[ImageRequest]]:
    """Split ``requests`` into those the budget admits (in order) and those it refuses."""
    allowed: list[ImageRequest] = []
    refused: list[ImageRequest] = []
    for request in requests:
        estimate = await provider.estimate(request) if provider is not None else free()
        (allowed if budget.admit(request.scene_number, estimate) else refused).append(request)
    return allowed, refused


# Stage totals ------------------------------------------------------------------------------


def stage_costs(board: Storyboard, *, seconds: dict[str, float] | None = None) -> None:
    """Recompute ``board.stage_costs`` from the text calls and the scene records.

    ``seconds`` adds the wall time this command spent in each stage.
    """
    old = dict(board.stage_costs)
    usage = board.text_usage
    text = StageCost(
        requests=len(board.text_calls) or usage.calls,
        known=round(usage.cost, 8),
        unknown=usage.unpriced,
        cost=None if usage.unpriced else round(usage.cost, 8),
        seconds=old["text"].seconds if "text" in old else 0.0,
    )
    known, unknown, drawn = 0.0, 0, 0
    for record in board.scenes:  # every image drawn counts, the chosen one or another take
        spent, unpriced, count = scene_spend(record)
        known, unknown, drawn = known + spent, unknown + unpriced, drawn + count
    images = StageCost(
        requests=drawn,
        known=round(known, 8),
        unknown=unknown,
        cost=None if unknown else round(known, 8),
        seconds=old["images"].seconds if "images" in old else 0.0,
    )
    stages = {"text": text, "images": images}
    drawn_sheets = [s for s in board.sheets if s.image is not None]
    if drawn_sheets or "sheets" in old or "sheets" in (seconds or {}):
        sheet_known = round(sum(s.cost or 0.0 for s in drawn_sheets), 8)
        sheet_unknown = sum(s.cost is None for s in drawn_sheets)
        stages["sheets"] = StageCost(
            requests=len(drawn_sheets),
            known=sheet_known,
            unknown=sheet_unknown,
            cost=None if sheet_unknown else sheet_known,
            seconds=old["sheets"].seconds if "sheets" in old else 0.0,
        )
    for name, spent in (seconds or {}).items():
        stage = stages.get(name, images)
        stage.seconds = round(stage.seconds + spent, 3)
    board.stage_costs = stages


def total_cost(board: Storyboard) -> float | None:
    """The project's total cost, ``None`` when part of it is unknown."""
    stages = board.stage_costs.values()
    if any(stage.cost is None for stage in stages):
        return None
    return round(sum(stage.known for stage in stages), 8)


def cost_line(board: Storyboard) -> str:
    """``cost $0.0250 (text $0.0020, images $0.0230), 41 s`` for the summary."""
    text = board.stage_costs.get("text", StageCost())
    images = board.stage_costs.get("images", StageCost())
    sheets = board.stage_costs.get("sheets")
    total = total_cost(board)
    line = f"cost {usd(total)}"
    if total is None:
        unknown = images.unknown + (sheets.unknown if sheets else 0)
        line += (
            f" (${sum(s.known for s in board.stage_costs.values()):.4f} known; price unknown "
            f"for {text.unknown} text call(s), {unknown} image(s))"
        )
    else:
        line += f" (text {usd(text.cost)}, images {usd(images.cost)}"
        line += f", sheets {usd(sheets.cost)})" if sheets else ")"
    seconds = sum(s.seconds for s in board.stage_costs.values())
    return f"{line}, {seconds:.0f} s"


def cost_dict(board: Storyboard) -> dict[str, Any]:
    """The stage costs as JSON-ready data."""
    return {
        "total": total_cost(board),
        "stages": {name: stage.model_dump() for name, stage in board.stage_costs.items()},
    }


# The plan of a dry run ---------------------------------------------------------------------


@dataclass
class StagePlan:
    """One stage of a dry run's plan."""

    stage: str
    provider: str
    model: str
    items: int
    estimate: CostEstimate | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        est = self.estimate
        return {
            "stage": self.stage,
            "provider": self.provider,
            "model": self.model,
            "items": self.items,
            "requests": est.requests if est else None,
            "cost_low": est.low if est else None,
            "cost_high": est.high if est else None,
            "seconds_low": est.seconds_low if est else None,
            "seconds_high": est.seconds_high if est else None,
            "basis": est.basis if est else "unknown",
            "note": self.note,
        }


@dataclass
class RunPlan:
    """What a command would do: stages, requests per provider, cost and time."""

    project: str
    scenes: int
    scenes_note: str = ""
    stages: list[StagePlan] = field(default_factory=list)
    max_cost: float | None = None

    def total(self) -> tuple[float | None, float | None]:
        """The total cost range, ``(None, None)`` when a stage's price is unknown."""
        if any(s.estimate is None for s in self.stages):
            return None, None
        return (
            round(sum(s.estimate.low for s in self.stages if s.estimate), 8),
            round(sum(s.estimate.high for s in self.stages if s.estimate), 8),
        )

    def seconds(self) -> tuple[float, float]:
        """The total time range."""
        known = [s.estimate for s in self.stages if s.estimate is not None]
        return sum(e.seconds_low for e in known), sum(e.seconds_high for e in known)

    def requests(self) -> dict[str, int]:
        """Requests per provider."""
        out: dict[str, int] = {}
        for stage in self.stages:
            count = stage.estimate.requests if stage.estimate else stage.items
            out[stage.provider] = out.get(stage.provider, 0) + count
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        low, high = self.total()
        seconds = self.seconds()
        return {
            "dry_run": True,
            "project": self.project,
            "scenes": self.scenes,
            "scenes_note": self.scenes_note,
            "stages": [s.as_dict() for s in self.stages],
            "requests": self.requests(),
            "cost_low": low,
            "cost_high": high,
            "seconds_low": round(seconds[0], 1),
            "seconds_high": round(seconds[1], 1),
            "max_cost": self.max_cost,
        }

    def lines(self) -> list[str]:
        """The plan in words."""
        out = [f"Plan for {self.project} (dry run: nothing sent, nothing written)"]
        out.append(f"  scenes: {self.scenes}{f' ({self.scenes_note})' if self.scenes_note else ''}")
        for stage in self.stages:
            est = stage.estimate
            what = f"{stage.provider}" + (f" {stage.model}" if stage.model else "")
            if est is None:
                body = f"{stage.items} item(s), cost unknown (no price known for {what})"
            else:
                body = (
                    f"{est.requests} request(s), {usd_range(est.low, est.high)} "
                    f"({est.basis}), {seconds_range(est.seconds_low, est.seconds_high)}"
                )
            extra = f"; {est.detail}" if est is not None and est.detail else ""
            note = f"; {stage.note}" if stage.note else ""
            out.append(f"  {stage.stage}: {what}: {body}{extra}{note}")
        low, high = self.total()
        out.append(
            f"  total: {usd_range(low, high)}, {seconds_range(*self.seconds())}"
            + (f"; budget {usd(self.max_cost)}" if self.max_cost is not None else "")
        )
        if self.max_cost is not None and high is not None and high > self.max_cost:
            out.append(
                "  the budget may stop the run before the end; what is drawn is kept, and a "
                "run with a larger --max-cost finishes it"
            )
        return out


def image_plan(
    provider_name: str, model: str, estimates: Iterable[CostEstimate | None], items: int
) -> StagePlan:
    """The images stage of a plan from each request's estimate."""
    listed = list(estimates)
    if not listed:
        return StagePlan("images", provider_name, model, 0, free(0))
    known = [e for e in listed if e is not None]
    if len(known) < len(listed):
        return StagePlan("images", provider_name, model, items, None)
    total = known[0]
    for one in known[1:]:
        total = total + one
    return StagePlan("images", provider_name, model, items, total)


__all__ = [
    "BUDGET_REASON",
    "Budget",
    "BudgetExceeded",
    "CostEstimate",
    "RunPlan",
    "StagePlan",
    "admit_requests",
    "cost_dict",
    "cost_line",
    "free",
    "image_plan",
    "seconds_range",
    "stage_costs",
    "total_cost",
    "usd",
    "usd_range",
]
