"""Another take of a scene (--reseed, --seed, --prompt), --variants K, and `pick`.

The placeholder provider draws the seed and prompt into its card, so another seed or prompt
gives another image (another sha256).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from storyframe.cli import EXIT_USAGE, cli
from storyframe.prompts import scene_seed
from storyframe.takes import next_seed, seed_sequence

REPO = Path(__file__).resolve().parents[2]
GOLDEN_BIRD = REPO / "examples" / "stories" / "golden-bird.txt"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result: Result) -> str:
    assert result.exit_code == EXIT_USAGE, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and "Traceback" not in result.stderr
    return lines[0]


def manifest(folder: Path) -> dict:
    return json.loads((folder / "storyboard.json").read_text())


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def shown(folder: Path, number: int) -> dict:
    result = invoke("show", folder, str(number), "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def large_image(folder: Path, number: int) -> str:
    """The src of the image the page shows large for scene ``number``."""
    page = (folder / "index.html").read_text()
    article = page.split(f'id="scene-{number:02d}"', 1)[1].split("</article>", 1)[0]
    found = re.search(r'<figure class="frame">\s*<img src="([^"]+)"', article)
    assert found, article[:400]
    return found.group(1)


@pytest.fixture
def drawn(tmp_path: Path) -> Path:
    out = tmp_path / "gb"
    result = invoke(
        "run", GOLDEN_BIRD, "-n", "3", "-o", out, "-q", "--image-provider", "placeholder"
    )
    assert result.exit_code == 0, result.stderr
    return out


def test_reseed_draws_another_image_and_keeps_the_old_one_as_variant_1(drawn: Path) -> None:
    old = drawn / "images" / "scene-02.png"
    old_sha, old_seed = sha(old), manifest(drawn)["scenes"][1]["seed"]

    result = invoke("images", drawn, "--scene", "2", "--reseed", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["drawn"] == [2]

    record = manifest(drawn)["scenes"][1]
    assert record["image"]["path"] == "images/scene-02-v2.png"
    new = drawn / record["image"]["path"]
    assert sha(new) == record["image"]["sha256"] != old_sha
    assert sha(old) == old_sha, "the earlier image is kept as it was"
    assert record["seed"] != old_seed
    # reproducible: the first seed of the scene's sequence that was not drawn yet
    assert record["seed"] == next_seed(manifest(drawn)["settings"]["seed"], 2, {old_seed})

    data = shown(drawn, 2)
    assert [(v["number"], v["seed"], v["chosen"]) for v in data["variants"]] == [
        (1, old_seed, False),
        (2, record["seed"], True),
    ]
    assert data["variants"][0]["image"].endswith("images/scene-02.png")
    assert data["variants"][0]["provider"] == "placeholder" and data["variants"][0]["cost"] == 0
    text = invoke("show", drawn, "2").stdout
    assert "Variants" in text and "scene-02.png" in text and "scene-02-v2.png" in text
    assert re.search(rf"\*\s+2\s+{record['seed']}\s+placeholder", text), text
    assert large_image(drawn, 2) == "images/scene-02-v2.png"

    # another reseed avoids both seeds drawn so far; no file is overwritten
    assert invoke("images", drawn, "--scene", "2", "--reseed", "-q").exit_code == 0
    seeds = [v["seed"] for v in shown(drawn, 2)["variants"]]
    assert len(seeds) == 3 and len(set(seeds)) == 3
    assert sha(old) == old_sha and sha(new) == record["image"]["sha256"]


def test_seed_option_records_that_seed(drawn: Path) -> None:
    before = sha(drawn / "images" / "scene-01.png")
    assert invoke("images", drawn, "--scene", "1", "--seed", "4242", "-q").exit_code == 0
    record = manifest(drawn)["scenes"][0]
    assert record["seed"] == 4242 and record["variants"][1]["seed"] == 4242
    assert record["image"]["sha256"] != before
    assert [v["chosen"] for v in shown(drawn, 1)["variants"]] == [False, True]


def test_prompt_option_saves_the_prompt_and_draws_a_new_image(drawn: Path) -> None:
    before = manifest(drawn)["scenes"][2]
    result = invoke("images", drawn, "--scene", "3", "--prompt", "a red fox in deep snow", "-q")
    assert result.exit_code == 0, result.stderr
    record = manifest(drawn)["scenes"][2]
    assert record["scene"]["image_prompt"] == "a red fox in deep snow"
    assert "a red fox in deep snow" in record["prompt"]
    assert record["image"]["sha256"] != before["image"]["sha256"]
    assert [v["prompt"] for v in record["variants"]] == [before["prompt"], record["prompt"]]
    # picking the earlier take back is not undone by the next run
    assert invoke("pick", drawn, "3", "1").exit_code == 0
    summary = json.loads(invoke("images", drawn, "--json").stdout)
    assert summary["drawn"] == [] and 3 in summary["kept"]
    assert manifest(drawn)["scenes"][2]["image"]["path"] == "images/scene-03.png"


def test_pick_swaps_the_chosen_image_and_the_page_shows_it_large(drawn: Path) -> None:
    assert invoke("images", drawn, "--scene", "2", "--reseed", "-q").exit_code == 0
    assert large_image(drawn, 2) == "images/scene-02-v2.png"

    result = invoke("pick", drawn, "2", "1")
    assert result.exit_code == 0, result.stderr
    assert "Scene 2: variant 1 chosen" in result.stdout
    record = manifest(drawn)["scenes"][1]
    assert record["image"] == record["variants"][0]["image"]
    assert (
        record["seed"]
        == record["variants"][0]["seed"]
        == scene_seed(manifest(drawn)["settings"]["seed"], 2)
    )
    assert large_image(drawn, 2) == "images/scene-02.png"
    page = (drawn / "index.html").read_text()
    assert 'class="take take--chosen"><a href="images/scene-02.png"' in page
    assert [v["chosen"] for v in shown(drawn, 2)["variants"]] == [True, False]
    # the choice holds: the next run keeps it
    assert json.loads(invoke("images", drawn, "--json").stdout)["drawn"] == []


def test_pick_and_take_errors_are_one_line(drawn: Path) -> None:
    before = (drawn / "storyboard.json").read_bytes()
    line = one_line_error(invoke("pick", drawn, "2", "2"))
    assert "scene 2 has no variant 2" in line and "only 1" in line
    assert invoke("images", drawn, "--scene", "2", "--reseed", "-q").exit_code == 0
    line = one_line_error(invoke("pick", drawn, "2", "3"))
    assert "no variant 3" in line and "1 to 2" in line
    assert "no variant 0" in one_line_error(invoke("pick", drawn, "2", "0"))
    line = one_line_error(invoke("pick", drawn, "9", "1"))
    assert "no scene 9" in line and "1 to 3" in line
    before = (drawn / "storyboard.json").read_bytes()

    line = one_line_error(invoke("images", drawn, "--reseed"))
    assert "--reseed" in line and "--scene N" in line
    assert "--scene N" in one_line_error(invoke("images", drawn, "--seed", "5"))
    assert "--scene N" in one_line_error(invoke("images", drawn, "--prompt", "a fox"))
    line = one_line_error(invoke("images", drawn, "--scene", "1", "--reseed", "--seed", "5"))
    assert "--reseed and --seed" in line
    line = one_line_error(invoke("images", drawn, "--scene", "1", "--scene", "2", "--prompt", "x"))
    assert "--prompt" in line and "one --scene" in line
    line = one_line_error(invoke("images", drawn, "--scene", "1", "--reseed", "--variants", "2"))
    assert "--variants" in line
    assert "no scene 7" in one_line_error(invoke("images", drawn, "--scene", "7", "--reseed"))
    assert "--prompt: must not be empty" in one_line_error(
        invoke("images", drawn, "--scene", "1", "--prompt", "  ")
    )
    assert (drawn / "storyboard.json").read_bytes() == before


def test_variants_on_run_draw_k_per_scene_and_a_rerun_draws_nothing(tmp_path: Path) -> None:
    out = tmp_path / "gb"
    args = ["run", GOLDEN_BIRD, "-n", "2", "-o", out, "--image-provider", "placeholder"]
    result = invoke(*args, "--variants", "3", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["drawn"] == [1, 2]
    files = sorted(p.name for p in (out / "images").iterdir())
    assert files == [
        "scene-01-v2.png", "scene-01-v3.png", "scene-01.png",
        "scene-02-v2.png", "scene-02-v3.png", "scene-02.png",
    ]  # fmt: skip
    base = manifest(out)["settings"]["seed"]
    for record in manifest(out)["scenes"]:
        number = record["scene"]["number"]
        seeds = [v["seed"] for v in record["variants"]]
        sequence = seed_sequence(base, number)
        assert seeds == [next(sequence) for _ in range(3)], "distinct, reproducible seeds"
        assert seeds[0] == scene_seed(base, number) == record["seed"]
        assert record["image"] == record["variants"][0]["image"], "the first drawn is chosen"
        assert len({v["image"]["sha256"] for v in record["variants"]}) == 3
    assert large_image(out, 1) == "images/scene-01.png"
    assert (out / "index.html").read_text().count('<li class="take') == 6

    stamp = {p.name: p.stat().st_mtime_ns for p in (out / "images").iterdir()}
    again = json.loads(invoke(*args, "--variants", "3", "--json").stdout)
    assert again["drawn"] == [] and again["kept"] == [1, 2]
    assert {p.name: p.stat().st_mtime_ns for p in (out / "images").iterdir()} == stamp


def test_variants_resume_draws_only_the_missing_ones(drawn: Path) -> None:
    assert invoke("images", drawn, "--variants", "2", "-q").exit_code == 0
    assert [len(r["variants"]) for r in manifest(drawn)["scenes"]] == [2, 2, 2]
    plan = json.loads(invoke("images", drawn, "--variants", "3", "--dry-run", "--json").stdout)
    assert plan["stages"][0]["items"] == 3
    result = json.loads(invoke("images", drawn, "--variants", "3", "--json").stdout)
    assert result["drawn"] == [1, 2, 3]
    assert [len(r["variants"]) for r in manifest(drawn)["scenes"]] == [3, 3, 3]
    assert all(r["image"]["path"].endswith(".png") and "-v" not in r["image"]["path"]
               for r in manifest(drawn)["scenes"])  # fmt: skip


def test_dry_run_counts_k_requests_per_scene(tmp_path: Path) -> None:
    out = tmp_path / "gb"
    plan = invoke(
        "run", GOLDEN_BIRD, "-n", "4", "-o", out, "--variants", "3", "--dry-run", "--json"
    )
    assert plan.exit_code == 0, plan.stderr
    assert json.loads(plan.stdout)["stages"][1]["items"] == 12
    assert not out.exists()


def test_variants_come_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "storyframe.toml"
    config.write_text("[run]\nvariants = 2\n")
    out = tmp_path / "gb"
    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "run", str(GOLDEN_BIRD), "-n", "2", "-o", str(out), "-q"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    assert [len(r["variants"]) for r in manifest(out)["scenes"]] == [2, 2]


def test_a_manifest_without_variants_gets_its_image_as_variant_1(drawn: Path) -> None:
    data = manifest(drawn)
    for record in data["scenes"]:
        record.pop("variants")
    (drawn / "storyboard.json").write_text(json.dumps(data))
    first = data["scenes"][0]
    assert shown(drawn, 1)["variants"][0]["seed"] == first["seed"]

    assert invoke("images", drawn, "--scene", "1", "--reseed", "-q").exit_code == 0
    record = manifest(drawn)["scenes"][0]
    assert record["variants"][0]["image"] == first["image"]
    assert record["variants"][0]["seed"] == first["seed"]
    assert record["variants"][0]["prompt"] == first["prompt"]
    assert record["image"]["path"] == "images/scene-01-v2.png"


def test_a_redraw_keeps_the_variants_and_a_damaged_chosen_image_is_drawn_in_place(
    drawn: Path,
) -> None:
    assert invoke("images", drawn, "--scene", "2", "--reseed", "-q").exit_code == 0
    kept = {p.name: sha(p) for p in (drawn / "images").glob("scene-02*")}
    chosen = manifest(drawn)["scenes"][1]
    # a redraw draws the chosen image again (its seed and prompt): the very same image
    assert invoke("images", drawn, "--scene", "2", "-q").exit_code == 0
    record = manifest(drawn)["scenes"][1]
    assert record["image"] == chosen["image"] and record["seed"] == chosen["seed"]
    assert len(record["variants"]) == 2, "the same bytes again are no new variant"
    assert {p.name: sha(p) for p in (drawn / "images").glob("scene-02*")} == kept

    (drawn / "images" / "scene-02-v2.png").write_bytes(b"damaged")
    assert invoke("images", drawn, "-q").exit_code == 0
    record = manifest(drawn)["scenes"][1]
    assert record["image"] == chosen["image"] and len(record["variants"]) == 2
    assert {p.name: sha(p) for p in (drawn / "images").glob("scene-02*")} == kept

    # another prompt: a new variant beside the two, from the usual seed; nothing overwritten
    assert invoke("edit", drawn, "2", "--prompt", "a golden bird at night").exit_code == 0
    assert invoke("images", drawn, "-q").exit_code == 0
    record = manifest(drawn)["scenes"][1]
    assert record["image"]["path"] == "images/scene-02-v3.png"
    assert record["seed"] == record["variants"][0]["seed"]
    assert {name: sha(drawn / "images" / name) for name in kept} == kept


def test_a_failed_take_leaves_the_image_drawn_before_on_the_page(drawn: Path) -> None:
    data = manifest(drawn)
    record = data["scenes"][1]
    record["status"], record["error"] = "failed", "runware: timeoutProvider"
    (drawn / "storyboard.json").write_text(json.dumps(data))

    result = invoke("render", drawn)
    assert result.exit_code == 0, result.stderr
    assert large_image(drawn, 2) == "images/scene-02.png"
    page = (drawn / "index.html").read_text()
    article = page.split('id="scene-02"', 1)[1].split("</article>", 1)[0]
    assert "The last drawing failed (runware: timeoutProvider)" in article
    assert 'class="panel panel--failed"' not in article
