"""Solomon C101 in the DIMACS convention: feasible and within 1% of the best known distance (827.3) in 2 s."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.check import check
from routing.instances import read_solomon
from routing.solve import solve

C101 = Path("/work/shared/data/vrptw/solomon/C101.txt")
BKS_DIMACS = 8273  # 827.3 x 10


@pytest.mark.skipif(not C101.is_file(), reason="benchmark data not available")
def test_c101_within_one_percent_in_two_seconds() -> None:
    problem = read_solomon(C101)
    solution = solve(problem, time_limit=2.0, seed=0)
    assert check(problem, solution) == []
    assert solution.dropped == ()
    assert solution.runtime < 2.5
    assert solution.distance <= BKS_DIMACS * 1.01
