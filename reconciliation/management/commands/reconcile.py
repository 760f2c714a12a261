from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dms.core.errors import DomainError


class Command(BaseCommand):
    help = ("Reconcile a tenant's business date by hand: run every check now, in this process (or enqueue it for a "
            "worker with --enqueue), and print what each found. Safe to run twice: exceptions are never doubled.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="the tenant's slug")
        parser.add_argument("--date", required=True, help="the business date, YYYY-MM-DD (tenant-local)")
        parser.add_argument("--enqueue", action="store_true", help="leave the run to a Celery worker")

    def handle(self, *args: object, **options: Any) -> None:
        from dms.tenancy.context import tenant_scope
        from dms.tenancy.models import Tenant
        from dms.tenancy.scope import Scope
        from reconciliation.enums import RunTrigger
        from reconciliation.models import ReconciliationRun
        from reconciliation.services import reconciliation_execute, reconciliation_request
        from reconciliation.services.run import exception_counts

        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        try:
            day = date.fromisoformat(options["date"])
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from exc
        try:
            if options["enqueue"]:
                with tenant_scope(Scope.system(tenant.pk, "reconcile-command")) as scope:
                    run = reconciliation_request(scope=scope, business_date=day, trigger=RunTrigger.COMMAND,
                                                 rerun=True)
                self.stdout.write(f"Run {run.pk} of {day.isoformat()} enqueued ({run.status}).")
                return
            # In this process: the run is left queued, not enqueued, so no worker races this command for it.
            with tenant_scope(Scope.system(tenant.pk, "reconcile-command")) as scope:
                run = reconciliation_request(scope=scope, business_date=day, trigger=RunTrigger.COMMAND, rerun=True,
                                             enqueue=False)
            status = reconciliation_execute(tenant_id=tenant.pk, run_id=run.pk)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        except Exception as exc:  # the run records it (failed) unless it was a transient database error
            raise CommandError(f"The reconciliation of {day.isoformat()} failed: {type(exc).__name__}: {exc}") from exc
        with tenant_scope(Scope.system(tenant.pk, "reconcile-command")):
            run = ReconciliationRun.objects.get(pk=run.pk)
            counts = exception_counts(run)
        self.stdout.write(f"Reconciliation of {tenant.slug} {day.isoformat()}: {run.status} ({status}) "
                          f"in {run.duration_ms or 0} ms")
        for c in counts.values():
            self.stdout.write(f"  {c['title']:<45} found {c['found']:>6}  new {c['new']:>6}  open {c['open']:>6}  "
                              f"cleared {c['cleared']:>6}  {c['ms']:>6} ms")
