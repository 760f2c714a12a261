"""Run the benchmarks and record them.

    BENCH_SCALE=small python -m bench.run        # or --scale small; default full
    python -m bench.run --only bench_rls

Each `bench/bench_*.py` exposes `run(scale) -> list[Result]`; every result is printed and written to
bench-results/<name>.json. Needs the PostgreSQL environment (DATABASE_URL, DATABASE_OWNER_URL, DMS_APP_DB_ROLE).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

from .common import SCALES, BenchError, Result


def discover(only: list[str] | None = None) -> list[ModuleType]:
    import bench

    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    unknown = set(only or []) - set(names)
    if unknown:
        raise BenchError(f"No such benchmark: {', '.join(sorted(unknown))} (have {', '.join(names)}).")
    return [importlib.import_module(f"bench.{n}") for n in names if not only or n in only]


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def print_table(results: list[Result]) -> None:
    header = ("name", "value", "unit", "baseline", "baseline_value", "ratio", "goal", "")
    rows = [(r.name, _fmt(r.value), r.unit, r.baseline, _fmt(r.baseline_value), f"{r.ratio:.2f}", r.goal,
             {True: "ok", False: "MISSED", None: ""}[r.met()]) for r in results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def write_results(results: list[Result], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for r in results:
        (out / f"{r.name}.json").write_text(json.dumps(r.as_json(), indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=SCALES, default=os.environ.get("BENCH_SCALE", "full"))
    parser.add_argument("--only", nargs="*", help="module names, e.g. bench_rls")
    parser.add_argument("--out", type=Path, default=None, help="default: <project>/bench-results")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dms.settings.local")
    import django
    from django.conf import settings

    django.setup()
    results: list[Result] = []
    try:
        for module in discover(args.only):
            print(f"running {module.__name__} (scale {args.scale})", file=sys.stderr, flush=True)
            results += module.run(args.scale)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    print_table(results)
    out = args.out or Path(settings.BASE_DIR) / "bench-results"
    write_results(results, out)
    print(f"\n{len(results)} results written to {out}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
