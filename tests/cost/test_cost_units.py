"""Budgets, estimates and stage totals, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from storyframe.cli import EXIT_OK, cli
from storyframe.cost import Budget, BudgetExceeded, CostEstimate, stage_costs, usd, usd_range
from storyframe.models import (
    GeneratedImage,
    ImageFile,
    ImageRequest,
    RunSettings,
    Scene,
    SceneRecord,
    Storyboard,
    StoryInfo,
    Style,
    Usage,
)
from storyframe_runware.config import RunwareConfig
from storyframe_runware.provider import RunwareImageProvider

STORY = Path(__file__).resolve().parents[2] / "examples" / "stories" / "golden-bird.txt"


def est(high: float) -> CostEstimate:
    return CostEstimate(low=high / 2, high=high)


def request(n: int = 1, width: int = 1024, height: int = 576) -> ImageRequest:
    return ImageRequest(
        scene_number=n, prompt="p", width=width, height=height, seed=0, style=Style(name="s")
    )


def test_budget_admits_within_the_limit_and_refuses_unknown_prices() -> None:
    budget = Budget(0.01)
    budget.charge(0.002)
    assert budget.admit(1, est(0.004)) and budget.admit(2, est(0.004))
    assert not budget.admit(3, est(0.004))
    assert budget.admit(1, est(0.004)), "a scene already admitted stays admitted"
    assert not budget.admit(4, None) and budget.unpriced == [4]
    assert budget.refused == [3, 4]
    budget.check("runware", [1, 2])
    with pytest.raises(BudgetExceeded):
        budget.check("runware", [3])
    assert BudgetExceeded("x").exit_code == 6


def test_money_words() -> None:
    assert usd(None) == "unknown" and usd(0.01234) == "$0.0123"
    assert usd_range(0.01, 0.02) == "$0.0100-0.0200" and usd_range(None, 1) == "unknown"


async def test_runware_estimate_list_price_configured_price_and_unknown() -> None:
    listed = await RunwareImageProvider(RunwareConfig()).estimate(request())
    assert listed is not None and listed.basis == "Runware list price"
    assert listed.low <= 0.0038 <= listed.high
    big = await RunwareImageProvider(RunwareConfig()).estimate(request(1, 2048, 2048))
    assert big is not None and big.high > listed.high * 3
    configured = RunwareConfig(model="civitai:1@2", price_per_image=0.01)
    fixed = await RunwareImageProvider(configured).estimate(request())
    assert fixed is not None and fixed.low == fixed.high == 0.01
    assert (
        await RunwareImageProvider(RunwareConfig(model="civitai:1@2")).estimate(request()) is None
    )


def test_configured_price_fills_a_missing_cost_and_unknown_stays_none() -> None:
    image = GeneratedImage(scene_number=1, provider="runware", url="https://x/y.jpg")
    priced = RunwareImageProvider(RunwareConfig(price_per_image=0.02)).priced(image.model_copy())
    assert priced.cost == 0.02
    assert RunwareImageProvider(RunwareConfig()).priced(image.model_copy()).cost is None


def test_stage_costs_say_unknown_rather_than_zero() -> None:
    file = ImageFile(path="i.png", sha256="0", media_type="image/png", width=1, height=1, bytes=1)
    scenes = [
        SceneRecord(scene=Scene(number=n, title="t", description="d", image_prompt="p"))
        for n in (1, 2, 3)
    ]
    scenes[0].status, scenes[0].image, scenes[0].cost = "done", file, 0.004
    scenes[1].status, scenes[1].image, scenes[1].cost = "done", file, None
    board = Storyboard(
        story=StoryInfo(path="s", sha256="0"),
        settings=RunSettings(
            scenes=3, style="s", seed=0, width=64, height=64, text_providers=[], image_providers=[]
        ),
        text_usage=Usage(calls=1, cost=0.001),
        scenes=scenes,
    )
    stage_costs(board, seconds={"images": 2.5})
    images = board.stage_costs["images"]
    assert images.cost is None and images.known == 0.004 and images.unknown == 1
    assert images.requests == 2 and images.seconds == 2.5
    assert board.stage_costs["text"].cost == 0.001


def test_offline_dry_run_is_free_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "p"
    result = CliRunner().invoke(
        cli, ["run", str(STORY), "-n", "4", "-o", str(out), "--dry-run", "--json"]
    )
    assert result.exit_code == EXIT_OK, result.stderr
    plan = json.loads(result.stdout)
    assert plan["cost_low"] == plan["cost_high"] == 0
    assert plan["requests"] == {"heuristic": 1, "placeholder": 4}
    assert not out.exists()
    text = CliRunner().invoke(cli, ["run", str(STORY), "-n", "auto", "-o", str(out), "--dry-run"])
    assert "dry run: nothing sent, nothing written" in text.stdout
    assert "auto: about this many" in text.stdout
