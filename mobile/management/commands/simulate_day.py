"""`manage.py simulate_day`: order-bookers' working day played through the HTTP API (see mobile.simulator)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import Device, Membership, Tenant
from dms.tenancy.scope import Scope
from mobile.simulator import BookerDay, SimulationError, in_process, over_http


class Command(BaseCommand):
    help = ("Play order-bookers' day through the mobile API as real apps would: sign in, pull, visits in journey "
            "order with GPS near the outlet, orders, some retries and duplicate sends, day close.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=date.fromisoformat, default=None,
                            help="the journey date (default: today in each tenant's time zone)")
        parser.add_argument("--bookers", type=int, default=0, help="how many bookers (default: all with a device)")
        parser.add_argument("--tenant", default="", help="tenant slug (default: every tenant)")
        parser.add_argument("--password", default="demo-pass-123", help="the bookers' password (the demo's)")
        parser.add_argument("--base-url", default="", help="a running server (default: in-process requests)")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--unless-orders", action="store_true",
                            help="do nothing when the bookers' tenants already have orders (make demo run twice)")

    def _bookers(self, tenant_slug: str, limit: int) -> list[tuple[str, str]]:
        """(username, device identifier) of active order-bookers with an active device, by username."""
        out: list[tuple[str, str]] = []
        tenants = Tenant.objects.filter(**({"slug": tenant_slug} if tenant_slug else {})).order_by("pk")
        for tenant in tenants:
            memberships = (Membership.objects.filter(tenant=tenant, role=Role.ORDER_BOOKER, active=True,
                                                     user__is_active=True)
                           .select_related("user").order_by("user__username"))
            with tenant_scope(Scope.system(tenant.pk, "simulate_day")):
                first_device: dict[int, str] = {}
                for user_id, identifier in (Device.objects.filter(active=True).order_by("-pk")
                                            .values_list("user_id", "identifier")):
                    first_device[user_id] = identifier  # newest first: the oldest device stays
                out += [(m.user.get_username(), first_device[m.user_id]) for m in memberships
                        if m.user_id in first_device]
        return out[:limit] if limit else out

    def _has_orders(self, tenant_slug: str) -> bool:
        from orders.models import SecondaryOrder

        for tenant in Tenant.objects.filter(**({"slug": tenant_slug} if tenant_slug else {})):
            with tenant_scope(Scope.system(tenant.pk, "simulate_day")):
                if SecondaryOrder.objects.exists():
                    return True
        return False

    def handle(self, *args: object, **options: Any) -> None:
        if options["unless_orders"] and self._has_orders(options["tenant"]):
            self.stdout.write("Orders are already there; not simulating another day.")
            return
        bookers = self._bookers(options["tenant"], options["bookers"])
        if not bookers:
            raise CommandError("No order-booker with a registered device found (run `manage.py seed_demo`).")
        send = over_http(options["base_url"]) if options["base_url"] else in_process()
        day = options["date"].isoformat() if options["date"] else None
        started = time.monotonic()
        totals: dict[str, int] = {}
        for username, device in bookers:
            try:
                report = BookerDay(send, username=username, password=options["password"], device=device,
                                   seed=options["seed"]).play(day)
            except SimulationError as exc:
                raise CommandError(str(exc)) from exc
            close = report.day_close.get("status", "no journey")
            self.stdout.write(f"{username}: {report.visits} visits, {report.orders} orders ({report.lines} lines), "
                              f"{report.unproductive} unproductive, {report.pushes} pushes + {report.replays} "
                              f"replays, {report.resent_items} items re-sent; results {report.results}; "
                              f"day close {close}")
            for key in ("visits", "orders", "lines"):
                totals[key] = totals.get(key, 0) + getattr(report, key)
        self.stdout.write(self.style.SUCCESS(
            f"Simulated {len(bookers)} bookers in {time.monotonic() - started:.1f} s: {totals.get('visits', 0)} "
            f"visits, {totals.get('orders', 0)} orders, {totals.get('lines', 0)} lines."))
