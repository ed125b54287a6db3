"""One test per fault: the run ends as the contract says, loses nothing, pays nothing twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.cases import CASES
from tests.faults.harness import Case, run_case

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1", "localhost"])


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_fault(case: Case, tmp_path: Path) -> None:
    outcome = run_case(case, tmp_path)
    if outcome.problems:
        pytest.fail(
            f"{case.kind}: {outcome.outcome}, exit {outcome.exit_code}, {outcome.wall:.2f} s\n- "
            + "\n- ".join(outcome.problems),
            pytrace=False,
        )
