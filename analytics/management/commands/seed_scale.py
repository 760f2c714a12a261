import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = ("Create one tenant with realistic data at scale (the design's large tenant by default: 500 distributors, "
            "200,000 outlets, 5,000 order-bookers, 150,000 orders of 10 lines a day) for benchmarks; print the row "
            "counts and the seconds each phase took. Deterministic for a seed; the slug must be new.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True, help="the new tenant's slug")
        parser.add_argument("--days", type=int, default=1, help="business dates, ending at --end-date")
        parser.add_argument("--orders", type=int, default=150_000, help="secondary orders a day")
        parser.add_argument("--lines", type=int, default=10, help="lines per order")
        parser.add_argument("--bookers", type=int, default=5_000)
        parser.add_argument("--distributors", type=int, default=500)
        parser.add_argument("--outlets", type=int, default=200_000)
        parser.add_argument("--skus", type=int, default=2_000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--end-date", help="the last business date, YYYY-MM-DD (default: yesterday, tenant-local)")
        parser.add_argument("--tz", default="Asia/Karachi", help="the tenant's time zone")
        parser.add_argument("--workers", type=int, default=None,
                            help="database sessions writing at once (default 2; 1 inside a transaction)")
        parser.add_argument("--inject", type=int, default=0, metavar="N",
                            help="then plant N mismatches of each kind on the last date (analytics.scale.INJECTIONS)")

    def handle(self, *args: object, **options: Any) -> None:
        from analytics.scale import INJECTIONS, inject_mismatches, seed_scale
        from dms.tenancy.models import Tenant

        if Tenant.objects.filter(slug=options["slug"]).exists():
            raise CommandError(f"A tenant with slug {options['slug']!r} exists; choose another.")
        try:
            end = date.fromisoformat(options["end_date"]) if options["end_date"] else None
        except ValueError as exc:
            raise CommandError(f"--end-date: {exc}") from exc
        verbose = int(options["verbosity"]) > 1
        started = time.monotonic()
        try:
            summary = seed_scale(
                slug=options["slug"], days=options["days"], orders_per_day=options["orders"],
                lines_per_order=options["lines"], bookers=options["bookers"], distributors=options["distributors"],
                outlets=options["outlets"], skus=options["skus"], seed=options["seed"], end_date=end, tz=options["tz"],
                workers=options["workers"], log=self.stdout.write if verbose else None)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        seconds = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(
            f"Tenant {summary.slug} (id {summary.tenant_id}): {len(summary.dates)} business date(s) "
            f"{summary.dates[0].isoformat()}..{summary.business_date.isoformat()} in {seconds:.1f} s."))
        width = max(len(name) for name in summary.counts)
        for name, count in summary.counts.items():
            self.stdout.write(f"  {name:<{width}}  {count:>12,}")
        self.stdout.write("Seconds per phase:")
        for phase, value in summary.seconds.items():
            self.stdout.write(f"  {phase:<55} {value:>8.1f}")
        if options["inject"] > 0:
            planted = inject_mismatches(tenant_id=summary.tenant_id, per_kind=options["inject"])
            self.stdout.write(f"Planted on {summary.business_date.isoformat()}:")
            for kind, (check, what) in INJECTIONS.items():
                subjects = [f"{i.subject_type} {i.subject_id}" for i in planted if i.kind == kind]
                self.stdout.write(f"  {kind} ({check}): {what}: {', '.join(subjects) or 'none'}")
