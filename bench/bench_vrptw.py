"""VRPTW solution quality: our `routing.solve.solve` against the best-known solutions and plain open peers.

Every instance is read with `routing.instances.read_solomon` (DIMACS-2021 convention: distance = travel
time = trunc(10 * euclid), windows and service times x10, fleet and capacity from the file) and solved by
`routing.solve.solve(problem, time_limit=..., seed=0, solver="auto")`: exactly the product's code path. In
the same run, on the same integer data, each peer runs plainly (bench/vrptw_peers.py): PyVRP's Model with
default parameters and MaxRuntime(limit), seed 0; VROOM (pyvroom) at its default exploration level 5, which
has no time limit (its time is recorded; it is run once per instance and shared by every limit); OR-Tools
routing with PATH_CHEAPEST_ARC + GUIDED_LOCAL_SEARCH for the limit. Everything runs one at a time on one
thread, so timings are fair on a 2-core machine.

Every solution, ours and the peers', is judged twice: by our checker `routing.check.check` (peers' routes
converted into `routing.model.Solution`) and by the independent checker in vrptw_peers.py, which recomputes
distance, loads and schedules from the instance file alone. A solution that either checker faults (a window
or the capacity broken, a stop missed or served twice, too many vehicles, a misstated distance), or no
solution at all, is a failure: it counts against `..._feasible` and has no gap. (OR-Tools' PATH_CHEAPEST_ARC
builds no first solution for several tight R1/RC1 instances, e.g. R101 not even in 20 s; that is what the
plain use gives.) Gap = distance / (10 * bks_dimacs_distance) - 1, in % (bks.csv).

Results per (set, limit), e.g. vrptw_solomon_1s_*:
  mean_gap  our mean gap over our feasible solutions; baseline = the best plain peer's mean gap (most
            feasible solutions first, then lowest mean). Goal: all ours feasible, mean <= an absolute bound
            and <= best peer + 0.1 pp (a ratio of two gaps near zero says little, so `met` is overridden).
  max_gap   our worst gap; baseline = that peer's worst gap. Goal: all feasible, max <= a bound and <= the
            peer's + 0.5 pp.
  feasible  our feasible count; baseline = the number of instances; goal ratio >= 1.0.
params hold each solver's mean/max gap, feasible count and times, (in mean_gap) one row per instance, and
the 1-minute load average before and after the set: a time-limited search on a busy machine does less work,
so compare runs made on an idle one.

Scales: small = C101, C201, R101, R201, RC101, RC201 at 1 s (about 1 min; VROOM alone takes 1-11 s each).
full = all 56 Solomon at 1 s and at 5 s, and Gehring & Homberger 200, 400 and 1000 (one per class, *_2_1,
*_4_1, *_10_1) at 30 s; on the larger two the peer is PyVRP only (LARGE_SET_PEERS).
Portfolio: on a machine with several cores ours also runs with workers = cores (routing.portfolio: that many
searches at once with different seeds, best kept); its result `..._portfolio_mean_gap` must be below the best
plain single-core peer's. Everything else runs one search at a time.
Runtime, full (2 cores): Solomon 56 x (4 x 1 s + 4 x 5 s + VROOM ~5-11 s) ~ 30 min, Homberger 200 6 x (4 x 30 s
+ VROOM 8-50 s) ~ 15 min, 400 and 1000 6 x 3 x 30 s ~ 9-10 min each: about 65-70 min.

Environment:
  BENCH_VRPTW_SETS       comma-separated runs, `set@seconds` or a bare set for its default limits, e.g.
                         "solomon@1,homberger200@30" or "solomon"; sets: solomon, homberger200,
                         homberger400, homberger1000
  BENCH_VRPTW_PEERS      comma-separated subset of pyvrp,vroom,ortools ("none" for none); default all
  BENCH_VRPTW_INSTANCES  comma-separated instance names to keep, e.g. "R101,RC201"
  BENCH_VRPTW_WORKERS    searches in the portfolio run; default os.cpu_count(); 1 skips it
  BENCH_VRPTW_DATA       the data folder; default ../shared/data/vrptw next to the project
No database is used.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

from . import vrptw_peers as peers
from .common import BenchError, Result, by_scale

SEED = 0
PEERS = ("pyvrp", "vroom", "ortools")
SMALL_SOLOMON = ("C101", "C201", "R101", "R201", "RC101", "RC201")
HOMBERGER = {size: tuple(f"{c}_{size // 100}_1" for c in ("C1", "C2", "R1", "R2", "RC1", "RC2"))
             for size in (200, 400, 1000)}
SET_FOLDERS = {"solomon": "solomon", **{f"homberger{n}": f"homberger/{n}" for n in HOMBERGER}}
DEFAULT_LIMITS = {scale: {"solomon": (1.0,) if scale == "small" else (1.0, 5.0),
                          **{f"homberger{n}": (30.0,) for n in HOMBERGER}} for scale in ("small", "full")}
DEFAULT_RUNS = {"small": ("solomon@1",),
                "full": ("solomon@1", "solomon@5", "homberger200@30", "homberger400@30", "homberger1000@30")}
# Peers on the larger Homberger sets: PyVRP only by default (the strongest peer; VROOM needs minutes per 1000-stop
# instance and OR-Tools was 5.8% or worse at 200 already). BENCH_VRPTW_PEERS overrides.
LARGE_SET_PEERS = {"homberger400": ("pyvrp",), "homberger1000": ("pyvrp",)}
# (mean gap bound %, max gap bound %) per (set, limit); margins over the best peer in percentage points.
# The goals: Solomon 5 s mean <= 0.5%, max <= 3%; 1 s mean <= 1.3% (its max is bounded only by the
# margin over the best peer's); Homberger 30 s mean <= 1.5%.
GAP_BOUNDS = {("solomon", 1.0): (1.3, 5.0), ("solomon", 5.0): (0.5, 3.0), ("homberger200", 30.0): (1.5, 3.0),
              ("homberger400", 30.0): (1.5, 4.0), ("homberger1000", 30.0): (1.5, 5.0)}
DEFAULT_BOUNDS = (1.0, 3.0)
MEAN_MARGIN_PP, MAX_MARGIN_PP = 0.1, 0.5


@dataclass
class GapResult(Result):
    """A gap in %: met when all our solutions are feasible, the gap is within `bound_pct` and within
    `margin_pp` of the best peer's (when a peer has a gap at all)."""

    bound_pct: float = 1.0
    margin_pp: float = 0.1
    all_feasible: bool = True

    def met(self) -> bool | None:
        if not self.all_feasible or not self.value <= self.bound_pct:
            return False
        return math.isnan(self.baseline_value) or self.value <= self.baseline_value + self.margin_pp


@dataclass
class Outcome:
    """One solver on one instance, after both checkers."""

    distance: int | None
    routes: int
    seconds: float
    errors: list[str]
    backend: str = ""

    @property
    def feasible(self) -> bool:
        return not self.errors and self.distance is not None

    def gap(self, bks: int) -> float | None:
        return 100.0 * (self.distance / bks - 1.0) if self.feasible and self.distance is not None else None

    def row(self, bks: int) -> dict[str, Any]:
        gap = self.gap(bks)
        row: dict[str, Any] = {"distance": self.distance, "gap": None if gap is None else round(gap, 3),
                               "routes": self.routes, "seconds": round(self.seconds, 2), "feasible": self.feasible}
        if self.backend:
            row["backend"] = self.backend
        if self.errors:
            row["errors"] = self.errors[:3] + ([f"... {len(self.errors) - 3} more"] if len(self.errors) > 3 else [])
        return row


@dataclass(frozen=True)
class Product:
    """The code under test: routing.instances.read_solomon, routing.solve.solve, routing.check.check."""

    read: Callable[..., Any]
    solve: Callable[..., Any]
    check: Callable[..., list[str]]


def _product() -> Product:
    try:
        from routing.check import check
        from routing.instances import read_solomon
        from routing.solve import solve
    except ImportError as exc:
        raise BenchError(f"the routing package is incomplete ({exc}); bench_vrptw needs routing.instances, "
                         "routing.solve and routing.check.") from exc
    return Product(read=read_solomon, solve=solve, check=check)


# --- configuration ---------------------------------------------------------------------------------

def _data_dir() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "vrptw"
    path = Path(os.environ.get("BENCH_VRPTW_DATA") or default)
    if not (path / "bks.csv").is_file():
        raise BenchError(f"no VRPTW data at {path} (bks.csv missing); set BENCH_VRPTW_DATA.")
    return path


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name, "").strip()
    return None if not raw else [v.strip() for v in raw.split(",") if v.strip()]


def _runs(scale: str) -> list[tuple[str, float]]:
    specs = _env_list("BENCH_VRPTW_SETS") or list(by_scale(scale, small=DEFAULT_RUNS["small"],
                                                          full=DEFAULT_RUNS["full"]))
    runs = []
    for spec in specs:
        name, _, limit = spec.partition("@")
        if name not in SET_FOLDERS:
            raise BenchError(f"BENCH_VRPTW_SETS: unknown set '{name}' (have {', '.join(SET_FOLDERS)}).")
        try:
            limits = (float(limit),) if limit else DEFAULT_LIMITS[scale][name]
        except ValueError as exc:
            raise BenchError(f"BENCH_VRPTW_SETS: '{spec}' is not set@seconds.") from exc
        runs += [(name, lim) for lim in limits if (name, lim) not in runs]
    return runs


def _peers(set_name: str) -> list[str]:
    chosen = _env_list("BENCH_VRPTW_PEERS")
    if chosen is None:
        return list(LARGE_SET_PEERS.get(set_name, PEERS))
    if chosen == ["none"]:
        return []
    unknown = set(chosen) - set(PEERS)
    if unknown:
        raise BenchError(f"BENCH_VRPTW_PEERS: unknown {', '.join(sorted(unknown))} (have {', '.join(PEERS)}).")
    return [p for p in PEERS if p in chosen]


def _instances(data: Path, set_name: str, scale: str) -> list[Path]:
    folder = data / SET_FOLDERS[set_name]
    if set_name == "solomon":
        names = list(SMALL_SOLOMON) if scale == "small" else sorted(p.stem for p in folder.glob("*.txt"))
    else:
        names = list(HOMBERGER[int(set_name.removeprefix("homberger"))])
    keep = _env_list("BENCH_VRPTW_INSTANCES")
    names = [n for n in names if keep is None or n in keep]
    missing = [n for n in names if not (folder / f"{n}.txt").is_file()]
    if missing:
        raise BenchError(f"instances missing in {folder}: {', '.join(missing)}")
    return [folder / f"{n}.txt" for n in names]


def _bks(data: Path) -> dict[str, int]:
    """bks_dimacs_distance x 10: the same integer units as the matrices."""
    with (data / "bks.csv").open(newline="") as handle:
        return {row["instance"]: round(10 * float(row["bks_dimacs_distance"])) for row in csv.DictReader(handle)}


def _portfolio_workers() -> int:
    """Searches in our portfolio run (BENCH_VRPTW_WORKERS; default: every core, 0 or 1 = no portfolio run)."""
    raw = os.environ.get("BENCH_VRPTW_WORKERS", "").strip()
    try:
        return int(raw) if raw else (os.cpu_count() or 1)
    except ValueError as exc:
        raise BenchError(f"BENCH_VRPTW_WORKERS: '{raw}' is not a number.") from exc


# --- running and judging ---------------------------------------------------------------------------

def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def _ours(product: Product, inst: peers.Instance, problem: Any, mismatches: list[str], limit: float,
          workers: int = 1) -> Outcome:
    started = time.perf_counter()
    try:
        solution = product.solve(problem, time_limit=limit, seed=SEED, solver="auto", workers=workers)
    except Exception as exc:  # noqa: BLE001 - a crash fails this instance, not the benchmark
        traceback.print_exc(file=sys.stderr)
        return Outcome(None, 0, time.perf_counter() - started, [f"solve raised {_short(exc)}"])
    seconds = time.perf_counter() - started
    errors = [f"problem: {m}" for m in mismatches]
    errors += [f"check: {e}" for e in product.check(problem, solution)]
    errors += [f"dropped {d.stop_id}: {d.reason}" for d in solution.dropped]
    node = {s.id: s.node for s in problem.stops}
    routes = [[node.get(v.stop_id, -1) for v in r.visits] for r in solution.routes]
    independent = peers.check_routes(inst, routes)
    errors += [f"independent: {e}" for e in independent.errors]
    if solution.distance != independent.distance:
        errors.append(f"reported distance {solution.distance} != recomputed {independent.distance}")
    return Outcome(independent.distance, independent.routes, seconds, errors, backend=str(solution.solver))


def _peer(product: Product, name: str, inst: peers.Instance, problem: Any, limit: float) -> Outcome:
    started = time.perf_counter()
    try:
        if name == "pyvrp":
            run = peers.solve_pyvrp(inst, limit, seed=SEED)
        elif name == "vroom":
            run = peers.solve_vroom(inst)
        else:
            run = peers.solve_ortools(inst, limit)
    except Exception as exc:  # noqa: BLE001 - a peer's crash fails this instance, not the benchmark
        traceback.print_exc(file=sys.stderr)
        return Outcome(None, 0, time.perf_counter() - started, [f"{name} raised {_short(exc)}"])
    errors = [run.error] if run.error else []
    if run.routes:
        solution = peers.to_solution(problem, run.routes, solver=name, runtime=run.seconds)
        errors += [f"check: {e}" for e in product.check(problem, solution)]
    independent = peers.check_routes(inst, run.routes)
    errors += [f"independent: {e}" for e in independent.errors]
    if run.reported is not None and run.reported != independent.distance:
        errors.append(f"reported distance {run.reported} != recomputed {independent.distance}")
    return Outcome(independent.distance if run.routes else None, independent.routes, run.seconds, errors)


def _fmt_gap(outcome: Outcome, bks: int) -> str:
    gap = outcome.gap(bks)
    return "FAIL" if gap is None else f"{gap:.2f}%"


def _summary(outcomes: list[Outcome], bks: list[int]) -> dict[str, Any]:
    gaps = [g for o, b in zip(outcomes, bks, strict=True) if (g := o.gap(b)) is not None]
    seconds = [o.seconds for o in outcomes]
    return {"mean_gap": round(mean(gaps), 3) if gaps else None, "max_gap": round(max(gaps), 3) if gaps else None,
            "feasible": len(gaps), "instances": len(outcomes),
            "mean_seconds": round(mean(seconds), 2) if seconds else None,
            "max_seconds": round(max(seconds), 2) if seconds else None}


def _results_for(set_name: str, limit: float, scale: str, names: list[str], bks: list[int],
                 outcomes: dict[str, list[Outcome]], peer_names: list[str], workers: int) -> list[Result]:
    summaries = {solver: _summary(outs, bks) for solver, outs in outcomes.items()}
    ranked = sorted((p for p in peer_names if summaries[p]["feasible"]),
                    key=lambda p: (-summaries[p]["feasible"], summaries[p]["mean_gap"]))
    best = ranked[0] if ranked else None
    ours = summaries["ours"]
    n = len(names)
    all_feasible = ours["feasible"] == n
    mean_bound, max_bound = GAP_BOUNDS.get((set_name, limit), DEFAULT_BOUNDS)
    label = f"{limit:g}s"
    common = {"scale": scale, "set": set_name, "time_limit_s": limit, "instances": n, "seed": SEED,
              "best_peer": best, "bks": "bks_dimacs_distance x 10 (integer matrix trunc(10*euclid))",
              "ours": 'routing.solve.solve(read_solomon(path), time_limit, seed=0, solver="auto")',
              "portfolio": f"the same with workers={workers}: {workers} searches at once, seeds 0..{workers - 1}, "
                           "best kept (routing.portfolio)",
              "peers": {"pyvrp": "Model, default SolveParams, MaxRuntime(limit), seed 0",
                        "vroom": "exploration level 5, 1 thread, no time limit; one run per instance, shared by "
                                 "every limit",
                        "ortools": "PATH_CHEAPEST_ARC + GUIDED_LOCAL_SEARCH, time limit"},
              "solvers": summaries}

    def peer_value(key: str) -> float:
        value = summaries[best][key] if best else None
        return float("nan") if value is None else float(value)

    nan = float("nan")
    mean_gap = GapResult(
        name=f"vrptw_{set_name}_{label}_mean_gap", value=nan if ours["mean_gap"] is None else ours["mean_gap"],
        unit="%", baseline=f"best plain peer mean gap ({best or 'none'})", baseline_value=peer_value("mean_gap"),
        goal=f"all feasible, mean gap <= {mean_bound:g}% and <= best peer + {MEAN_MARGIN_PP:g} pp",
        params={**common, "rows": [{"instance": name, "bks": b, **{s: outcomes[s][i].row(b) for s in outcomes}}
                                   for i, (name, b) in enumerate(zip(names, bks, strict=True))]},
        bound_pct=mean_bound, margin_pp=MEAN_MARGIN_PP, all_feasible=all_feasible)
    max_gap = GapResult(
        name=f"vrptw_{set_name}_{label}_max_gap", value=nan if ours["max_gap"] is None else ours["max_gap"],
        unit="%", baseline=f"best plain peer max gap ({best or 'none'})", baseline_value=peer_value("max_gap"),
        goal=f"all feasible, max gap <= {max_bound:g}% and <= best peer + {MAX_MARGIN_PP:g} pp",
        params=dict(common), bound_pct=max_bound, margin_pp=MAX_MARGIN_PP, all_feasible=all_feasible)
    feasible = Result(
        name=f"vrptw_{set_name}_{label}_feasible", value=ours["feasible"], unit="instances",
        baseline="instances run", baseline_value=n, goal="ratio >= 1.0", params=dict(common))
    results: list[Result] = [mean_gap, max_gap, feasible]
    if "portfolio" in summaries:
        mine = summaries["portfolio"]
        results.append(GapResult(
            name=f"vrptw_{set_name}_{label}_portfolio_mean_gap",
            value=nan if mine["mean_gap"] is None else mine["mean_gap"], unit="%",
            baseline=f"best plain peer mean gap ({best or 'none'})", baseline_value=peer_value("mean_gap"),
            goal=f"{workers} cores: all feasible and mean gap below the best peer's",
            params=dict(common), bound_pct=mean_bound, margin_pp=-0.001,
            all_feasible=mine["feasible"] == n))
    for result in results:
        if isinstance(result, GapResult):
            result.params["goal_met"] = result.met()
    return results


def run(scale: str) -> list[Result]:
    by_scale(scale, small=None, full=None)  # validates the scale
    product = _product()
    data = _data_dir()
    bks_all = _bks(data)
    runs, workers = _runs(scale), _portfolio_workers()
    vroom_cache: dict[str, Outcome] = {}  # VROOM has no time limit: one run per instance serves every limit
    results: list[Result] = []
    for set_name, limit in runs:
        paths = _instances(data, set_name, scale)
        names = [p.stem for p in paths]
        unknown = [n for n in names if n not in bks_all]
        if unknown:
            raise BenchError(f"no BKS for {', '.join(unknown)} in bks.csv")
        bks = [bks_all[n] for n in names]
        peer_names = _peers(set_name)
        ours = ["ours"] + (["portfolio"] if workers > 1 else [])
        outcomes: dict[str, list[Outcome]] = {**{o: [] for o in ours}, **{p: [] for p in peer_names}}
        load_before = os.getloadavg()[0]
        for path, b in zip(paths, bks, strict=True):
            inst = peers.read_instance(path)
            problem = product.read(path)
            mismatches = peers.problem_mismatches(inst, problem)
            outcomes["ours"].append(_ours(product, inst, problem, mismatches, limit))
            if workers > 1:
                outcomes["portfolio"].append(_ours(product, inst, problem, mismatches, limit, workers))
            for p in peer_names:
                if p == "vroom":
                    if path.stem not in vroom_cache:
                        vroom_cache[path.stem] = _peer(product, p, inst, problem, limit)
                    outcomes[p].append(vroom_cache[path.stem])
                else:
                    outcomes[p].append(_peer(product, p, inst, problem, limit))
            line = " | ".join(f"{s} {_fmt_gap(outs[-1], b)}" for s, outs in outcomes.items())
            print(f"vrptw {set_name} {limit:g}s {path.stem}: {line}", file=sys.stderr, flush=True)
        batch = _results_for(set_name, limit, scale, names, bks, outcomes, peer_names, workers)
        for result in batch:  # a busy machine cuts every time-limited search short: record how busy it was
            result.params["loadavg_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            result.params["cpus"] = os.cpu_count()
        results += batch
    return results
