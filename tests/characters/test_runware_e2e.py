"""Reference sheets end to end: a three-character tale in eight scenes, drawn on the Runware
look-alike with FLUX.1 Kontext (two ``referenceImages`` a task), checked from its request log."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from storyframe.cli import EXIT_DEGRADED, EXIT_OK
from storyframe.models import SceneRecord, Storyboard
from storyframe.project import Project
from tests.characters.lookalike import KEY, TALE, invoke, tasks_of, write_config
from tests.runware.emulator import Emulator, serve_in_thread

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def runware(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setenv("RUNWARE_API_KEY", KEY)
    rw = Emulator(api_key=KEY, image_scale=16)
    with serve_in_thread(rw):
        yield rw


def expected(board: Storyboard, record: SceneRecord) -> list[str]:
    """The sheets a scene carries: of the characters it shows, those with a sheet, most
    mentioned first (the analysis breaks ties), at most two (Kontext's limit)."""
    assert board.analysis is not None
    cast = board.analysis.characters
    rank = {c.name: i for i, c in enumerate(sorted(cast, key=lambda c: -c.mentions))}
    found = [board.analysis.character(n) for n in record.scene.characters]
    with_sheet = {s.name for s in board.sheets}
    names = {c.name for c in found if c is not None and c.name in with_sheet}
    return sorted(names, key=rank.__getitem__)[:2]


def check_request_log(rw: Emulator, out: Path) -> None:
    board = Project(out).load()
    tasks = tasks_of(rw)
    uploads = [t for t in tasks if t["taskType"] == "imageUpload"]
    inferences = [t for t in tasks if t["taskType"] == "imageInference"]
    sheet_tasks = {s.task_id: s for s in board.sheets}
    scene_tasks = {r.task_id: r for r in board.scenes}

    # Three sheets, the main characters, most mentioned first; each drawn and uploaded once.
    assert [s.name for s in board.sheets] == ["Mara", "Tobin", "Old Wen"]
    sheet_requests = [t for t in inferences if t["taskUUID"] in sheet_tasks]
    assert len(sheet_requests) == 3 and len(uploads) == 3
    assert all("referenceImages" not in t for t in sheet_requests)
    ids: dict[str, str] = {}
    for sheet, upload in zip(board.sheets, uploads, strict=True):
        assert sheet.status == "done" and sheet.image is not None and sheet.fallback is None
        data = (out / sheet.image.path).read_bytes()
        assert base64.b64decode(upload["image"].split(",", 1)[1]) == data
        ids[sheet.name] = sheet.uploads["runware"]
        assert rw.uploads[ids[sheet.name]][1] == data, "the id saved is the one Runware gave"
    assert len(set(ids.values())) == 3

    # All of that before the first scene request; then one task per scene, nothing else.
    scene_requests = [t for t in inferences if t["taskUUID"] in scene_tasks]
    first_scene = tasks.index(scene_requests[0])
    assert all(tasks.index(t) < first_scene for t in [*sheet_requests, *uploads])
    assert len(scene_requests) == 8 and len(inferences) == 11
    assert rw.images_paid == 11

    carried = []
    for task in scene_requests:
        record = scene_tasks[task["taskUUID"]]
        names = expected(board, record)
        assert task.get("referenceImages", []) == [ids[n] for n in names], record.scene.number
        if not names:
            assert "referenceImages" not in task
        assert record.references == names, "the manifest records the sheets sent"
        assert record.status == "done" and record.job is None
        carried.append(len(names))
    # The tale exercises every case: no sheet, one, two, and three present cut to two.
    assert {0, 1, 2} <= set(carried)
    assert any(len({c for c in r.scene.characters if c in ids}) == 3 for r in board.scenes)


def check_page(out: Path) -> None:
    board = Project(out).load()
    html = (out / "index.html").read_text()
    assert "Character sheets (3)" in html
    for sheet in board.sheets:
        assert sheet.image is not None
        assert f'src="{sheet.image.path}" ' in html
        assert f'alt="Reference sheet of {sheet.name}"' in html
    for record in board.scenes:
        article = html.split(f'id="scene-{record.scene.number:02d}"')[1].split("</article>")[0]
        if not record.references:
            assert "Drawn with the sheets" not in article
            continue
        links = ", ".join(
            f'<a href="#character-{n.lower().replace(" ", "-")}">{n}</a>' for n in record.references
        )
        assert f"Drawn with the sheets of {links}</p>" in article


@pytest.mark.parametrize("how", ["config", "--references"])
def test_three_sheets_uploaded_once_then_eight_scenes_with_theirs(
    tmp_path: Path, runware: Emulator, how: str
) -> None:
    config = write_config(tmp_path, runware, references=how == "config")
    out = tmp_path / "lantern"
    flags = ["--references"] if how == "--references" else []
    command = ["run", TALE, "-n", "8", "-o", out, *flags, "--json"]
    result = invoke(config, *command)
    assert result.exit_code == EXIT_OK, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] and sorted(summary["done"]) == list(range(1, 9))
    assert summary["sheets"]["drawn"] == ["Mara", "Tobin", "Old Wen"]
    check_request_log(runware, out)
    check_page(out)

    sent = len(runware.bodies)
    again = invoke(config, *command)
    assert again.exit_code == EXIT_OK, again.stderr
    assert len(runware.bodies) == sent, "a re-run sends nothing: no upload, no image"
    rerun = json.loads(again.stdout)
    assert rerun["ok"] and rerun["drawn"] == [] and len(rerun["kept"]) == 8
    assert rerun["sheets"] is None


def test_without_references_no_sheet_and_no_upload(tmp_path: Path, runware: Emulator) -> None:
    config = write_config(tmp_path, runware, references=True)
    out = tmp_path / "lantern"
    result = invoke(config, "run", TALE, "-n", "8", "-o", out, "--no-references", "-q")
    assert result.exit_code == EXIT_OK, result.stderr
    tasks = [t for t in tasks_of(runware) if t["taskType"] != "getResponse"]
    assert [t["taskType"] for t in tasks] == ["imageInference"] * 8
    assert all("referenceImages" not in t for t in tasks)
    assert Project(out).load().sheets == []


def test_the_reference_log_script_prints_the_condensed_log_and_an_empty_rerun() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "reference_log.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    first, rerun = result.stdout.split("# the same command again")
    lines = first.splitlines()
    assert lines[0] == "# first run: exit 0, 14 request(s)"
    kinds = [line.split()[1] for line in lines[1:]]
    assert kinds == ["imageInference"] * 3 + ["imageUpload"] * 3 + ["imageInference"] * 8
    assert [line.split()[4] for line in lines[4:7]] == ["Mara", "Tobin", "Old"]
    assert "scene 5" in lines[11] and lines[11].count("=") == 2
    assert rerun.splitlines()[0] == ": exit 0, 0 request(s)"
    assert "(nothing sent)" in rerun


def test_an_upload_runware_forgot_is_uploaded_again_once_and_the_new_id_saved(
    tmp_path: Path, runware: Emulator
) -> None:
    config = write_config(tmp_path, runware, references=True)
    out = tmp_path / "lantern"
    assert invoke(config, "run", TALE, "-n", "8", "-o", out, "-q").exit_code == EXIT_OK
    stale = Project(out).load().sheets[0].uploads["runware"]  # Mara's
    runware.forget(stale)
    uploads = len([t for t in tasks_of(runware) if t["taskType"] == "imageUpload"])

    result = invoke(config, "images", out, "--scene", "1", "--json")
    assert result.exit_code == EXIT_OK, result.stderr
    tasks = tasks_of(runware)
    assert len([t for t in tasks if t["taskType"] == "imageUpload"]) == uploads + 1
    fresh = Project(out).load().sheets[0].uploads["runware"]
    assert fresh != stale and runware.holds(fresh), "the new id is in the manifest"
    last = [t for t in tasks if t["taskType"] == "imageInference"][-1]
    assert last["referenceImages"] == [fresh]

    # A later run sends the saved id at once: no refusal, no upload.
    sent = len(runware.bodies)
    result = invoke(config, "images", out, "--scene", "7", "--json")
    assert result.exit_code == EXIT_OK, result.stderr
    later = [t for t in tasks_of(runware, sent) if t["taskType"] != "getResponse"]
    assert [t["taskType"] for t in later] == ["imageInference"]
    board = Project(out).load()
    assert later[0]["referenceImages"] == [fresh, board.sheets[2].uploads["runware"]]
    assert board.record(7).references == ["Mara", "Old Wen"]


def test_a_sheet_drawn_by_a_fallback_says_so_everywhere_and_the_run_is_degraded(
    tmp_path: Path, runware: Emulator
) -> None:
    runware.fail_prompt("Character reference sheet of Tobin", "contentPolicyViolation")
    chain = '["runware", "placeholder"]'
    config = write_config(tmp_path, runware, references=True, chain=chain)
    out = tmp_path / "lantern"
    result = invoke(config, "run", TALE, "-n", "8", "-o", out, "--json")
    assert result.exit_code == EXIT_DEGRADED, result.stderr
    summary = json.loads(result.stdout)
    (row,) = [f for f in summary["fallbacks"] if f["stage"] == "sheet"]
    assert (row["character"], row["provider"], row["after"]) == ("Tobin", "placeholder", "runware")
    board = Project(out).load()
    tobin = board.sheets[1]
    assert tobin.fallback is not None and tobin.provider == "placeholder"
    assert (tobin.fallback.provider, tobin.fallback.after) == ("placeholder", "runware")
    assert "contentPolicyViolation" in tobin.fallback.reason
    assert board.sheets[0].fallback is None and board.sheets[2].fallback is None
    # The placeholder sheet is a sheet all the same: uploaded to Runware and sent.
    assert board.record(6).references == ["Tobin"] and tobin.uploads.get("runware")

    html = (out / "index.html").read_text()
    assert "Drawn by placeholder after runware failed: " in html
    assert html.count("sheet-fallback") == 1

    listed = invoke(config, "characters", out, "--json")
    assert listed.exit_code == EXIT_DEGRADED, "a kept fallback sheet is still reported"
    rows = {r["name"]: r for r in json.loads(listed.stdout)["sheets"]}
    assert rows["Tobin"]["fallback"]["after"] == "runware" and rows["Mara"]["fallback"] is None
    assert "the sheet of Tobin was drawn by placeholder after runware failed" in listed.stderr


def test_no_sheet_is_bought_for_a_model_that_takes_no_references(
    tmp_path: Path, runware: Emulator
) -> None:
    """With references on but a scene model that takes none (runware:101@1), a sheet would be
    paid for and sent with no scene: none is drawn, and the run says why, also in a dry run."""
    config = write_config(tmp_path / "cfg", runware, references=True)
    config.write_text(
        config.read_text().replace('model = "runware:106@1"', 'model = "runware:101@1"')
    )
    out = tmp_path / "plain"

    plan = invoke(config, "run", TALE, "-n", "8", "-o", out, "--dry-run", "--json")
    assert plan.exit_code == EXIT_OK, plan.stderr
    sheets = next(s for s in json.loads(plan.stdout)["stages"] if s["stage"] == "sheets")
    assert "takes no reference images" in sheets["note"]
    assert sheets["cost_high"] == 0

    result = invoke(config, "run", TALE, "-n", "8", "-o", out, "--json")
    assert result.exit_code == EXIT_OK, result.stderr
    tasks = tasks_of(runware)
    assert not [t for t in tasks if t["taskType"] == "imageUpload"]
    board = Project(out).load()
    assert board.sheets == [] or all(s.image is None for s in board.sheets)
    assert len([t for t in tasks if t["taskType"] == "imageInference"]) == 8  # the scenes only
    notes = json.loads(result.stdout)["notes"]
    assert any("runware with model runware:101@1 takes no reference images" in n for n in notes)
    assert any("takes no reference images" in n for n in board.notes)
