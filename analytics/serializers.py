"""Output serializers of the analytics API (the query-parameter serializers live with their views, in apis.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, getcontext
from typing import Any, cast

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .kpi_defs import KPI_NAMES, KPIS


def breakdown_definitions(names: Any) -> dict[str, str]:
    """The definitions of the KPIs named, by name, in their order."""
    wanted = set(names)
    return {kpi.name: kpi.definition for kpi in KPIS if kpi.name in wanted}


class KpiFigureOutput(serializers.Serializer):
    """A KPI's figures (a breakdown row's KPIs: the definitions are given once, beside the rows)."""

    value = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True,
                                     help_text="numerator / denominator to 4 places; null when the denominator is 0 "
                                               "(a count: the count)")
    # As summed, not rounded again: money has 2 places, hours and units per day 4, counts none.
    numerator = serializers.DecimalField(max_digits=None, decimal_places=None)
    denominator = serializers.DecimalField(max_digits=None, decimal_places=None, allow_null=True,
                                           help_text="null for a count")


class KpiOutput(KpiFigureOutput):
    definition = serializers.CharField(help_text="one sentence: what is counted and divided")


class KpisOutput(serializers.Serializer):
    """The KPIs, one field each (those of analytics.selectors.KPI_NAMES, in that order; a test keeps them equal)."""

    pjp_adherence = KpiOutput()
    in_sequence_rate = KpiOutput()
    strike_rate = KpiOutput()
    lines_per_call = KpiOutput()
    drop_size = KpiOutput()
    unique_outlets_called = KpiOutput()
    time_in_market = KpiOutput(help_text="hours per booker day")
    coverage = KpiOutput()
    fill_rate_orders = KpiOutput()
    fill_rate_lines = KpiOutput()
    fill_rate_units = KpiOutput()
    fill_rate_value = KpiOutput()
    delivered_vs_invoiced = KpiOutput()
    otif = KpiOutput()
    on_time_rate = KpiOutput()
    in_full_rate = KpiOutput()
    sell_in_units = KpiOutput()
    sell_in_value = KpiOutput()
    sell_through_units = KpiOutput()
    sell_through_value = KpiOutput()
    sell_through_vs_sell_in = KpiOutput()
    stock_cover_days = KpiOutput(help_text="days")
    receivables = KpiOutput()
    ar_0_30 = KpiOutput()
    ar_31_60 = KpiOutput()
    ar_61_90 = KpiOutput()
    ar_over_90 = KpiOutput()
    aged_over_90_share = KpiOutput()


class KpiSummaryOutput(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    kpis = KpisOutput()


class KpiSeriesRowOutput(KpisOutput):
    date = serializers.DateField(help_text="the tenant-local business date")


class KpiSeriesOutput(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    results = KpiSeriesRowOutput(many=True, help_text="one row per date that has facts, in date order")


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string", "format": "date"}], "nullable": True})
class GroupKeyField(serializers.Field):
    """A breakdown row's key: the group's id, the ISO date for `by=date`, null for orders without booker or route."""

    def to_representation(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value


def _breakdown_row() -> type[serializers.Serializer]:
    """KpisOutput's fields, each optional (a row carries the KPIs of its grouping only), with key and label."""
    fields: dict[str, Any] = {
        "key": GroupKeyField(),
        "label": serializers.CharField(help_text="distributor or route code and name, booker name, brand, date"),
    }
    for name in KPI_NAMES:
        fields[name] = KpiFigureOutput(required=False, help_text="in the rows of the groupings that carry it "
                                                           "(analytics.selectors.BREAKDOWN_KPIS)")
    return type("KpiBreakdownRowOutput", (serializers.Serializer,), fields)


KpiBreakdownRowOutput = _breakdown_row()


class KpiBreakdownOutput(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    by = serializers.CharField()
    kpis = serializers.ListField(child=serializers.CharField(), help_text="the KPIs every row carries, in order")
    definitions = serializers.DictField(child=serializers.CharField(),
                                        help_text="each KPI's definition (one sentence), by KPI name")
    count = serializers.IntegerField(help_text="the groups with facts (rows over all pages)")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = KpiBreakdownRowOutput(many=True, help_text="this page's rows: one per group that has facts, sorted by "
                                                         "label")


# Rendering many rows through nested serializers costs more than the query behind them (a tenant's breakdown by
# distributor is 500 rows of some 28 KPI objects each). The breakdown is rendered here without the per-object
# serializer machinery, and the decimals without DecimalField's per-call context copy: the same JSON (a test keeps
# it equal to KpiBreakdownOutput's, to the byte). The schema still comes from KpiBreakdownOutput.
_VALUE = cast(serializers.DecimalField, KpiFigureOutput().fields["value"])
_PLACES = Decimal(".1") ** int(_VALUE.decimal_places or 0)  # 4
_KEY, _LABEL = GroupKeyField(), serializers.CharField()
_DAY = serializers.DateField()
_URL = serializers.URLField()
_ABSENT = object()


def breakdown_data(data: dict[str, Any]) -> dict[str, Any]:
    """KpiBreakdownOutput(data).data, rendered fast (see above). data: date_from, date_to, by, kpis, definitions
    (breakdown_definitions), count, next, previous and results (rows of Decimal figures, as
    analytics.selectors.kpi_breakdown gives them)."""
    context = getcontext().copy()
    context.prec = int(_VALUE.max_digits or context.prec)  # 24
    quantize, places, rounding = Decimal.quantize, _PLACES, _VALUE.rounding
    results = []
    for row in data["results"]:
        out: dict[str, Any] = {"key": _KEY.to_representation(row["key"]),
                               "label": None if row["label"] is None else _LABEL.to_representation(row["label"])}
        for name in KPI_NAMES:
            kpi = row.get(name, _ABSENT)
            if kpi is _ABSENT:
                continue
            if kpi is None:
                out[name] = None
                continue
            figure, numerator, denominator = kpi.get("value"), kpi.get("numerator"), kpi.get("denominator")
            out[name] = {
                "value": None if figure is None else f"{quantize(figure, places, rounding, context):f}",
                "numerator": None if numerator is None else f"{numerator:f}",
                "denominator": None if denominator is None else f"{denominator:f}"}
        results.append(out)
    return {
        "date_from": _DAY.to_representation(data["date_from"]), "date_to": _DAY.to_representation(data["date_to"]),
        "by": str(data["by"]), "kpis": [str(k) for k in data["kpis"]],
        "definitions": {str(k): str(v) for k, v in data["definitions"].items()},
        "count": int(data["count"]),
        "next": None if data["next"] is None else _URL.to_representation(data["next"]),
        "previous": None if data["previous"] is None else _URL.to_representation(data["previous"]),
        "results": results,
    }
