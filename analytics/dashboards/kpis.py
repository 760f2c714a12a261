"""The KPI dashboard's content: cards (value and definition), charts and tables, all from analytics.selectors.

Every KPI of selectors.KPIS is shown, whatever its name: the cards and the tables iterate KPIS, and a KPI that
SECTIONS and LINE_CHARTS do not name goes to "Other KPIs" and to a line chart of its unit. By name: the sections
(visits and calls, order service, sales and stock, receivables), the line charts (rates of one kind together, one
unit per chart), sell-in against sell-through (bars per day, in value and in units) and the receivables by age
(stacked bars per day, each day at the latest snapshot). A chart whose KPIs do not exist, or with nothing to draw
(no value at all; bars all 0), is left out. The breakdown tables (per distributor, route, order-booker, brand) carry
the KPIs of selectors.BREAKDOWN_KPIS.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from typing import Any

from analytics import selectors
from analytics.selectors import KPI_NAMES, KPIS, Kpi

from .tables import (
    KPI_BY_NAME,
    Chart,
    Column,
    Table,
    chart_value,
    fmt,
    kpi_cells,
    kpi_columns,
    kpi_label,
    kpi_unit,
)

NO_FACTS = "No facts for these dates: the facts are built after sync and nightly."
# The cards in sections, and the line charts: by name, a KPI named nowhere goes to "Other KPIs" and to a chart of
# its unit, so a new KPI shows up without a change here.
SECTIONS = (
    ("visits", "Visits and calls", ("pjp_adherence", "in_sequence_rate", "strike_rate", "coverage",
                                    "lines_per_call", "drop_size", "unique_outlets_called", "time_in_market")),
    ("service", "Order service", ("fill_rate_orders", "fill_rate_lines", "otif", "on_time_rate", "in_full_rate")),
    ("sales", "Sales, sell-in and stock", ("fill_rate_units", "fill_rate_value", "delivered_vs_invoiced",
                                           "sell_in_units", "sell_in_value", "sell_through_units",
                                           "sell_through_value", "sell_through_vs_sell_in", "stock_cover_days")),
    ("receivables", "Receivables", ("receivables", "ar_0_30", "ar_31_60", "ar_61_90", "ar_over_90",
                                    "aged_over_90_share")),
)
LINE_CHARTS = (
    ("chart-visits", "Visits (%)", ("pjp_adherence", "in_sequence_rate", "strike_rate", "coverage")),
    ("chart-service", "Order service (%)", ("fill_rate_orders", "fill_rate_lines", "otif", "on_time_rate",
                                           "in_full_rate")),
    ("chart-fill", "Units and value (%)", ("fill_rate_units", "fill_rate_value", "delivered_vs_invoiced",
                                          "sell_through_vs_sell_in")),
    ("chart-calls", "Lines per call, hours in market", ("lines_per_call", "time_in_market")),
    ("chart-drop", "Drop size", ("drop_size",)),
    ("chart-outlets", "Unique outlets called", ("unique_outlets_called",)),
    ("chart-cover", "Stock cover (days)", ("stock_cover_days",)),
)
SELL = (("chart-sell-value", "Sell-in against sell-through", "money", ("sell_in_value", "sell_through_value")),
        ("chart-sell-units", "Sell-in against sell-through (units)", "count", ("sell_in_units",
                                                                               "sell_through_units")))
AGEING = ("ar_0_30", "ar_31_60", "ar_61_90", "ar_over_90")
CARDS_ONLY = ("receivables", "aged_over_90_share")  # shown on cards and in the tables, not charted
BREAKDOWNS = (("distributor", "By distributor"), ("route", "By route"), ("booker", "By order-booker"),
              ("brand", "By brand"))
UNIT_TITLES = {"percent": "Other rates (%)", "number": "Other figures", "money": "Other amounts", "count": "Counts",
               "days": "Days"}


def _present(names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in KPI_BY_NAME]


def chart_groups() -> list[tuple[str, str, str, list[str]]]:
    """(id, title, unit, KPI names) of the line charts: the named ones, then one per unit for the KPIs named in no
    chart. A named chart whose KPIs do not all share a unit keeps those of its first KPI's unit."""
    out: list[tuple[str, str, str, list[str]]] = []
    charted = {n for group in (*(c[2] for c in LINE_CHARTS), *(c[3] for c in SELL), AGEING, CARDS_ONLY)
               for n in group}
    for chart_id, title, names in LINE_CHARTS:
        present = _present(names)
        if present:
            unit = kpi_unit(KPI_BY_NAME[present[0]])
            out.append((chart_id, title, unit, [n for n in present if kpi_unit(KPI_BY_NAME[n]) == unit]))
    others: dict[str, list[str]] = {}
    for kpi in KPIS:
        if kpi.name not in charted:
            others.setdefault(kpi_unit(kpi), []).append(kpi.name)
    for unit, rest in others.items():
        out.append((f"chart-other-{unit}", UNIT_TITLES.get(unit, "Other KPIs"), unit, rest))
    return out


def sections() -> list[tuple[str, str, list[str]]]:
    named = {n for _key, _title, names in SECTIONS for n in names}
    out = [(key, title, _present(names)) for key, title, names in SECTIONS if _present(names)]
    rest = [k.name for k in KPIS if k.name not in named]
    if rest:
        out.append(("other", "Other KPIs", rest))
    return out


def _part_unit(key: str) -> str:
    """How a numerator or denominator reads: money for a value (ordered_value), two places for hours and rates per
    day, else a count."""
    if any(h in key for h in ("value", "amount", "balance", "receivable", "ar_")):
        return "money"
    return "number" if any(h in key for h in ("hours", "per_day")) else "count"


def _days(date_from: date, date_to: date) -> list[date]:
    return [date_from + timedelta(days=i) for i in range((date_to - date_from).days + 1)]


class KpiDashboard:
    """The dashboard of one filter set. Each table is built on demand, so a CSV export reads only its own."""

    def __init__(self, *, scope: Any, filters: dict[str, Any], currency: str) -> None:
        self.scope = scope
        self.filters = filters
        self.currency = currency
        self._summary: dict[str, Any] | None = None
        self._series: list[dict[str, Any]] | None = None

    # --- reads ------------------------------------------------------------------------------------------------
    @property
    def summary(self) -> dict[str, Any]:
        if self._summary is None:
            self._summary = selectors.kpi_summary(scope=self.scope, **self.filters)
        return self._summary

    @property
    def series(self) -> list[dict[str, Any]]:
        if self._series is None:
            self._series = selectors.kpi_series(scope=self.scope, **self.filters)
        return self._series

    @property
    def has_facts(self) -> bool:
        return bool(self.series)

    # --- cards ------------------------------------------------------------------------------------------------
    def card(self, kpi: Kpi) -> dict[str, Any]:
        figures = self.summary.get(kpi.name) or {}
        unit = kpi_unit(kpi)
        den = figures.get("denominator")
        parts = (f"{fmt(figures.get('numerator'), _part_unit(kpi.numerator))} / "
                 f"{fmt(den, _part_unit(kpi.denominator or ''))}" if den is not None else "")
        label = kpi_label(kpi)
        definition = str(figures.get("definition") or kpi.definition)
        return {"name": kpi.name, "label": label, "unit": unit, "value": fmt(figures.get("value"), unit),
                "parts": parts, "currency": self.currency if unit == "money" else "",
                "definition": definition.removeprefix(f"{label}: ")}

    def card_sections(self) -> list[dict[str, Any]]:
        """The cards in their sections (SECTIONS), every KPI once."""
        return [{"key": key, "title": title, "cards": [self.card(KPI_BY_NAME[n]) for n in names]}
                for key, title, names in sections()]

    # --- charts -----------------------------------------------------------------------------------------------
    def charts(self) -> list[Chart]:
        days = _days(self.filters["date_from"], self.filters["date_to"])
        by_date = {row["date"]: row for row in self.series}
        labels = [d.isoformat() for d in days]

        def dataset(name: str, unit: str) -> dict[str, Any]:
            return {"label": kpi_label(KPI_BY_NAME[name]), "data": [
                chart_value(((by_date.get(d) or {}).get(name) or {}).get("value"), unit) for d in days]}

        def titled(title: str, unit: str) -> str:
            return f"{title} ({self.currency})" if unit == "money" else title

        charts = [Chart(chart_id, titled(title, unit), "line", unit, labels, [dataset(n, unit) for n in names])
                  for chart_id, title, unit, names in chart_groups()]
        for chart_id, title, unit, names in SELL:
            if len(_present(names)) == len(names):
                charts.append(Chart(chart_id, titled(title, unit), "bar", unit, labels,
                                    [dataset(n, unit) for n in names]))
        buckets = _present(AGEING)
        if buckets:
            charts.append(Chart("chart-ageing", titled("Receivables by age, at each day's latest snapshot", "money"),
                                "bar", "money", labels, [dataset(n, "money") for n in buckets], stacked=True))
        return [c for c in charts if c.has_data]

    # --- tables -----------------------------------------------------------------------------------------------
    def table_names(self) -> list[str]:
        return ["kpis", "series", *(f"by_{by}" for by, _title in BREAKDOWNS
                                    if not (by == "distributor" and self.scope.single_distributor_id is not None))]

    def table(self, name: str) -> Table | None:
        builders: dict[str, Callable[[], Table]] = {"kpis": self._kpi_table, "series": self._series_table}
        for by, title in BREAKDOWNS:
            builders[f"by_{by}"] = partial(self._breakdown_table, by, title)
        return builders[name]() if name in self.table_names() else None

    def tables(self) -> list[Table]:
        return [t for t in (self.table(n) for n in self.table_names()) if t is not None]

    def _kpi_table(self) -> Table:
        table = Table("kpis", "KPIs over the period", [
            Column("kpi", "Id", on_page=False), Column("label", "KPI"), Column("shown", "Value", in_csv=False),
            Column("value", "Value", on_page=False), Column("numerator", "Numerator", "text"),
            Column("denominator", "Denominator", "text"), Column("definition", "Definition")])
        for kpi in KPIS:
            f = self.summary.get(kpi.name) or {}
            table.rows.append([kpi.name, kpi_label(kpi), fmt(f.get("value"), kpi_unit(kpi)), f.get("value"),
                               f.get("numerator"), f.get("denominator"), f.get("definition") or kpi.definition])
        return table

    def _series_table(self) -> Table:
        names = [k.name for k in KPIS]
        table = Table("series", "KPIs per day", [Column("date", "Date", "date"), *kpi_columns(names)], empty=NO_FACTS)
        for row in self.series:
            table.rows.append([row["date"], *kpi_cells(row, names)])
        return table

    def _breakdown_table(self, by: str, title: str) -> Table:
        names = list(selectors.BREAKDOWN_KPIS.get(by) or KPI_NAMES)
        table = Table(f"by_{by}", title, [Column("key", "Id", on_page=False), Column("label", title[3:].capitalize()),
                                          *kpi_columns(names)], empty=NO_FACTS)
        rows = selectors.kpi_breakdown(scope=self.scope, by=by, **self.filters)
        for row in rows:
            table.rows.append([row.get("key"), row.get("label"), *kpi_cells(row, names)])
        return table
