"""Admin: each order-booker device's sync health and its day closes (distributor staff watch them at day end)."""

from __future__ import annotations

from django.contrib import admin

from dms.tenancy.admin_base import DistributorOwnedAdmin

from .models import DayClose, SyncHealth


@admin.register(SyncHealth)
class SyncHealthAdmin(DistributorOwnedAdmin):
    """Read-only: the record is written by the sync itself (push, day close)."""

    edit_roles = frozenset()

    list_display = ["device", "booker", "status", "last_push_at", "last_pull_at", "last_day_close_at",
                    "high_water_seq", "missing", "rejected_items", "failures"]
    list_filter = ["status"]
    search_fields = ["device__name", "device__identifier", "device__user__username"]
    list_select_related = ["device", "device__user"]
    readonly_fields = ["device", "status", "last_push_at", "last_pull_at", "last_day_close_at", "high_water_seq",
                       "missing_seqs", "last_day_close", "rejected_items", "failures", "last_failure"]
    exclude = ["distributor"]

    @admin.display(description="order-booker")
    def booker(self, obj: SyncHealth) -> str:
        user = obj.device.user
        return user.get_full_name() or user.get_username()

    @admin.display(description="missing items")
    def missing(self, obj: SyncHealth) -> str:
        runs = obj.missing_seqs or []
        return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:5]) + (" ..." if len(runs) > 5 else "")


@admin.register(DayClose)
class DayCloseAdmin(DistributorOwnedAdmin):
    """Read-only: what each device said when it closed a working day (written by the day close itself)."""

    edit_roles = frozenset()

    list_display = ["date", "device", "booker", "first_device_seq", "last_device_seq", "device_counts",
                    "reported_at"]
    date_hierarchy = "date"
    search_fields = ["device__name", "device__identifier", "device__user__username"]
    list_select_related = ["device", "device__user"]
    readonly_fields = ["device", "date", "first_device_seq", "last_device_seq", "device_counts", "reported_at"]
    exclude = ["distributor"]

    @admin.display(description="order-booker")
    def booker(self, obj: DayClose) -> str:
        user = obj.device.user
        return user.get_full_name() or user.get_username()
