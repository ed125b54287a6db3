"""Print the fault table: ``python -m tests.faults [-k SUBSTRING] [--problems]``.

Runs the same cases as ``pytest tests/faults`` and prints a Markdown table (fault, outcome, exit
code, retries, images paid, wall time, verdict), then the totals: fault kinds, runs, scenes
lost, images paid twice, and the longest time a fault kept a run from finishing against its
budget. Exits 1 if any case breaks the contract.
"""

from __future__ import annotations

import argparse
import sys

from tests.faults.cases import CASES
from tests.faults.harness import Outcome, run_case, with_retries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument("-k", default="", help="only cases whose name contains this")
    parser.add_argument("--problems", action="store_true", help="list each case's problems")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if args.k.lower() in c.kind.lower()]
    rows: list[tuple[object, Outcome]] = []
    columns = "fault outcome exit expected retries images_paid wall_(s) budget_(s) verdict"
    print("| " + " | ".join(c.replace("_", " ") for c in columns.split()) + " |")
    print("|---|---|---|---|---|---|---|---|---|")
    for case in cases:
        outcome = with_retries(case, run_case(case))
        rows.append((case, outcome))
        verdict = "pass" if not outcome.problems else "FAIL: " + outcome.problems[0][:90]
        expected = "/".join(str(x) for x in sorted(case.exits))
        print(
            f"| {case.kind} | {outcome.outcome} | {outcome.exit_code} | {expected} | "
            f"{outcome.retries} | {outcome.paid} | {outcome.wall:.2f} | {case.budget:.0f} | "
            f"{verdict.replace('|', '/')} |",
            flush=True,
        )
        if args.problems and outcome.problems:
            for problem in outcome.problems:
                print(f"|  | ↳ {problem.replace('|', '/')[:300]} | | | | | | | |", flush=True)
    kinds = {case.kind.split(" #")[0] for case, _ in rows}  # type: ignore[attr-defined]
    lost = sum(o.lost for _, o in rows)
    twice = sum(o.paid_twice for _, o in rows)
    worst_case, worst = max(rows, key=lambda r: r[1].wall / r[0].budget)  # type: ignore[attr-defined]
    passed = sum(1 for _, o in rows if not o.problems)
    print()
    print(f"- fault kinds: {len(kinds)}")
    print(f"- runs: {len(rows)} ({passed} pass, {len(rows) - passed} fail)")
    print(f"- scenes lost: {lost}")
    print(f"- images paid twice: {twice}")
    print(
        f"- longest a fault kept a run from finishing: {worst.wall:.2f} s of a "
        f"{worst_case.budget:.0f} s budget ({worst_case.kind})"  # type: ignore[attr-defined]
    )
    print(f"- total wall time: {sum(o.wall for _, o in rows):.1f} s")
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
