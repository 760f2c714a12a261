"""`manage.py analytics_backfill`: rebuild the analytics facts of a range of dates, in this process or on a worker.

Dates are tenant-local: `--days N` is the N days before the tenant's today and today itself (today's refresh takes
the stock and receivables snapshots, which only a refresh on the date can), `--from`/`--to` an explicit range, never
past the tenant's today. On SQLite (the bare `make demo`) the builder cannot run: the command says so and does
nothing, so `make demo` carries on.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

DEFAULT_DAYS = 14


def _date(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{option}: {value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = ("Rebuild the analytics facts of a tenant's dates (or every active tenant's), oldest first, one "
            "transaction per date, printing the rows written per date. Safe to run twice.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="the tenant's slug")
        parser.add_argument("--all-tenants", action="store_true", help="every active tenant")
        parser.add_argument("--days", type=int, default=None,
                            help=f"the N days before the tenant's today, and today (default {DEFAULT_DAYS})")
        parser.add_argument("--from", dest="date_from", help="the first date, YYYY-MM-DD (with --to)")
        parser.add_argument("--to", dest="date_to", help="the last date, YYYY-MM-DD (at most the tenant's today)")
        parser.add_argument("--enqueue", action="store_true", help="leave the work to a Celery worker (one task per "
                                                                   "tenant)")

    def handle(self, *args: object, **options: Any) -> None:
        from analytics.backfill import facts_supported
        from dms.tenancy.models import Tenant

        tenants = self._tenants(options, Tenant)
        span = self._span(options)
        if not facts_supported():
            self.stdout.write(self.style.WARNING(
                f"Skipped: the analytics facts builder needs PostgreSQL; this database is {connection.vendor}, so "
                "the KPIs and dashboards stay empty. Use PostgreSQL (see README) to see them."))
            return
        if not tenants:
            self.stdout.write("No active tenant: nothing to backfill.")
            return
        for tenant in tenants:
            self._tenant(tenant, span, enqueue=bool(options["enqueue"]))

    def _tenants(self, options: dict[str, Any], tenant_model: Any) -> list[Any]:
        if bool(options["tenant"]) == bool(options["all_tenants"]):
            raise CommandError("Give either --tenant <slug> or --all-tenants.")
        if options["all_tenants"]:
            return list(tenant_model.objects.filter(active=True).order_by("pk"))
        tenant = tenant_model.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        return [tenant]

    def _span(self, options: dict[str, Any]) -> int | tuple[date, date]:
        """Days before today (an int) or an explicit (from, to)."""
        explicit = options["date_from"] is not None or options["date_to"] is not None
        if explicit and options["days"] is not None:
            raise CommandError("Give either --days or --from/--to, not both.")
        if not explicit:
            days = DEFAULT_DAYS if options["days"] is None else int(options["days"])
            if days < 0:
                raise CommandError(f"--days must be 0 or more (got {days}).")
            return days
        if options["date_from"] is None or options["date_to"] is None:
            raise CommandError("--from and --to go together.")
        first, last = _date("--from", options["date_from"]), _date("--to", options["date_to"])
        if first > last:
            raise CommandError(f"--from {first.isoformat()} is after --to {last.isoformat()}.")
        return first, last

    def _tenant(self, tenant: Any, span: int | tuple[date, date], *, enqueue: bool) -> None:
        from analytics.backfill import BackfillStep, facts_backfill, tenant_today
        from analytics.tasks import facts_backfill_task
        from dms.tenancy.scope import Scope

        today = tenant_today(tenant.pk)
        first, last = (today - timedelta(days=span), today) if isinstance(span, int) else span
        if last > today:
            raise CommandError(f"--to {last.isoformat()} is after {tenant.slug}'s today ({today.isoformat()}).")
        label = f"{tenant.slug} {first.isoformat()}..{last.isoformat()}"
        if enqueue:
            result = facts_backfill_task.delay(tenant_id=tenant.pk, date_from=first.isoformat(),
                                               date_to=last.isoformat())
            self.stdout.write(f"{label}: backfill enqueued (task {result.id}).")
            return
        started = time.monotonic()
        last_step = started

        def report(step: BackfillStep) -> None:
            nonlocal last_step
            now = time.monotonic()
            rows = ", ".join(f"{table} {n:,}" for table, n in step.counts.items())
            self.stdout.write(f"  {tenant.slug} {step.date.isoformat()} ({step.done}/{step.total}): {rows} "
                              f"({now - last_step:.1f} s)")
            last_step = now

        self.stdout.write(f"{label}: backfilling the analytics facts")
        try:
            done = facts_backfill(scope=Scope.system(tenant.pk, "analytics-backfill"), date_from=first, date_to=last,
                                  progress=report)
        except DatabaseError as exc:
            raise CommandError(f"The backfill of {tenant.slug} failed ({type(exc).__name__}: {exc}); the dates "
                               "printed above are done, run it again to redo the rest.") from exc
        self.stdout.write(self.style.SUCCESS(
            f"{label}: {len(done)} dates in {time.monotonic() - started:.1f} s."))
