"""routing.portfolio: several searches at once (forked), the best kept, failed children ignored."""

from __future__ import annotations

import math
import os

from routing import portfolio
from routing.backend import Outcome, Task
from routing.check import check
from routing.sequence import day_problem
from routing.solve import solve
from routing.synthetic import tight_day


def test_two_searches_keep_the_cheaper_plan_and_say_which_seed_won() -> None:
    # given: a hard 60-outlet day, searches that end by patience (so each seed's result is reproducible)
    problem = day_problem(**tight_day(1))  # type: ignore[arg-type]
    # when
    single = solve(problem, time_limit=5.0, seed=0, patience=300)
    both = solve(problem, time_limit=5.0, seed=0, patience=300, workers=2)
    # then: the portfolio ran seeds 0 and 1 and kept the cheaper, which is never worse than seed 0 alone
    assert check(problem, both) == [] and both.dropped == ()
    report = both.stats["portfolio"]
    assert report["workers"] == 2 and len(report["costs"]) == 2  # type: ignore[index]
    assert report["costs"][0] == single.distance  # type: ignore[index]
    assert both.distance == min(report["costs"]) <= single.distance  # type: ignore[index]


def test_a_child_that_fails_is_ignored_and_leaves_no_process_behind() -> None:
    # given: a backend that only works for the caller's own seed
    parent = os.getpid()

    def flaky(task: Task) -> Outcome:
        if os.getpid() != parent:
            raise RuntimeError("child crashed")
        return Outcome(plan=[[0]], stats={"cost": 7, "solver_feasible": True})

    problem = day_problem(**tight_day(0, n=3))  # type: ignore[arg-type]
    task = Task(problem, (0, 1, 2), (0,), time_limit=1.0)
    # when
    outcome = portfolio.run(flaky, task, workers=3)
    # then
    assert outcome.plan == [[0]] and outcome.stats["portfolio"]["costs"] == [7.0]  # type: ignore[index]
    assert not _children_of(parent)


def test_an_infeasible_outcome_never_beats_a_feasible_one() -> None:
    assert portfolio.cost_of(Outcome([], {"cost": 5, "solver_feasible": False})) == math.inf
    assert portfolio.cost_of(Outcome([], {"cost": None, "solver_feasible": True})) == math.inf
    assert portfolio.cost_of(Outcome([], {"cost": 9, "solver_feasible": True})) == 9.0


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry))
    return children
