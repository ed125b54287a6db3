"""The CLI on the offline providers: the main job, resume, review flow, and every bad input."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from storyframe.cli import EXIT_PARTIAL, EXIT_PROJECT, EXIT_USAGE, cli

REPO = Path(__file__).resolve().parents[2]
GOLDEN_BIRD = REPO / "examples" / "stories" / "golden-bird.txt"
RED_CAP = REPO / "examples" / "stories" / "little-red-cap.txt"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result: Result) -> str:
    """The result failed with exactly one line on stderr and no traceback."""
    assert result.exit_code != 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((folder / "images").iterdir())
    }


def test_run_offline_makes_a_complete_storyboard(tmp_path: Path) -> None:
    out = tmp_path / "gb"
    result = invoke("run", GOLDEN_BIRD, "-n", "5", "-o", out, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] is True
    assert summary["drawn"] == [1, 2, 3, 4, 5]
    assert summary["text_provider"] == "heuristic"
    assert set(summary["image_providers"].values()) == {"placeholder"}
    board = json.loads((out / "storyboard.json").read_text())
    assert board["schema_version"] == 2
    assert board["story"]["sha256"] == hashlib.sha256(GOLDEN_BIRD.read_bytes()).hexdigest()
    assert [s["status"] for s in board["scenes"]] == ["done"] * 5
    for record in board["scenes"]:
        image = out / record["image"]["path"]
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert hashlib.sha256(image.read_bytes()).hexdigest() == record["image"]["sha256"]
        assert record["provider"] == "placeholder"
        assert record["seed"] is not None
        assert "cinematic" in record["prompt"]
    html = (out / "index.html").read_text()
    assert html.count("images/scene-0") >= 5
    # Readable by others (a web server, a colleague), not mkstemp's 0600.
    for path in (out / "storyboard.json", out / "index.html", out / "images" / "scene-01.png"):
        assert path.stat().st_mode & 0o777 == 0o644
    # Without keys, the paid providers were skipped with a note, recorded in the manifest.
    assert any("openrouter" in n and "no API key" in n for n in board["notes"])
    assert any("runware" in n and "no API key" in n for n in board["notes"])


def test_rerun_resumes_and_keeps_finished_scenes_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "gb"
    assert invoke("run", GOLDEN_BIRD, "-n", "4", "-o", out, "-q").exit_code == 0
    before = digests(out)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "images").iterdir()}
    result = invoke("run", GOLDEN_BIRD, "-n", "4", "-o", out, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["drawn"] == []
    assert summary["kept"] == [1, 2, 3, 4]
    assert digests(out) == before
    assert {p.name: p.stat().st_mtime_ns for p in (out / "images").iterdir()} == mtimes


def test_rerun_redraws_a_scene_whose_image_was_lost(tmp_path: Path) -> None:
    out = tmp_path / "gb"
    assert invoke("run", GOLDEN_BIRD, "-n", "3", "-o", out, "-q").exit_code == 0
    (out / "images" / "scene-02.png").write_bytes(b"corrupt")
    summary = json.loads(invoke("run", GOLDEN_BIRD, "-n", "3", "-o", out, "--json").stdout)
    assert summary["drawn"] == [2]
    assert summary["kept"] == [1, 3]


def test_force_redraws_everything(tmp_path: Path) -> None:
    out = tmp_path / "gb"
    assert invoke("run", GOLDEN_BIRD, "-n", "3", "-o", out, "-q").exit_code == 0
    summary = json.loads(
        invoke("run", GOLDEN_BIRD, "-n", "3", "-o", out, "--json", "--force").stdout
    )
    assert summary["drawn"] == [1, 2, 3]


def test_changed_story_or_settings_are_refused_without_force(tmp_path: Path) -> None:
    out = tmp_path / "gb"
    assert invoke("run", GOLDEN_BIRD, "-n", "3", "-o", out, "-q").exit_code == 0
    before = digests(out)
    manifest = (out / "storyboard.json").read_bytes()

    other = invoke("run", RED_CAP, "-n", "3", "-o", out)
    assert other.exit_code == EXIT_PROJECT
    assert "another story" in one_line_error(other)

    changed = invoke("run", GOLDEN_BIRD, "-n", "4", "-o", out)
    assert changed.exit_code == EXIT_PROJECT
    assert "scenes 3 -> 4" in one_line_error(changed)

    style = invoke("run", GOLDEN_BIRD, "-n", "3", "--style", "noir", "-o", out)
    assert "style cinematic -> noir" in one_line_error(style)
    # Nothing already produced was touched.
    assert digests(out) == before
    assert (out / "storyboard.json").read_bytes() == manifest

    forced = invoke("run", RED_CAP, "-n", "3", "-o", out, "--force", "-q")
    assert forced.exit_code == 0
    assert json.loads((out / "storyboard.json").read_text())["story"]["path"].endswith(
        "little-red-cap.txt"
    )


def test_review_flow_scenes_edit_images_redraw_render(tmp_path: Path) -> None:
    out = tmp_path / "review"
    result = invoke("scenes", GOLDEN_BIRD, "-n", "4", "-o", out)
    assert result.exit_code == 0, result.stderr
    manifest = out / "storyboard.json"
    board = json.loads(manifest.read_text())
    assert [s["status"] for s in board["scenes"]] == ["pending"] * 4
    assert not list((out / "images").iterdir())

    board["scenes"][1]["approved"] = False
    board["scenes"][0]["scene"]["title"] = "My own title"
    board["scenes"][0]["scene"]["image_prompt"] = "a golden bird on a silver branch at dawn"
    manifest.write_text(json.dumps(board))

    summary = json.loads(invoke("images", out, "--json").stdout)
    assert summary["drawn"] == [1, 3, 4]
    assert summary["unapproved"] == [2]
    board = json.loads(manifest.read_text())
    first = board["scenes"][0]
    framing = f"{first['scene']['shot']} shot, {first['scene']['camera']}, "
    assert first["prompt"].startswith(f"{framing}a golden bird on a silver branch at dawn")
    assert board["scenes"][1]["status"] == "pending"
    assert "My own title" in (out / "index.html").read_text()

    before = digests(out)
    summary = json.loads(invoke("images", out, "--scene", "3", "--json").stdout)
    assert summary["drawn"] == [3]
    assert digests(out) == before  # deterministic placeholder: same request, same bytes

    (out / "index.html").unlink()
    assert invoke("render", out).exit_code == 0
    assert (out / "index.html").is_file()


def test_edited_prompt_is_redrawn_on_the_next_images_run(tmp_path: Path) -> None:
    out = tmp_path / "p"
    assert invoke("run", GOLDEN_BIRD, "-n", "3", "-o", out, "-q").exit_code == 0
    manifest = out / "storyboard.json"
    board = json.loads(manifest.read_text())
    board["scenes"][2]["scene"]["image_prompt"] = "the fox running through a moonlit wood"
    manifest.write_text(json.dumps(board))
    summary = json.loads(invoke("images", out, "--json").stdout)
    assert summary["drawn"] == [3]


def test_images_with_unknown_scene_number(tmp_path: Path) -> None:
    out = tmp_path / "p"
    assert invoke("scenes", GOLDEN_BIRD, "-n", "3", "-o", out, "-q").exit_code == 0
    assert "no scene 9" in one_line_error(invoke("images", out, "--scene", "9"))


def test_broken_manifest_edit_is_reported_with_its_place(tmp_path: Path) -> None:
    out = tmp_path / "p"
    assert invoke("scenes", GOLDEN_BIRD, "-n", "3", "-o", out, "-q").exit_code == 0
    manifest = out / "storyboard.json"
    manifest.write_text(manifest.read_text().replace('"approved": true', '"approved": maybe', 1))
    line = one_line_error(invoke("images", out))
    assert "not valid JSON" in line and "line" in line
    board = json.loads(manifest.read_text().replace("maybe", "true"))
    board["scenes"][0]["scene"]["title"] = ""
    manifest.write_text(json.dumps(board))
    assert "scenes.0.scene.title" in one_line_error(invoke("images", out))


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d / "missing.txt", "does not exist"),
        (lambda d: d, "is a directory"),
        (lambda d: _write(d / "empty.txt", b""), "is empty"),
        (lambda d: _write(d / "blank.txt", b"  \n\t\n"), "only whitespace"),
        (lambda d: _write(d / "img.bin", b"\x89PNG\x00\x00\x01binary"), "binary"),
        (lambda d: _write(d / "latin.txt", "Es war einmal ein König".encode("latin-1")), "0xf6"),
    ],
)
def test_bad_story_files_get_one_line_errors(tmp_path: Path, make, expected: str) -> None:
    story = make(tmp_path)
    result = invoke("run", story, "-o", tmp_path / "out")
    assert result.exit_code == EXIT_USAGE
    assert expected in one_line_error(result)
    assert not (tmp_path / "out").exists()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_invalid_utf8_message_offers_encoding_and_encoding_works(tmp_path: Path) -> None:
    story = _write(
        tmp_path / "k.txt",
        "Es war einmal ein König. Er hatte drei Söhne. Der jüngste zog aus.".encode("latin-1"),
    )
    line = one_line_error(invoke("run", story, "-o", tmp_path / "o"))
    assert "offset 19" in line and "--encoding" in line
    result = invoke("run", story, "-o", tmp_path / "o", "--encoding", "latin-1", "-n", "2", "-q")
    assert result.exit_code == 0, result.stderr


def test_story_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "storyframe.toml").write_text("[run]\nmax_story_bytes = 1000\n")
    story = _write(tmp_path / "big.txt", b"Once upon a time. " * 100)
    result = invoke("--config", tmp_path / "storyframe.toml", "run", story, "-o", tmp_path / "o")
    line = one_line_error(result)
    assert "over the 1000 bytes limit" in line and "max_story_bytes" in line


@pytest.mark.parametrize("value", ["0", "-3", "100000"])
def test_bad_scene_counts(tmp_path: Path, value: str) -> None:
    result = invoke("run", GOLDEN_BIRD, "-n", value, "-o", tmp_path / "o")
    assert result.exit_code == EXIT_USAGE
    assert "Traceback" not in result.stderr
    assert "--scenes" in result.stderr


def test_unknown_style(tmp_path: Path) -> None:
    result = invoke("run", GOLDEN_BIRD, "--style", "vaporwave", "-o", tmp_path / "o")
    line = one_line_error(result)
    assert "unknown style 'vaporwave'" in line and "cinematic" in line
    assert not (tmp_path / "o").exists()


def test_bad_size(tmp_path: Path) -> None:
    result = invoke("run", GOLDEN_BIRD, "--size", "big", "-o", tmp_path / "o")
    assert result.exit_code == EXIT_USAGE
    assert "WIDTHxHEIGHT" in result.stderr


def test_output_folder_that_is_a_file(tmp_path: Path) -> None:
    target = _write(tmp_path / "taken", b"keep me")
    line = one_line_error(invoke("run", GOLDEN_BIRD, "-o", target))
    assert "is a file" in line
    assert target.read_bytes() == b"keep me"


def test_output_folder_with_foreign_content_is_not_clobbered(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    _write(folder / "index.html", b"<p>my page</p>")
    line = one_line_error(invoke("run", GOLDEN_BIRD, "-o", folder))
    assert "did not make" in line
    assert (folder / "index.html").read_bytes() == b"<p>my page</p>"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_output_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        line = one_line_error(invoke("run", GOLDEN_BIRD, "-o", folder / "project"))
    finally:
        folder.chmod(0o700)
    assert "permission denied" in line.lower()


def test_unwritable_output_folder_is_one_line(tmp_path: Path, monkeypatch) -> None:
    """Writing fails (read-only media, full disk): one line, and earlier scenes stay intact."""
    out = tmp_path / "gb"
    assert invoke("run", GOLDEN_BIRD, "-n", "3", "-o", out, "-q").exit_code == 0
    before = digests(out)
    manifest = (out / "storyboard.json").read_bytes()

    import storyframe.project as project_module

    def refuse(path: Path, data: bytes) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(project_module, "atomic_write", refuse)
    result = invoke("images", out, "--force", "-q")
    assert result.exit_code == EXIT_PROJECT
    line = one_line_error(result)
    assert "permission denied" in line.lower() and "--out" in line
    assert digests(out) == before
    assert (out / "storyboard.json").read_bytes() == manifest


def test_failed_scenes_exit_non_zero_and_name_the_scenes(tmp_path: Path, monkeypatch) -> None:
    from storyframe.builtins.placeholder import PlaceholderImageProvider
    from storyframe.errors import ContentRejected

    original = PlaceholderImageProvider.generate

    async def flaky(self, request):
        if request.scene_number == 2:
            raise ContentRejected("refused for the test")
        return await original(self, request)

    monkeypatch.setattr(PlaceholderImageProvider, "generate", flaky)
    out = tmp_path / "gb"
    result = invoke("run", GOLDEN_BIRD, "-n", "3", "-o", out, "-q")
    assert result.exit_code == EXIT_PARTIAL
    assert "scene 2 failed" in result.stderr and "refused for the test" in result.stderr
    board = json.loads((out / "storyboard.json").read_text())
    assert [s["status"] for s in board["scenes"]] == ["done", "failed", "done"]
    assert "refused for the test" in board["scenes"][1]["error"]
    monkeypatch.setattr(PlaceholderImageProvider, "generate", original)
    summary = json.loads(invoke("run", GOLDEN_BIRD, "-n", "3", "-o", out, "--json").stdout)
    assert summary["drawn"] == [2] and summary["ok"]


def test_short_story_yields_fewer_scenes_with_a_note(tmp_path: Path) -> None:
    story = _write(tmp_path / "short.txt", b"The fox ran. The hen hid. The farmer laughed.")
    result = invoke("run", story, "-n", "8", "-o", tmp_path / "o", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert 1 <= summary["scenes"] < 8
    assert any("long enough for" in n for n in summary["notes"])


def test_verbose_shows_traceback(tmp_path: Path) -> None:
    result = invoke("-v", "run", tmp_path / "missing.txt")
    assert result.exit_code == EXIT_USAGE
    assert "Traceback" in result.stderr


def test_json_and_quiet_keep_stdout_clean(tmp_path: Path) -> None:
    result = invoke("run", GOLDEN_BIRD, "-n", "2", "-o", tmp_path / "o", "--json")
    json.loads(result.stdout)
    quiet = invoke("run", GOLDEN_BIRD, "-n", "2", "-o", tmp_path / "q", "-q")
    assert quiet.stdout == "" and quiet.stderr == ""


def test_a_project_in_use_by_another_command_is_refused(tmp_path: Path) -> None:
    import fcntl

    out = tmp_path / "busy"
    assert invoke("scenes", GOLDEN_BIRD, "-n", "2", "-o", out, "-q").exit_code == 0
    with open(out / ".storyframe.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        line = one_line_error(invoke("images", out, "-q"))
    assert "in use by another storyframe command" in line
    assert invoke("images", out, "-q").exit_code == 0


def test_a_fifty_megabyte_story_is_refused_by_the_default_limit(tmp_path: Path) -> None:
    story = tmp_path / "huge.txt"
    with story.open("wb") as handle:
        handle.truncate(50_000_000)  # sparse: costs no disk
    line = one_line_error(invoke("run", story, "-o", tmp_path / "o"))
    assert "50.0 MB, over the 20.0 MB limit" in line
