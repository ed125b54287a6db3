"""Cost before and after, against the local OpenRouter and Runware look-alikes.

``--dry-run`` sends no paid request and estimates what the run then costs; ``--max-cost``
stops a run cleanly, and a re-run with a larger budget finishes it without paying twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from storyframe.cli import EXIT_BUDGET, EXIT_OK, cli
from tests.openrouter.emulator import OpenRouterEmulator
from tests.runware.emulator import Emulator as RunwareEmulator
from tests.runware.emulator import serve_in_thread

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])

REPO = Path(__file__).resolve().parents[2]
STORY = REPO / "examples" / "stories" / "golden-bird.txt"
OPENROUTER_KEY = "sk-or-v1-" + "a1b2c3d4e5f60718" * 4
RUNWARE_KEY = "rw-cost-test-key-1a2b3c4d5e6f"
FAST = "max_attempts = 2\nbackoff_base = 0.01\nbackoff_max = 0.02\nretry_after_cap = 0.05\n"


@dataclass
class Services:
    router: OpenRouterEmulator
    rw: RunwareEmulator
    config: Path


@pytest.fixture
def services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    monkeypatch.setenv("OPENROUTER_API_KEY", OPENROUTER_KEY)
    monkeypatch.setenv("RUNWARE_API_KEY", RUNWARE_KEY)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    router = OpenRouterEmulator(api_key=OPENROUTER_KEY)
    rw = RunwareEmulator(api_key=RUNWARE_KEY, image_scale=16)
    with serve_in_thread(router) as router_url, serve_in_thread(rw) as rw_url:
        config = tmp_path / "storyframe.toml"
        config.write_text(
            f'[providers.openrouter]\nbase_url = "{router_url}"\n{FAST}'
            f'[providers.runware]\nbase_url = "{rw_url}"\n{FAST}'
            'allowed_download_hosts = ["127.0.0.1"]\ndelivery = "sync"\nbatch_size = 2\n'
        )
        yield Services(router, rw, config)


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def paid_requests(s: Services) -> int:
    return len(s.router.chat_requests) + len(s.rw.inference_bodies())


def test_dry_run_sends_nothing_paid_writes_nothing_and_estimates_the_run(
    tmp_path: Path, services: Services
) -> None:
    out = tmp_path / "project"
    plan = invoke(
        services.config, "run", str(STORY), "-n", "6", "-o", str(out), "--dry-run", "--json"
    )
    assert plan.exit_code == EXIT_OK, plan.stderr
    assert paid_requests(services) == 0
    assert services.rw.images_paid == 0
    assert not out.exists(), "a dry run writes nothing"
    data = json.loads(plan.stdout)
    assert data["dry_run"] is True and data["scenes"] == 6
    assert data["requests"] == {"openrouter": 1, "runware": 3}
    text, images = data["stages"]
    assert text["basis"] == "GET /models pricing"
    assert images["basis"] == "Runware list price"

    result = invoke(services.config, "run", str(STORY), "-n", "6", "-o", str(out), "--json")
    assert result.exit_code == EXIT_OK, result.stderr
    board = json.loads((out / "storyboard.json").read_text())
    charged_text = board["text_usage"]["cost"]
    charged_images = services.rw.images_paid * services.rw.cost
    charged = charged_text + charged_images
    estimate = (data["cost_low"] + data["cost_high"]) / 2
    assert data["cost_low"] <= charged * 1.2 and data["cost_high"] >= charged * 0.8
    assert abs(estimate - charged) <= 0.2 * charged, (estimate, charged)
    low, high = text["cost_low"], text["cost_high"]
    assert low * 0.8 <= charged_text <= high * 1.2, (low, high, charged_text)
    # the manifest and summary say what each stage cost and took
    stages = board["stage_costs"]
    assert stages["images"]["cost"] == pytest.approx(charged_images)
    assert stages["text"]["cost"] == pytest.approx(charged_text)
    assert stages["images"]["seconds"] > 0 and stages["text"]["seconds"] > 0
    summary = json.loads(result.stdout)
    assert summary["costs"]["total"] == pytest.approx(charged)


def test_images_dry_run_of_a_project_counts_only_what_is_left(
    tmp_path: Path, services: Services
) -> None:
    out = tmp_path / "project"
    scenes = invoke(services.config, "scenes", str(STORY), "-n", "4", "-o", str(out), "-q")
    assert scenes.exit_code == EXIT_OK, scenes.stderr
    before = paid_requests(services)
    manifest = (out / "storyboard.json").read_bytes()
    plan = invoke(services.config, "images", str(out), "--dry-run", "--json")
    assert plan.exit_code == EXIT_OK, plan.stderr
    assert paid_requests(services) == before
    assert (out / "storyboard.json").read_bytes() == manifest
    data = json.loads(plan.stdout)
    assert data["stages"][0]["items"] == 4 and data["requests"] == {"runware": 2}


def test_budget_stops_the_run_and_a_larger_budget_finishes_it_without_paying_twice(
    tmp_path: Path, services: Services
) -> None:
    out = tmp_path / "project"
    args = ["run", str(STORY), "-n", "6", "-o", str(out)]
    # the text costs well under a cent; each image at most 0.0038 * 1.1 * 1.3 (1344x768)
    first = invoke(services.config, *args, "--max-cost", "0.015")
    assert first.exit_code == EXIT_BUDGET, first.stderr
    assert "Budget reached" in first.stderr and "--max-cost" in first.stderr
    board = json.loads((out / "storyboard.json").read_text())
    done = [r for r in board["scenes"] if r["status"] == "done"]
    held = [r for r in board["scenes"] if r["status"] != "done"]
    assert done and held
    assert all(r["status"] == "pending" and r["error"] == "budget reached" for r in held)
    spent = board["text_usage"]["cost"] + sum(r["cost"] for r in done)
    assert spent <= 0.015
    paid_first = set(services.rw.charged)
    assert len(paid_first) == len(done)

    second = invoke(services.config, *args, "--max-cost", "1", "--json")
    assert second.exit_code == EXIT_OK, second.stderr
    board = json.loads((out / "storyboard.json").read_text())
    assert all(r["status"] == "done" for r in board["scenes"])
    assert len(services.rw.charged) == 6, "each image paid once"
    assert max(services.rw.paid_per_prompt().values()) == 1
    assert len(services.router.chat_requests) == 1, "the scenes were not written again"


def test_a_budget_too_small_for_the_text_sends_nothing(tmp_path: Path, services: Services) -> None:
    out = tmp_path / "project"
    result = invoke(
        services.config, "run", str(STORY), "-n", "6", "-o", str(out), "--max-cost", "0"
    )
    assert result.exit_code == EXIT_BUDGET, result.stderr
    assert "nothing was sent" in result.stderr
    assert paid_requests(services) == 0
