"""Check every tenant's stock ledger: each balance must equal the sum of its movements. Exits non-zero on any
mismatch, printing them; each tenant is read in its own tenant scope."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope
from inventory.selectors import ledger_mismatches


class Command(BaseCommand):
    help = "Report stock balances that differ from the sum of their movements; exit 1 when there are any."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="the slug of one tenant (default: every tenant)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = Tenant.objects.order_by("pk")
        if options.get("tenant"):
            tenants = tenants.filter(slug=options["tenant"])
            if not tenants.exists():
                raise CommandError(f"No tenant '{options['tenant']}'.")
        found = 0
        for tenant in tenants:
            with tenant_scope(Scope.system(tenant.pk, label="check_stock")) as scope:
                rows = ledger_mismatches(scope=scope)
            for m in rows:
                self.stdout.write(
                    f"{tenant.slug}: distributor {m.distributor_id} warehouse {m.warehouse_id} sku {m.sku_id}: "
                    f"balance on_hand={m.on_hand} reserved={m.reserved}, "
                    f"ledger on_hand={m.ledger_on_hand} reserved={m.ledger_reserved}")
            found += len(rows)
        if found:
            raise CommandError(f"{found} stock balance(s) differ from the ledger.")
        self.stdout.write("Stock ledger consistent.")
