"""The printable load form (fpdf2, drawn with dms.core.pdf as invoicing's documents are).

Page one is the delivery man's: the invoices in delivery sequence (ETA, outlet, invoice number, amount, a box for
the outlet's signature). Then the warehouse's: the SKUs to pick in cases and loose units, and the loading order,
the invoices in reverse delivery sequence (the last delivered goes in first). Rendering is a pure function of a
`LoadFormDocument` snapshot read by selectors (dispatch.selectors_loading.load_form_document) inside the request's
transaction; the bytes are drawn after it ended, so no transaction stays open while a PDF is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from typing import TYPE_CHECKING

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from dms.core.pdf import amount, latin1, new_document, notes, table, text_lines, total_row

if TYPE_CHECKING:  # the pick list's own snapshot types, printed as they are
    from .selectors_loading import LoadingStop, PickLine


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
    picks: tuple[PickLine, ...]
    loading: tuple[LoadingStop, ...]
    notes: tuple[str, ...] = ()


SEQUENCE_COLS = (("#", 8, "R"), ("ETA", 13, "C"), ("Outlet", 62, "L"), ("Address", 62, "L"), ("Invoice", 36, "L"),
                 ("Cases", 13, "R"), ("Amount", 25, "R"), ("Received / signature", 58, "L"))
PICK_COLS = (("SKU", 30, "L"), ("Product", 90, "L"), ("Cases", 18, "R"), ("Units", 18, "R"))
LOAD_COLS = (("Load", 12, "R"), ("Stop", 12, "R"), ("Invoice", 36, "L"), ("Outlet", 60, "L"), ("SKU", 30, "L"),
             ("Product", 70, "L"), ("Cases", 16, "R"), ("Units", 16, "R"))


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render(doc: LoadFormDocument) -> bytes:
    """The load form as PDF bytes: A4 landscape; the delivery sequence, then the pick list and loading order."""
    pdf = new_document(title=f"Load form {doc.number}", heading=f"LOAD FORM {doc.number}")
    text_lines(pdf, [f"{doc.distributor}    Delivery day: {doc.date.isoformat()}    Status: {doc.status}",
                     f"Vehicle: {doc.vehicle}    Delivery man: {doc.delivery_man or '-'}",
                     f"Load: {len(doc.stops)} invoices, {amount(doc.total_cases, 0)} cases, "
                     f"{amount(doc.total_weight_kg, 1)} kg, {amount(doc.total_volume_l, 1)} litres    "
                     f"Value: {amount(doc.total_value)} {doc.currency}"])

    _heading(pdf, "Delivery sequence")
    table(pdf, SEQUENCE_COLS, [(str(s.sequence), s.eta.strftime("%H:%M") if s.eta else "-",
                                f"{s.outlet_code} {s.outlet_name}", s.address, s.invoice_number, str(s.cases),
                                amount(s.amount), "") for s in doc.stops])
    widths = [width for _title, width, _align in SEQUENCE_COLS]
    total_row(pdf, f"Total {doc.currency}", amount(doc.total_value), label_width=sum(widths[:-2]),
              value_width=widths[-2])
    notes(pdf, [*doc.notes, *(f"Stop {s.sequence}: {s.note}" for s in doc.stops if s.note)])

    pdf.add_page()
    _heading(pdf, "Pick list (totals per SKU)")
    table(pdf, PICK_COLS, [(p.sku_code, p.sku_name, str(p.cases), str(p.units)) for p in doc.picks])
    _heading(pdf, "Loading order (reverse delivery sequence: load from the top)")
    table(pdf, LOAD_COLS, [(str(stop.load_position), str(stop.sequence), stop.invoice_number, stop.outlet_name,
                            p.sku_code, p.sku_name, str(p.cases), str(p.units))
                           for stop in doc.loading for p in stop.lines])
    pdf.ln(8)
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 5, "Loaded by: ____________________    Checked by: ____________________    "
                   "Delivery man: ____________________", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
