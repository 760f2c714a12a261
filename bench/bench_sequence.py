"""Sequencing a 60-outlet order-booker day with opening hours: the product's 1 s call against a 30 s search.

Days come from `routing.synthetic`: `beat` (a realistic day: 60 outlets in ~3 x 3 km, most open all day, some
mornings or afternoons only, 4-8 min visits, 09:00-18:00 at 15 km/h) and `tight` (11 x 11 km, 60% of outlets
open only mornings or only afternoons, 10% with two short windows: travel is half the day). Each day is solved
three ways on the same matrices, one after the other:
  quick      `routing.sequence.sequence_route(**day, time_limit=1.0, seed=0)`: exactly the product's call (the
             patience that ends a converged search early, one core);
  portfolio  the same with workers = cores (routing.portfolio; skipped on one core or BENCH_SEQUENCE_WORKERS=1);
  reference  `routing.solve.solve(day_problem(**day), time_limit=30, seed=0)` without patience: 30 s of search.
Every plan is checked by `routing.check.check` and must serve every outlet (a plan that drops one fails).

Results: sequence_60_distance and sequence_60_portfolio_distance = total distance of the 1 s plans over the total
of the 30 s plans (goal: within 0.5%); per-day gaps are in params. sequence_60_seconds = the slowest 1 s call
against the 30 s search's time (goal: under 1 s, i.e. ratio <= 1/30).
Scales: small = 2 days of each kind, 10 s reference (~1 min); full = 6 of each, 30 s (~7 min). No database.
"""

from __future__ import annotations

import os
import sys
import time
from statistics import mean
from typing import Any

from routing.check import check
from routing.sequence import day_problem, sequence_route
from routing.solve import solve
from routing.synthetic import beat, tight_day

from .common import BenchError, Result, by_scale

KINDS = {"beat": beat, "tight": tight_day}


def _workers() -> int:
    raw = os.environ.get("BENCH_SEQUENCE_WORKERS", "").strip()
    try:
        return int(raw) if raw else (os.cpu_count() or 1)
    except ValueError as exc:
        raise BenchError(f"BENCH_SEQUENCE_WORKERS: '{raw}' is not a number.") from exc


def _judged(problem: Any, solution: Any, label: str) -> int:
    errors = check(problem, solution) + [f"dropped {d.stop_id}: {d.reason}" for d in solution.dropped]
    if errors:
        raise BenchError(f"{label}: infeasible plan: {'; '.join(errors[:3])}")
    return int(solution.distance)


def run(scale: str) -> list[Result]:
    days, reference_s = by_scale(scale, small=(2, 10.0), full=(6, 30.0))
    workers = _workers()
    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    for kind, make in KINDS.items():
        for seed in range(days):
            day: dict[str, Any] = make(seed)
            problem = day_problem(**day)
            label = f"{kind}({seed})"
            started = time.perf_counter()
            quick = sequence_route(**day, time_limit=1.0, seed=0)
            quick_s = time.perf_counter() - started
            row: dict[str, Any] = {"day": label, "quick_m": _judged(problem, quick, label),
                                   "quick_s": round(quick_s, 3)}
            if workers > 1:
                started = time.perf_counter()
                both = sequence_route(**day, time_limit=1.0, seed=0, workers=workers)
                row.update(portfolio_m=_judged(problem, both, label),
                           portfolio_s=round(time.perf_counter() - started, 3))
            started = time.perf_counter()
            slow = solve(problem, time_limit=reference_s, seed=0)
            row.update(reference_m=_judged(problem, slow, label), reference_s=round(time.perf_counter() - started, 2))
            for key in ("quick", "portfolio"):
                if f"{key}_m" in row:
                    row[f"{key}_gap_pct"] = round(100 * (row[f"{key}_m"] / row["reference_m"] - 1), 3)
            rows.append(row)
            print(f"sequence {label}: " + ", ".join(f"{k} {v}" for k, v in row.items() if k != "day"),
                  file=sys.stderr, flush=True)
    reference_total = sum(r["reference_m"] for r in rows)
    params = {"scale": scale, "days": len(rows), "outlets_per_day": 60, "reference_time_limit_s": reference_s,
              "workers": workers, "rows": rows, "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
              "quick_gap_pct": {"mean": round(mean(r["quick_gap_pct"] for r in rows), 3),
                                "max": max(r["quick_gap_pct"] for r in rows)}}
    if workers > 1:
        params["portfolio_gap_pct"] = {"mean": round(mean(r["portfolio_gap_pct"] for r in rows), 3),
                                       "max": max(r["portfolio_gap_pct"] for r in rows)}
    baseline = f"total distance of {reference_s:g} s searches"
    results = [Result(name="sequence_60_distance", value=sum(r["quick_m"] for r in rows), unit="m",
                      baseline=baseline, baseline_value=reference_total, goal="ratio <= 1.005", params=params)]
    if workers > 1:
        results.append(Result(name="sequence_60_portfolio_distance", value=sum(r["portfolio_m"] for r in rows),
                              unit="m", baseline=baseline, baseline_value=reference_total, goal="ratio <= 1.005",
                              params=params))
    results.append(Result(name="sequence_60_seconds", value=max(r["quick_s"] for r in rows), unit="s",
                          baseline=f"the {reference_s:g} s search (mean seconds)",
                          baseline_value=mean(r["reference_s"] for r in rows),
                          goal=f"ratio <= {1 / reference_s:.4f}", params={"rows": rows}))
    return results
