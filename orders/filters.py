"""Filters of the order list. Dates are the tenant's local dates, as staff read them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from .enums import HoldKind, OrderStatus
from .models import SecondaryOrder

HOLD_CHOICES = [(HoldKind.CREDIT.value, HoldKind.CREDIT.label), ("none", "Not held")]


class OrderFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    outlet = filters.NumberFilter(field_name="outlet_id")
    booker = filters.NumberFilter(field_name="booker_id")
    distributor = filters.NumberFilter(field_name="distributor_id")
    booked_from = filters.DateFilter(method="filter_booked_from", label="booked on or after (tenant-local date)")
    booked_to = filters.DateFilter(method="filter_booked_to", label="booked on or before (tenant-local date)")
    price_flag = filters.BooleanFilter()
    hold = filters.ChoiceFilter(choices=HOLD_CHOICES, method="filter_hold")
    uuid = filters.UUIDFilter()

    class Meta:
        model = SecondaryOrder
        fields = ["status", "outlet", "booker", "distributor", "booked_from", "booked_to", "price_flag", "hold", "uuid"]

    def __init__(self, *args: Any, tz: ZoneInfo | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tz = tz or ZoneInfo("UTC")

    def _start_of(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.tz).astimezone(UTC)

    def filter_booked_from(self, qs: QuerySet[SecondaryOrder], name: str, value: date) -> QuerySet[SecondaryOrder]:
        return qs.filter(booked_at__gte=self._start_of(value))

    def filter_booked_to(self, qs: QuerySet[SecondaryOrder], name: str, value: date) -> QuerySet[SecondaryOrder]:
        return qs.filter(booked_at__lt=self._start_of(value + timedelta(days=1)))

    def filter_hold(self, qs: QuerySet[SecondaryOrder], name: str, value: str) -> QuerySet[SecondaryOrder]:
        return qs.filter(hold=HoldKind.NONE if value == "none" else value)
