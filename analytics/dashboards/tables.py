"""Tables and charts of the dashboards: one `Table` feeds both the HTML table and its CSV export, so the CSV has the
figures the page shows, exact; one `Chart` is the data a Chart.js chart is drawn from (passed with json_script).

Decisions:
- Cells hold raw values (Decimal, int, date, str, None). The page formats them by the column's unit (a rate as a
  percentage, money with thousands separators, "—" for none); the CSV writes them as they are: a Decimal's own
  digits (0.7500, 6202.17), never a float, dates in ISO, none as an empty cell.
- A KPI column in a CSV comes with its numerator and denominator (columns `<kpi>_numerator`, `<kpi>_denominator`),
  so a reader can add periods up without averaging ratios; the page shows them as the cell's tooltip.
- Chart values are strings of Decimals (a rate already x 100): the browser turns them into numbers only to draw.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.http import HttpResponse

from analytics.selectors import KPIS, Kpi
from dms.core.money import money

HUNDRED = Decimal(100)
CENTS = Decimal("0.01")
TENTHS = Decimal("0.1")
ONE = Decimal(1)
DASH = "—"

def kpi_unit(kpi: Kpi) -> str:
    """percent, money, number, count or days: as the KPI declares it (analytics.kpi_defs)."""
    return kpi.unit


def kpi_label(kpi: Kpi) -> str:
    """The definitions open with the KPI's name ("Strike rate: ..."): that is its label."""
    head, sep, _rest = kpi.definition.partition(": ")
    if sep and len(head) <= 40:
        return head
    return kpi.name.replace("_", " ").capitalize()


KPI_BY_NAME = {k.name: k for k in KPIS}


def _round(value: Decimal, places: Decimal) -> Decimal:
    """Half up, the project's rule (dms.core.money); Decimal's own formatting would round half-even."""
    return value.quantize(places, rounding=ROUND_HALF_UP)


def fmt(value: Any, unit: str) -> str:
    """A value as the page shows it."""
    if value is None or value == "":
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%H:%M") if unit == "time" else value.strftime("%Y-%m-%d %H:%M")
    if unit == "percent":
        return f"{_round(Decimal(value) * HUNDRED, CENTS)} %"
    if unit in ("money", "number"):
        return f"{money(value):,}"
    if unit == "count":
        return f"{_round(Decimal(value), ONE):,}"
    if unit == "days":
        return f"{_round(Decimal(value), TENTHS):,} days"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def chart_value(value: Any, unit: str) -> str | None:
    """A value for a chart: a Decimal's digits as a string (a rate x 100), None for a gap."""
    if value is None:
        return None
    value = Decimal(value)
    return str(_round(value * HUNDRED, CENTS)) if unit == "percent" else str(value)


def csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Column:
    key: str  # the CSV header
    label: str  # the page's header
    unit: str = "text"  # percent, money, number, count, days, text, date, time
    on_page: bool = True  # False: in the CSV only (a KPI's numerator and denominator)
    in_csv: bool = True  # False: on the page only (a value formatted for reading)

    @property
    def numeric(self) -> bool:
        return self.unit not in ("text", "date", "time")


@dataclass
class Cell:
    text: str
    numeric: bool
    url: str = ""
    title: str = ""


@dataclass
class Table:
    name: str  # ?export=<name>
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)  # per row: the first cell links there ("" for none)
    empty: str = "Nothing for these filters."
    note: str = ""
    csv_url: str = ""  # set by the page: its filters and ?export=<name>

    @property
    def page_columns(self) -> list[Column]:
        return [c for c in self.columns if c.on_page]

    @property
    def page_rows(self) -> list[list[Cell]]:
        """The rows as the page shows them; a KPI cell's tooltip is its numerator / denominator."""
        out = []
        for i, row in enumerate(self.rows):
            by_key = {c.key: v for c, v in zip(self.columns, row, strict=True)}
            cells: list[Cell] = []
            for col, value in zip(self.columns, row, strict=True):
                if not col.on_page:
                    continue
                title = ""
                if f"{col.key}_numerator" in by_key:
                    num, den = by_key[f"{col.key}_numerator"], by_key.get(f"{col.key}_denominator")
                    title = f"{num} / {den}" if den is not None else f"{num}"
                url = self.urls[i] if not cells and i < len(self.urls) else ""
                cells.append(Cell(fmt(value, col.unit), col.numeric, url, title))
            out.append(cells)
        return out


def kpi_columns(names: tuple[str, ...] | list[str]) -> list[Column]:
    """A column per KPI (the value, as the page shows it) plus its numerator and denominator for the CSV."""
    cols = []
    for name in names:
        kpi = KPI_BY_NAME.get(name)
        if kpi is None:
            continue
        cols.append(Column(name, kpi_label(kpi), kpi_unit(kpi)))
        cols.append(Column(f"{name}_numerator", f"{kpi_label(kpi)} numerator", "number", on_page=False))
        cols.append(Column(f"{name}_denominator", f"{kpi_label(kpi)} denominator", "number", on_page=False))
    return cols


def kpi_cells(row: dict[str, Any], names: tuple[str, ...] | list[str]) -> list[Any]:
    cells: list[Any] = []
    for name in names:
        if name not in KPI_BY_NAME:
            continue
        kpi = row.get(name) or {}
        cells += [kpi.get("value"), kpi.get("numerator"), kpi.get("denominator")]
    return cells


def csv_response(table: Table, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    keep = [i for i, c in enumerate(table.columns) if c.in_csv]
    writer.writerow([table.columns[i].key for i in keep])
    for row in table.rows:
        writer.writerow([csv_value(row[i]) for i in keep])
    return response


@dataclass
class Chart:
    """What dashboard.js draws: `kind` line or bar, `unit` for the axis and tooltips, one dataset per series."""

    id: str
    title: str
    kind: str
    unit: str
    labels: list[str]
    datasets: list[dict[str, Any]]
    stacked: bool = False

    @property
    def has_data(self) -> bool:
        """Something to draw: a value in a line chart (0 % is a line), a bar that is not 0."""
        values = [v for d in self.datasets for v in d["data"] if v is not None]
        return any(Decimal(v) for v in values) if self.kind == "bar" else bool(values)

    def as_data(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "kind": self.kind, "unit": self.unit, "labels": self.labels,
                "datasets": self.datasets, "stacked": self.stacked}
