"""Benchmark (not a test): a 60-outlet day sequenced in 1 s against a 30 s solve of the same day.

Run: .venv/bin/python -m tests.routing.sequence_benchmark [instances per kind] [long seconds]
Kinds: `beat` (realistic order-booker day, tests.routing.helpers.beat) and `tight` (tests.routing.helpers.tight_day).
The 30 s reference is `solve(..., time_limit=30)` without patience, i.e. it really searches for 30 s.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable
from typing import Any

from routing.check import check
from routing.sequence import day_problem, sequence_route
from routing.solve import solve
from tests.routing.helpers import beat, tight_day

KINDS: dict[str, Callable[[int], dict[str, Any]]] = {"beat": beat, "tight": tight_day}


def main(count: int = 4, long_limit: float = 30.0) -> None:
    for kind, make in KINDS.items():
        gaps, times = [], []
        for seed in range(count):
            day = make(seed)
            problem = day_problem(**day)
            quick = sequence_route(**day, time_limit=1.0, seed=0)
            slow = solve(problem, time_limit=long_limit, seed=0)
            assert not check(problem, quick) and not check(problem, slow)
            gap = 100 * (quick.distance / slow.distance - 1)
            gaps.append(gap)
            times.append(quick.runtime)
            print(json.dumps({"kind": kind, "seed": seed, "quick_m": quick.distance, "quick_s": round(quick.runtime, 3),
                              "quick_dropped": len(quick.dropped), "slow_m": slow.distance,
                              "slow_dropped": len(slow.dropped), "gap_pct": round(gap, 2)}), flush=True)
        print(f"{kind}: mean gap {statistics.mean(gaps):.2f}%, max {max(gaps):.2f}%, "
              f"max time {max(times):.2f} s", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4, float(sys.argv[2]) if len(sys.argv) > 2 else 30.0)
