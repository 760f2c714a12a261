"""The printable load form (fpdf2, as invoicing's documents: pure Python, the PDF core fonts).

Page one is the delivery man's: the invoices in delivery sequence (ETA, outlet, invoice number, amount, a box for
the outlet's signature). Then the warehouse's: the SKUs to pick in cases and loose units, and the loading order,
the invoices in reverse delivery sequence (the last delivered goes in first). Rendering is a pure function of a
`LoadFormDocument` snapshot read by selectors (dispatch.selectors_loading.load_form_document) inside the request's
transaction; the bytes are drawn after it ended, so no transaction stays open while a PDF is drawn.

The core fonts speak Latin-1 only: other characters print as their closest ASCII form, or "?".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

ROW_H = 6


@dataclass(frozen=True)
class DocumentStop:
    sequence: int
    eta: time | None
    outlet_code: str
    outlet_name: str
    address: str
    invoice_number: str
    amount: Decimal
    cases: int
    weight_kg: Decimal
    note: str = ""


@dataclass(frozen=True)
class DocumentPick:
    sku_code: str
    sku_name: str
    cases: int
    units: int


@dataclass(frozen=True)
class DocumentLoad:
    """One invoice in loading order."""

    load_position: int
    sequence: int
    invoice_number: str
    outlet_name: str
    lines: tuple[DocumentPick, ...]


@dataclass(frozen=True)
class LoadFormDocument:
    number: str
    date: date
    status: str
    distributor: str
    vehicle: str
    delivery_man: str
    currency: str
    total_weight_kg: Decimal
    total_volume_l: Decimal
    total_cases: int
    total_value: Decimal
    stops: tuple[DocumentStop, ...]
    picks: tuple[DocumentPick, ...]
    loading: tuple[DocumentLoad, ...]
    notes: tuple[str, ...] = ()


def latin1(text: str) -> str:
    """What the core fonts can print: Latin-1 as it is, other letters without their accents, the rest "?"."""
    out = []
    for ch in str(text):
        if ord(ch) < 256:
            out.append(ch)
            continue
        plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
        out.append(plain or "?")
    return "".join(out)


def _num(value: Decimal | int, places: int = 2) -> str:
    return f"{value:,.{places}f}"


def _row(pdf: FPDF, cells: tuple[str, ...], widths: tuple[int, ...], aligns: str, *, bold: bool = False,
         fill: bool = False) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", 8)
    if fill:
        pdf.set_fill_color(230, 230, 230)
    for text, width, align in zip(cells, widths, aligns, strict=True):
        pdf.cell(width, ROW_H, latin1(text)[:int(width / 1.6)], border=1, align=align, fill=fill,
                 new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.ln(ROW_H)


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _table(pdf: FPDF, head: tuple[str, ...], rows: Sequence[tuple[str, ...]], widths: tuple[int, ...],
           aligns: str) -> None:
    _row(pdf, head, widths, aligns, bold=True, fill=True)
    for cells in rows:
        if pdf.will_page_break(ROW_H):
            pdf.add_page()
            _row(pdf, head, widths, aligns, bold=True, fill=True)
        _row(pdf, cells, widths, aligns)


SEQUENCE_COLS = (("#", 8, "R"), ("ETA", 13, "C"), ("Outlet", 62, "L"), ("Address", 62, "L"), ("Invoice", 36, "L"),
                 ("Cases", 13, "R"), ("Amount", 25, "R"), ("Received / signature", 58, "L"))
PICK_COLS = (("SKU", 30, "L"), ("Product", 90, "L"), ("Cases", 18, "R"), ("Units", 18, "R"))
LOAD_COLS = (("Load", 12, "R"), ("Stop", 12, "R"), ("Invoice", 36, "L"), ("Outlet", 60, "L"), ("SKU", 30, "L"),
             ("Product", 70, "L"), ("Cases", 16, "R"), ("Units", 16, "R"))


def _cols(cols: tuple[tuple[str, int, str], ...]) -> tuple[tuple[str, ...], tuple[int, ...], str]:
    return tuple(c[0] for c in cols), tuple(c[1] for c in cols), "".join(c[2] for c in cols)


def render(doc: LoadFormDocument) -> bytes:
    """The load form as PDF bytes: A4 landscape; the delivery sequence, then the pick list and loading order."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(latin1(f"Load form {doc.number}"))
    pdf.set_creator("dms")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, latin1(f"LOAD FORM {doc.number}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 9)
    for text in (f"{doc.distributor}    Delivery day: {doc.date.isoformat()}    Status: {doc.status}",
                 f"Vehicle: {doc.vehicle}    Delivery man: {doc.delivery_man or '-'}",
                 f"Load: {len(doc.stops)} invoices, {_num(doc.total_cases, 0)} cases, "
                 f"{_num(doc.total_weight_kg, 1)} kg, {_num(doc.total_volume_l, 1)} litres    "
                 f"Value: {_num(doc.total_value)} {doc.currency}"):
        pdf.cell(0, 5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    _heading(pdf, "Delivery sequence")
    head, widths, aligns = _cols(SEQUENCE_COLS)
    _table(pdf, head, [(str(s.sequence), s.eta.strftime("%H:%M") if s.eta else "-", f"{s.outlet_code} {s.outlet_name}",
                        s.address, s.invoice_number, str(s.cases), _num(s.amount), "") for s in doc.stops],
           widths, aligns)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(sum(widths[:-2]), ROW_H, f"Total {latin1(doc.currency)}", align="R", new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.cell(widths[-2], ROW_H, _num(doc.total_value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    notes = [*doc.notes, *(f"Stop {s.sequence}: {s.note}" for s in doc.stops if s.note)]
    if notes:
        pdf.set_font("Helvetica", "", 8)
        for note in notes:
            pdf.multi_cell(0, 4, latin1(note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.add_page()
    _heading(pdf, "Pick list (totals per SKU)")
    head, widths, aligns = _cols(PICK_COLS)
    _table(pdf, head, [(p.sku_code, p.sku_name, str(p.cases), str(p.units)) for p in doc.picks], widths, aligns)
    _heading(pdf, "Loading order (reverse delivery sequence: load from the top)")
    head, widths, aligns = _cols(LOAD_COLS)
    rows = [(str(stop.load_position), str(stop.sequence), stop.invoice_number, stop.outlet_name, p.sku_code,
             p.sku_name, str(p.cases), str(p.units)) for stop in doc.loading for p in stop.lines]
    _table(pdf, head, rows, widths, aligns)
    pdf.ln(8)
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 5, "Loaded by: ____________________    Checked by: ____________________    "
                   "Delivery man: ____________________", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
