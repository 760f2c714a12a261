"""Output serializers of the analytics API (the query-parameter serializer lives with its view, in apis.py)."""

from __future__ import annotations

from rest_framework import serializers


class KpiOutput(serializers.Serializer):
    value = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True,
                                     help_text="numerator / denominator to 4 places; null when the denominator is 0 "
                                               "(a count: the count)")
    numerator = serializers.DecimalField(max_digits=24, decimal_places=2)
    denominator = serializers.DecimalField(max_digits=24, decimal_places=2, allow_null=True,
                                           help_text="null for a count")
    definition = serializers.CharField(help_text="one sentence: what is counted and divided")


class KpisOutput(serializers.Serializer):
    """The KPIs, one field each (those of analytics.selectors.KPI_NAMES; a test keeps them equal)."""

    pjp_adherence = KpiOutput()
    in_sequence_rate = KpiOutput()
    strike_rate = KpiOutput()
    lines_per_call = KpiOutput()
    drop_size = KpiOutput()
    unique_outlets_called = KpiOutput()
    fill_rate_lines = KpiOutput()
    fill_rate_units = KpiOutput()
    fill_rate_value = KpiOutput()
    delivered_vs_invoiced = KpiOutput()


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
