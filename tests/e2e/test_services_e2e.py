"""`storyframe run` with keys, against local OpenRouter and Runware look-alikes.

The whole product path: CLI -> config -> registry -> bundled entry-point plugins -> HTTP ->
downloads -> manifest -> HTML, with the services on 127.0.0.1 and faults injected.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from storyframe.cli import EXIT_DEGRADED, EXIT_OK, cli
from tests.openrouter.emulator import OpenRouterEmulator
from tests.runware.emulator import Emulator as RunwareEmulator
from tests.runware.emulator import serve_in_thread

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])

REPO = Path(__file__).resolve().parents[2]
STORY = REPO / "examples" / "stories" / "golden-bird.txt"
OPENROUTER_KEY = "sk-or-v1-" + "0f1e2d3c4b5a6978" * 4
RUNWARE_KEY = "rw-e2e-secret-key-9a8b7c6d5e4f"
FAST = "max_attempts = 2\nbackoff_base = 0.01\nbackoff_max = 0.02\nretry_after_cap = 0.05\n"


@pytest.fixture
def openrouter() -> Iterator[tuple[OpenRouterEmulator, str]]:
    emulator = OpenRouterEmulator(api_key=OPENROUTER_KEY)
    with serve_in_thread(emulator) as url:
        yield emulator, url


@pytest.fixture
def runware() -> Iterator[tuple[RunwareEmulator, str]]:
    emulator = RunwareEmulator(api_key=RUNWARE_KEY, image_scale=16)
    with serve_in_thread(emulator) as url:
        yield emulator, url


def write_config(
    folder: Path, openrouter_url: str, runware_url: str, *, delivery: str = "sync"
) -> Path:
    path = folder / "storyframe.toml"
    path.write_text(
        f'[providers.openrouter]\nbase_url = "{openrouter_url}"\n{FAST}'
        f'[providers.runware]\nbase_url = "{runware_url}"\n{FAST}'
        f'allowed_download_hosts = ["127.0.0.1"]\ndelivery = "{delivery}"\n'
        "poll_interval = 0.01\npoll_max_interval = 0.02\nbatch_size = 2\n"
    )
    return path


@dataclass
class Services:
    """Both look-alike services, both keys set, and a config pointing at them."""

    router: OpenRouterEmulator
    rw: RunwareEmulator
    config: Path


@pytest.fixture
def services(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    openrouter: tuple[OpenRouterEmulator, str],
    runware: tuple[RunwareEmulator, str],
) -> Services:
    monkeypatch.setenv("OPENROUTER_API_KEY", OPENROUTER_KEY)
    monkeypatch.setenv("RUNWARE_API_KEY", RUNWARE_KEY)
    config = write_config(tmp_path, openrouter[1], runware[1])
    return Services(openrouter[0], runware[0], config)


def run(config: Path, out: Path, *extra: str) -> Result:
    args = ["--config", str(config), "run", str(STORY), "-n", "6", "-o", str(out), "--json"]
    return CliRunner().invoke(cli, [*args, *extra], catch_exceptions=False)


def assert_no_key_anywhere(result: Result, out: Path) -> None:
    texts = [result.stdout, result.stderr]
    texts += [
        p.read_text(errors="replace") for p in out.rglob("*") if p.suffix in (".json", ".html")
    ]
    for text in texts:
        assert OPENROUTER_KEY not in text
        assert RUNWARE_KEY not in text


def test_llm_scenes_and_runware_images_then_resume_pays_nothing(
    tmp_path: Path, services: Services
) -> None:
    router, rw, config = services.router, services.rw, services.config
    out = tmp_path / "project"

    result = run(config, out)
    assert result.exit_code == EXIT_OK, result.stderr
    summary = json.loads(result.stdout)
    assert summary["text_provider"] == "openrouter"
    assert summary["scenes"] == 6
    assert set(summary["image_providers"].values()) == {"runware"}
    board = json.loads((out / "storyboard.json").read_text())
    # a story that fits is read once: analysis and scenes come from one call
    assert board["text_usage"]["calls"] == 1 and board["text_usage"]["cost"] > 0
    assert [c["purpose"] for c in board["text_calls"]] == ["analysis and scenes"]
    assert summary["text_cost"] == pytest.approx(board["text_usage"]["cost"])
    for record in board["scenes"]:
        assert record["provider"] == "runware" and record["model"] == "runware:101@1"
        assert record["cost"] == pytest.approx(rw.cost)
        data = (out / record["image"]["path"]).read_bytes()
        assert data[:3] == b"\xff\xd8\xff"  # a real JPEG, downloaded from the image host
    assert rw.images_made == 6
    # Three requests of two tasks each (batch_size = 2), with the key as a Bearer token.
    assert [len(body) for body in rw.inference_bodies()] == [2, 2, 2]
    assert all(h.get("Authorization") == f"Bearer {RUNWARE_KEY}" for h in rw.headers)
    assert_no_key_anywhere(result, out)

    chat_calls = len(router.chat_requests)
    again = run(config, out)
    assert again.exit_code == EXIT_OK, again.stderr
    assert json.loads(again.stdout)["kept"] == [1, 2, 3, 4, 5, 6]
    assert rw.images_made == 6, "a resume must not pay for an image twice"
    assert len(router.chat_requests) == chat_calls, "a resume must not rewrite the scenes"


def test_unauthorised_openrouter_falls_back_to_heuristic_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, services: Services
) -> None:
    wrong = "sk-or-v1-" + "ffffeeeeddddcccc" * 4
    monkeypatch.setenv("OPENROUTER_API_KEY", wrong)
    out = tmp_path / "project"
    result = run(services.config, out)
    assert result.exit_code == EXIT_DEGRADED, result.stderr
    summary = json.loads(result.stdout)
    assert summary["text_provider"] == "heuristic"
    assert summary["degraded"] is True
    [fallback] = summary["fallbacks"]
    assert fallback["stage"] == "text" and fallback["provider"] == "heuristic"
    assert fallback["after"] == "openrouter" and "OPENROUTER_API_KEY" in fallback["reason"]
    assert "--keep-fallbacks" in result.stderr
    assert any("openrouter" in n and "AuthError" in n for n in summary["notes"])
    board = json.loads((out / "storyboard.json").read_text())
    assert any("falling back to heuristic" in n for n in board["notes"])
    assert wrong not in result.stdout + result.stderr
    assert wrong not in (out / "storyboard.json").read_text()


def test_dead_openrouter_falls_back_to_heuristic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runware: tuple[RunwareEmulator, str]
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/api/v1"
    monkeypatch.setenv("OPENROUTER_API_KEY", OPENROUTER_KEY)
    monkeypatch.setenv("RUNWARE_API_KEY", RUNWARE_KEY)
    result = run(write_config(tmp_path, dead, runware[1]), tmp_path / "p")
    assert result.exit_code == EXIT_DEGRADED, result.stderr
    summary = json.loads(result.stdout)
    assert summary["text_provider"] == "heuristic"
    assert summary["fallbacks"][0]["after"] == "openrouter"
    assert any("openrouter" in n and "Transient" in n for n in summary["notes"])


def test_runware_failure_for_one_scene_falls_back_to_placeholder_for_that_scene(
    tmp_path: Path, services: Services
) -> None:
    rw, config = services.rw, services.config
    out = tmp_path / "p"
    runner = CliRunner()
    scenes = runner.invoke(cli, ["--config", str(config), "scenes", str(STORY), "-n", "4",
                                 "-o", str(out), "-q"])  # fmt: skip
    assert scenes.exit_code == 0, scenes.stderr
    manifest = out / "storyboard.json"
    board = json.loads(manifest.read_text())
    board["scenes"][2]["scene"]["image_prompt"] = "a forbidden-marker scene in the wood"
    manifest.write_text(json.dumps(board))
    rw.fail_prompt("forbidden-marker", "contentPolicyViolation", "blocked by policy")

    result = runner.invoke(cli, ["--config", str(config), "images", str(out), "--json"])
    assert result.exit_code == EXIT_DEGRADED, result.stderr
    summary = json.loads(result.stdout)
    assert summary["image_providers"] == {
        "1": "runware", "2": "runware", "3": "placeholder", "4": "runware"
    }  # fmt: skip
    assert [(f["scene"], f["provider"], f["after"]) for f in summary["fallbacks"]] == [
        (3, "placeholder", "runware")
    ]
    assert "contentPolicyViolation" in summary["fallbacks"][0]["reason"]
    record = json.loads(manifest.read_text())["scenes"][2]
    assert record["provider"] == "placeholder"
    assert record["fallback"]["after"] == "runware"
    assert any("runware: ContentRejected" in a for a in record["attempts"])
    paid = rw.images_made

    # A re-run tries runware again for the degraded scene; it fails again, the image stays.
    again = runner.invoke(cli, ["--config", str(config), "images", str(out), "--json"])
    assert again.exit_code == EXIT_DEGRADED, again.stderr
    assert json.loads(again.stdout)["kept"] == [1, 2, 3, 4]
    assert rw.images_made == paid, "the preferred provider failed again: nothing bought"
    assert json.loads(manifest.read_text())["scenes"][2]["image"] == record["image"]

    # Once runware can draw it, the re-run replaces the fallback and the run is clean.
    rw._prompt_errors.clear()
    fixed = runner.invoke(cli, ["--config", str(config), "images", str(out), "--json"])
    assert fixed.exit_code == EXIT_OK, fixed.stderr
    assert json.loads(fixed.stdout)["image_providers"] == {"3": "runware"}
    assert json.loads(manifest.read_text())["scenes"][2]["fallback"] is None

    assert rw.images_made == paid + 1


def test_runware_auth_failure_disables_it_and_placeholders_draw_every_scene(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, services: Services
) -> None:
    rw = services.rw
    monkeypatch.setenv("RUNWARE_API_KEY", "rw-wrong-key-000000000000")
    result = run(services.config, tmp_path / "p", "--concurrency", "1")
    assert result.exit_code == EXIT_DEGRADED, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary["image_providers"].values()) == {"placeholder"}
    assert len(summary["fallbacks"]) == 6
    assert all(f["after"] == "runware" for f in summary["fallbacks"])
    assert any("runware: disabled for this run (AuthError" in n for n in summary["notes"])
    assert rw.images_made == 0
    # Batches already in flight may fail too; with one at a time, runware is asked once only.
    assert len(rw.inference_bodies()) == 1, "after an auth failure runware is not asked again"


def test_async_delivery_end_to_end(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    openrouter: tuple[OpenRouterEmulator, str],
    runware: tuple[RunwareEmulator, str],
) -> None:
    (_, router_url), (rw, rw_url) = openrouter, runware
    rw.processing_polls = 2
    monkeypatch.setenv("RUNWARE_API_KEY", RUNWARE_KEY)
    config = write_config(tmp_path, router_url, rw_url, delivery="async")
    result = run(config, tmp_path / "p", "--text-provider", "heuristic")
    assert result.exit_code == EXIT_OK, result.stderr
    assert set(json.loads(result.stdout)["image_providers"].values()) == {"runware"}
    assert rw.images_made == 6
    assert all(count >= 3 for count in rw.polls.values())


def test_check_reports_balances_with_keys(services: Services) -> None:
    result = CliRunner().invoke(cli, ["--config", str(services.config), "check", "--json"])
    assert result.exit_code == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)["providers"]}
    assert rows["openrouter"]["ok"] and "balance" in rows["openrouter"]["detail"]
    assert rows["runware"]["ok"] and "$12.50" in rows["runware"]["detail"]
    assert OPENROUTER_KEY not in result.stdout and RUNWARE_KEY not in result.stdout


def test_enhanced_prompts_come_from_the_text_model_and_reach_the_image_model(
    tmp_path: Path, services: Services
) -> None:
    router, rw, config = services.router, services.rw, services.config
    config.write_text("[text]\nenhance_prompts = true\n" + config.read_text())
    out = tmp_path / "p"
    result = run(config, out, "-n", "3")
    assert result.exit_code == EXIT_OK, result.stderr
    board = json.loads((out / "storyboard.json").read_text())
    assert len(router.chat_requests) == 1 + 3  # analysis with scenes, one rewrite per scene
    for record in board["scenes"]:
        assert record["scene"]["image_prompt"].startswith("A young woman in a green cloak")
    sent = [task["positivePrompt"] for body in rw.inference_bodies() for task in body]
    assert len(sent) == 3
    for prompt in sent:
        assert "A young woman in a green cloak" in prompt
        # the scene's framing goes first; the rewrite's own "wide shot" does not stay with it
        assert prompt.count(" shot") == 1, prompt
    for record in board["scenes"]:
        assert record["prompt"].startswith(f"{record['scene']['shot']} shot, "), record
