"""The images stage: the approved scenes that need it drawn, with the sheets they use first.

:func:`draw` picks the scenes to draw (not done, prompt edited, drawn by a fallback, asked for),
draws the character sheets when references are on, then the scenes through a
:class:`~storyframe.drawing.SceneDrawer`, saving the manifest and the page at the end.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from storyframe import shutdown
from storyframe.drawing import SceneDrawer, end_stage
from storyframe.errors import ProjectError
from storyframe.image_chain import ImageChain
from storyframe.models import SceneRecord, Storyboard
from storyframe.project import Project
from storyframe.prompts import compose_prompt
from storyframe.run_summary import Summary
from storyframe.takes import (
    Take,
    draw_in_rounds,
    ensure_variants,
    plan_extras,
    take_seed,
    was_drawn,
)

if TYPE_CHECKING:
    from storyframe.cost import Budget
    from storyframe.pipeline import Pipeline


async def draw(
    pipeline: Pipeline,
    project: Project,
    board: Storyboard,
    *,
    only: Iterable[int] | None = None,
    redraw: bool = False,
    image_providers: list[str] | None = None,
    concurrency: int | None = None,
    keep_fallbacks: bool = False,
    budget: Budget | None = None,
    variants: int = 1,
    takes: Mapping[int, Take] | None = None,
    references: bool | None = None,
) -> Summary:
    """The images stage of :meth:`storyframe.pipeline.Pipeline.draw` (its docstring says what
    each argument does)."""
    from storyframe.cost import cost_dict, cost_line, stage_costs

    started = time.perf_counter()
    style = pipeline.registry.style(board.settings.style)
    asked_takes = dict(takes or {})
    wanted = set(only) if only is not None else None
    if asked_takes:
        wanted = (wanted or set()) | set(asked_takes)
    if wanted is not None:
        known = {r.scene.number for r in board.scenes}
        missing = sorted(wanted - known)
        if missing:
            raise ProjectError(
                f"{project.folder} has no scene {', '.join(map(str, missing))} "
                f"(it has 1 to {len(board.scenes)}).",
                hint="Pick a scene number from storyboard.json.",
            )
    summary = Summary(project=project.folder, total=len(board.scenes))
    summary.text_provider = board.text_provider
    summary.text_fallback = board.text_fallback
    todo: list[SceneRecord] = []
    stop_at: dict[int, str] = {}
    seeds: dict[int, int] = {}
    prompts: dict[int, str] = {}
    for record in board.scenes:
        number = record.scene.number
        if wanted is not None and number not in wanted:
            if record.status == "done":
                summary.kept.append(number)
            continue
        if not record.approved:
            summary.unapproved.append(number)
            continue
        prompt = prompts[number] = compose_prompt(record.scene, style, board.analysis)
        ensure_variants(record)  # a record made before variants: its image is variant 1
        if number in asked_takes:
            record.fallback = None
            seeds[number] = take_seed(board.settings.seed, record, prompt, asked_takes[number])
            todo.append(record)
            continue
        # A scene being drawn resumes with the seed it was (or is being) drawn with; a redraw
        # of the chosen image keeps its seed; an edited prompt starts from the usual seed.
        job_seed = record.job.seed if record.job is not None else None
        seed = job_seed if job_seed is not None else record.seed
        if seed is not None and (record.status != "done" or was_drawn(record, prompt)):
            seeds[number] = seed
        unchanged = (
            record.status == "done"
            and not redraw
            and wanted is None
            and was_drawn(record, prompt)
            and project.image_intact(record.image)
        )
        if unchanged and record.fallback is not None and record.provider and not keep_fallbacks:
            stop_at[number] = record.provider
            todo.append(record)
            continue
        if unchanged:
            summary.kept.append(number)
            continue
        if record.status == "done" and not was_drawn(record, prompt) and wanted is None:
            pipeline.reporter.note(f"scene {number}: prompt edited since drawn; drawing it again")
        if record.fallback is not None and not unchanged:
            record.fallback = None
        todo.append(record)

    extras = plan_extras(board, todo, prompts, variants, asked_takes)
    project.prepare()
    names = image_providers or board.settings.image_providers
    if references is None:
        references = pipeline.config.image.references
    sheets = None
    if (todo or extras) and references:
        from storyframe.sheets import draw_sheets

        sheets = await draw_sheets(
            pipeline,
            project,
            board,
            image_providers=names,
            concurrency=concurrency,
            budget=budget,
            for_scenes=True,
        )
    pipeline.reporter.stage("images", len(todo) + sum(extras.values()))
    if todo or extras:
        drawer = SceneDrawer(project, board, style, pipeline.reporter)
        drawer.budget = budget
        drawer.prompts = prompts
        if references:
            from storyframe.characters import References

            drawer.references = References(project, board, note=drawer.note)
        chain = ImageChain(
            pipeline.registry.image_slots(names),
            notify=pipeline.reporter.note,
            on_submit=drawer.on_submit,
            on_paid=drawer.on_paid,
        )
        try:
            with shutdown.saving(lambda: project.save(board)):
                rounds = await draw_in_rounds(
                    drawer,
                    chain,
                    todo,
                    seeds=seeds,
                    extras=extras,
                    prompts=prompts,
                    concurrency=concurrency or pipeline.config.run.concurrency,
                    stop_at=stop_at,
                )
        finally:
            await end_stage(
                pipeline, project, board, chain, drawer, stage="images", started=started
            )
        result = rounds.result
        summary.done = result.done
        summary.kept = [n for n in summary.kept if n not in result.done]
        summary.recovered = result.recovered
        summary.failed = result.failed
        summary.image_providers = result.providers
        summary.kept.extend(result.kept_fallbacks)
        summary.held = rounds.held
        spent = rounds.spent
    else:
        stage_costs(board)
        if project.journal_path.exists():  # a killed run's last changes: fold them in
            project.save(board)
        pipeline.render(project, board)
        spent = []
    asked = set(summary.done) | set(summary.kept)
    summary.image_fallbacks = {
        r.scene.number: r.fallback
        for r in board.scenes
        if r.fallback is not None and r.scene.number in asked and r.status == "done"
    }
    summary.sheets = sheets
    sheet_cost = sum(s.cost or 0.0 for s in board.sheets if s.image is not None)
    summary.cost = round(board.image_cost + board.text_usage.cost + sheet_cost, 8)
    summary.notes = list(board.notes)
    summary.costs = cost_dict(board)
    summary.cost_text = cost_line(board)
    # Each image bought in this command (not those recovered, paid for in an earlier run);
    # the budget was settled with them round by round, and with the sheets as they were drawn.
    images_spent = None if None in spent else sum(c for c in spent if c is not None)
    if sheets is not None and images_spent is not None:
        images_spent = None if sheets.spent is None else images_spent + sheets.spent
    summary.spent = images_spent
    return summary


__all__ = ["draw"]
