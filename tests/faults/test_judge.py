"""The judge of the fault matrix: a run that keeps the contract passes; each breach is named."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.faults.harness import Case, Outcome, problems


def make(tmp_path: Path, *, degraded: bool) -> tuple[Case, Any, Outcome]:
    out = tmp_path / "project"
    (out / "images").mkdir(parents=True)
    scenes = []
    for number in (1, 2, 3):
        data = f"image {number}".encode()
        (out / "images" / f"scene-0{number}.jpg").write_bytes(data)
        record: dict[str, Any] = {
            "scene": {"number": number},
            "status": "done",
            "provider": "runware",
            "image": {
                "path": f"images/scene-0{number}.jpg",
                "sha256": hashlib.sha256(data).hexdigest(),
            },
        }
        scenes.append(record)
    fallbacks = []
    if degraded:
        scenes[1]["provider"] = "placeholder"
        scenes[1]["fallback"] = {"provider": "placeholder", "after": "runware", "reason": "503"}
        fallbacks = [{"stage": "image", "scene": 2, "provider": "placeholder", "after": "runware",
                      "reason": "runware: Transient: HTTP 503"}]  # fmt: skip
    summary = {
        "ok": True, "degraded": degraded, "fallbacks": fallbacks, "failed": {},
        "done": [1, 2, 3], "drawn": [1, 2, 3], "kept": [], "cost": 0.01, "notes": [],
        "text_provider": "openrouter",
    }  # fmt: skip
    case = Case("test", exit=5 if degraded else 0, fallback_after="runware" if degraded else None)
    outcome = Outcome("test", exit_code=5 if degraded else 0, summary=summary,
                      board={"scenes": scenes}, wall=0.5)  # fmt: skip
    return case, SimpleNamespace(out=out, case=case), outcome


def test_a_clean_run_and_a_degraded_run_pass(tmp_path: Path) -> None:
    for degraded in (False, True):
        case, env, outcome = make(tmp_path / str(degraded), degraded=degraded)
        assert problems(case, env, outcome) == []


def test_each_breach_is_named(tmp_path: Path) -> None:
    case, env, good = make(tmp_path, degraded=True)

    def breach(change: Any) -> list[str]:
        outcome = copy.deepcopy(good)
        change(outcome)
        return problems(case, env, outcome)

    assert any("exit 0" in p for p in breach(lambda o: setattr(o, "exit_code", 0)))
    assert any("paid twice" in p for p in breach(lambda o: setattr(o, "paid_twice", 1)))
    assert any("lost" in p for p in breach(lambda o: setattr(o, "lost", 1)))
    assert any("budget" in p for p in breach(lambda o: setattr(o, "wall", 99)))
    assert any("traceback" in p for p in breach(lambda o: setattr(o, "stderr", "Traceback (")))
    assert any(
        "pending" in p for p in breach(lambda o: o.board["scenes"][0].update(status="pending"))
    )
    assert any(
        "without a reason" in p
        for p in breach(lambda o: o.board["scenes"][0].update(status="failed"))
    )
    assert any(
        "sha256" in p for p in breach(lambda o: o.board["scenes"][0]["image"].update(sha256="0"))
    )
    assert any(
        "names 'runware'" in p
        for p in breach(lambda o: o.summary["fallbacks"][0].update(after="x"))
    )
    assert any(
        "no manifest fallback" in p for p in breach(lambda o: o.board["scenes"][1].pop("fallback"))
    )
    assert any("lacks" in p for p in breach(lambda o: o.summary.pop("degraded")))


def test_exit_0_requires_the_preferred_providers(tmp_path: Path) -> None:
    case, env, outcome = make(tmp_path, degraded=False)
    outcome.board["scenes"][0]["provider"] = "placeholder"
    assert any("drawn by runware" in p for p in problems(case, env, outcome))
