"""Character sheets drawn once and sent with every scene that shows the character."""

from __future__ import annotations

import hashlib

import pytest

from storyframe.characters import References, reference_of, sheet_seed
from storyframe.project import Project
from tests.characters.conftest import PRESENT, Refs, Service, pipeline

# Most important first: Mara (20), Tobin (12), Old Wen (7); Baker (1) is a minor character.
RANK = {"Mara": 0, "the fox": 0, "Tobin": 1, "Old Wen": 2}
CANON = {"the fox": "Mara"}


def expected(names: list[str]) -> list[str]:
    """The sheets a scene showing ``names`` carries: main characters by importance, at most 2."""
    main = sorted({CANON.get(n, n) for n in names if n in RANK}, key=lambda n: RANK[n])
    return main[:2]


async def test_sheets_then_scenes_carry_the_present_characters_request_log(
    project: Project, service: Service
) -> None:
    board = project.load()
    summary = await pipeline(sheets=3).draw(project, board, references=True)
    assert summary.ok and len(summary.done) == 8

    sheets = service.requests("sheet")
    assert len(sheets) == 3
    assert service.uploads() == [("upload", "Mara"), ("upload", "Tobin"), ("upload", "Old Wen")]
    scenes = service.requests("scene")
    assert len(scenes) == 8
    for _, _, number, sent, _, _ in scenes:
        names = expected(PRESENT[number - 1])
        assert [name for name, _ in sent] == names, number
        assert all(upload == f"up-{name}" for name, upload in sent), "uploaded ids are used"
    # The uploads happened before the first scene request.
    first_scene = service.log.index(scenes[0])
    assert all(service.log.index(u) < first_scene for u in service.uploads())

    board = project.load()
    assert [s.name for s in board.sheets] == ["Mara", "Tobin", "Old Wen"]
    for sheet in board.sheets:
        assert sheet.status == "done" and sheet.image is not None
        assert sheet.image.path == f"images/character-{sheet.name.lower().replace(' ', '-')}.png"
        data = (project.folder / sheet.image.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sheet.image.sha256
        assert sheet.uploads == {"refs": f"up-{sheet.name}"}
        assert (sheet.provider, sheet.model, sheet.cost) == ("refs", "refs-1", 0.01)
        assert sheet.seed == sheet_seed(board.settings.seed, sheet.name)
        assert sheet.name in sheet.prompt and "plain light grey background" in sheet.prompt
    for record in board.scenes:
        assert record.references == expected(PRESENT[record.scene.number - 1])
    assert board.stage_costs["sheets"].cost == 0.03
    assert board.stage_costs["sheets"].requests == 3
    assert summary.cost == 0.11
    assert "sheets $0.0300" in summary.cost_text

    # A second run sends nothing: no sheet, no upload, no scene.
    before = len(service.log)
    again = await pipeline(sheets=3).draw(project, project.load(), references=True)
    assert len(service.log) == before
    assert again.ok and len(again.kept) == 8


@pytest.mark.parametrize("how", ["raise", "hang", "error"])
async def test_a_failing_upload_is_named_and_the_sheet_goes_inline(
    project: Project, service: Service, how: str
) -> None:
    service.upload_failure = how
    summary = await pipeline(sheets=3).draw(project, project.load(), references=True)
    assert summary.ok and len(summary.done) == 8
    notes = [n for n in summary.notes if "uploading the sheet of" in n]
    assert len(notes) == 3 and all(n.startswith("refs: ") and "inline" in n for n in notes)
    for _, _, number, sent, _, _ in service.requests("scene"):
        assert [name for name, _ in sent] == expected(PRESENT[number - 1])
        assert all(upload is None for _, upload in sent)
    assert all(s.uploads == {} for s in project.load().sheets)


async def test_without_references_scenes_carry_none_and_no_sheet_is_drawn(
    project: Project, service: Service
) -> None:
    await pipeline().draw(project, project.load())
    assert service.requests("sheet") == [] and service.uploads() == []
    assert all(e[3] == [] for e in service.requests("scene"))


async def test_references_on_in_config(project: Project, service: Service) -> None:
    await pipeline(references=True, sheets=4).draw(project, project.load())
    assert len(service.requests("sheet")) == 4  # Baker too, the fourth most mentioned


async def test_sheets_a_fallback_drew_are_reported(project: Project, service: Service) -> None:
    summary = await pipeline().draw(
        project, project.load(), image_providers=["broken", "refs"], references=True
    )
    assert summary.degraded
    rows = [r for r in summary.fallbacks() if r["stage"] == "sheet"]
    assert [r["character"] for r in rows] == ["Mara", "Tobin", "Old Wen"]
    assert all(r["provider"] == "refs" and r["after"] == "broken" for r in rows)
    assert "sheet of Mara by refs after broken failed: " in summary.degradation()
    assert summary.as_dict()["sheets"]["drawn"] == ["Mara", "Tobin", "Old Wen"]
    for sheet in project.load().sheets:
        assert sheet.fallback is not None and sheet.fallback.after == "broken"
        assert "the model is gone" in sheet.fallback.reason


async def test_a_failed_sheet_is_noted_and_the_scenes_are_drawn_without_it(
    project: Project, service: Service
) -> None:
    service.fail_sheets = True
    summary = await pipeline().draw(project, project.load(), references=True)
    assert summary.ok and len(summary.done) == 8
    assert summary.as_dict()["sheets"]["failed"].keys() == {"Mara", "Tobin", "Old Wen"}
    assert any(n.startswith("sheet of Mara failed (") for n in summary.notes)
    assert all(e[3] == [] for e in service.requests("scene"))


async def test_an_upload_id_a_provider_replaced_or_lost_is_saved_in_the_manifest(
    project: Project, service: Service
) -> None:
    await pipeline(sheets=3).draw(project, project.load(), references=True)
    board = project.load()
    refs = References(project, board)
    listen = refs.listen(Refs())
    mara, tobin = (reference_of(s, project) for s in board.sheets[:2])

    await listen(mara, "up-Mara-2")
    await listen(tobin, None)
    stale = mara.model_copy(update={"uploads": {"refs": "up-Mara"}})
    await listen(stale, "up-Mara-3")  # already replaced: the newer id stays
    other = mara.model_copy(update={"sha256": "0" * 64, "uploads": {"refs": "up-Mara-2"}})
    await listen(other, "up-elsewhere")  # not the sheet as it is now

    saved = {s.name: s.uploads for s in project.load().sheets}
    assert saved == {"Mara": {"refs": "up-Mara-2"}, "Tobin": {}, "Old Wen": {"refs": "up-Old Wen"}}
