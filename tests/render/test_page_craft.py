"""The page's storyboard craft: shot and camera, cost and provider, panel-grid toggle, phone
order, folded characters, print sheet; all without a script."""

from __future__ import annotations

import re
from pathlib import Path

from storyframe.models import Storyboard
from storyframe.render import render_html

Project = tuple[Storyboard, Path]


def _article(page: str, number: int) -> str:
    start = page.index(f'id="scene-{number:02d}"')
    return page[start : page.index("</article>", start)]


def test_each_scene_shows_shot_camera_cost_and_provider(project: Project) -> None:
    board, root = project
    board.record(1).scene.shot, board.record(1).scene.camera = "close-up", "low angle"
    board.record(2).provider, board.record(2).model, board.record(2).cost = (
        "runware",
        "flux",
        0.0038,
    )
    page = render_html(board, root)
    first = _article(page, 1)
    assert "<b>Shot</b>close-up" in first and "<b>Camera</b>low angle" in first
    assert "placeholder" in first and "$0<" in first  # a free image says so
    second = _article(page, 2)
    assert "runware" in second and "flux" in second and "$0.0038" in second
    assert 'class="framing"' not in second  # no shot or camera: no empty line
    assert "$0<" not in _article(page, 5)  # pending: nothing spent, nothing claimed


def test_panel_grid_toggle_is_css_only(project: Project) -> None:
    board, root = project
    page = render_html(board, root)
    assert '<input type="checkbox" id="compact" class="view-input"' in page
    assert '<label for="compact" class="view-toggle"' in page
    assert ".view-input:checked ~ .grid {" in page
    assert "<script" not in page
    # The toggle comes before the grid it controls (the ~ selector needs that).
    assert page.index('id="compact"') < page.index('class="grid"')


def test_scenes_come_first_on_a_phone_and_characters_fold(project: Project) -> None:
    board, root = project
    page = render_html(board, root)
    phone = re.search(r"@media \(max-width: 719px\) \{(.*?)\n\}", page, re.S)
    assert phone is not None and ".scenes { order: -1; }" in phone.group(1)
    fold = page[page.index('<details class="cast-fold">') :]
    assert "Characters (2)" in fold and "Mara, Tom" in fold.split("</summary>")[0]
    assert fold.index("grey wool coat") > fold.index("</summary>")


def test_print_css_makes_a_sheet(project: Project) -> None:
    board, root = project
    page = render_html(board, root)
    printed = page[page.index("@media print {") :]
    assert "@page { size: A4 landscape;" in printed
    assert ".toolbar" in printed and ".story" in printed and "details" in printed
    assert "break-inside: avoid" in printed
