"""Printable invoices and credit notes (fpdf2, drawn with dms.core.pdf: pure Python, the PDF core fonts).

Rendering is a pure function of a `Document` snapshot that selectors.invoice_document / credit_note_document read
in the request's transaction; the bytes are made after it has ended (the API renders in DRF's renderer, the admin
streams the response), so no transaction stays open while a PDF is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from dms.core.pdf import amount, latin1, new_document, notes, table, text_lines, total_row


@dataclass(frozen=True)
class Party:
    name: str
    code: str
    address: str = ""
    tax_id: str = ""


@dataclass(frozen=True)
class DocumentLine:
    line_no: int
    sku_code: str
    sku_name: str
    cases: int
    units: int
    qty_units: int
    case_price: Decimal
    gross: Decimal
    discount: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal
    is_free: bool = False
    booked_case_price: Decimal | None = None
    booked_qty_units: int | None = None


@dataclass(frozen=True)
class Document:
    """An invoice (kind "invoice") or a credit note (kind "credit_note"), as printed."""

    kind: str
    number_text: str
    date: date
    seller: Party
    buyer: Party
    currency: str
    lines: tuple[DocumentLine, ...]
    gross: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal
    references: tuple[tuple[str, str], ...] = ()  # ("Order", "1f2e…"), ("Invoice", "INV/2026/000001")
    booked_total: Decimal | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def title(self) -> str:
        return "INVOICE" if self.kind == "invoice" else "CREDIT NOTE"

    @property
    def filename(self) -> str:
        """The PDF's file name without ".pdf": the number with its slashes as dashes."""
        return self.number_text.replace("/", "-")


def price_notes(doc: Document) -> tuple[str, ...]:
    """"Booked vs invoiced": a sentence per line whose price or quantity differs from the booking, and one for the
    total. Empty when the invoice bills exactly what was booked."""
    notes = []
    for line in doc.lines:
        if line.booked_case_price is not None and line.booked_case_price != line.case_price and not line.is_free:
            notes.append(f"Line {line.line_no} ({line.sku_code}): booked at {line.booked_case_price:.2f} a case, "
                         f"invoiced at {line.case_price:.2f} (prices changed after booking).")
        if line.booked_qty_units is not None and line.booked_qty_units != line.qty_units:
            notes.append(f"Line {line.line_no} ({line.sku_code}): {line.booked_qty_units} units booked, "
                         f"{line.qty_units} invoiced (allocated).")
    if doc.booked_total is not None and doc.booked_total != doc.total:
        notes.append(f"Booked total {doc.booked_total:.2f} {doc.currency}; invoiced total {doc.total:.2f} "
                     f"{doc.currency}.")
    return tuple(notes)


# column title, width (mm), alignment
COLUMNS = (("#", 7, "R"), ("SKU", 28, "L"), ("Product", 70, "L"), ("Cases", 13, "R"), ("Units", 12, "R"),
           ("Case price", 21, "R"), ("Gross", 21, "R"), ("Discount", 19, "R"), ("Tax %", 12, "R"),
           ("Tax", 18, "R"), ("Total", 23, "R"))


def _party(pdf: FPDF, heading: str, party: Party, x: float, y: float) -> None:
    pdf.set_xy(x, y)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(90, 5, latin1(heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 9)
    for text in (f"{party.name} ({party.code})", party.address, f"Tax id: {party.tax_id}" if party.tax_id else ""):
        if text:
            pdf.set_x(x)
            pdf.cell(90, 5, latin1(text)[:70], new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _cells(line: DocumentLine) -> tuple[str, ...]:
    product = line.sku_name + (" (FREE)" if line.is_free else "")
    return (str(line.line_no), line.sku_code, product, str(line.cases), str(line.units), amount(line.case_price, 4),
            amount(line.gross), amount(line.discount), f"{line.tax_rate * 100:.2f}", amount(line.tax),
            amount(line.total))


def render(doc: Document) -> bytes:
    """The document as PDF bytes: A4 landscape, header with both parties, a row per line, totals, notes."""
    pdf = new_document(title=f"{doc.title.title()} {doc.number_text}", heading=f"{doc.title} {doc.number_text}")
    text_lines(pdf, [f"Date: {doc.date.isoformat()}    Currency: {doc.currency}",
                     *(f"{label}: {value}" for label, value in doc.references)])
    top = pdf.get_y() + 3
    _party(pdf, "From", doc.seller, pdf.l_margin, top)
    bottom = pdf.get_y()
    _party(pdf, "Bill to" if doc.kind == "invoice" else "Credited to", doc.buyer, pdf.l_margin + 130, top)
    pdf.set_xy(pdf.l_margin, max(bottom, pdf.get_y()) + 4)

    table(pdf, COLUMNS, [_cells(line) for line in doc.lines])

    pdf.ln(2)
    label_width = sum(width for _t, width, _a in COLUMNS[:-1])
    for label, value, bold in (("Gross", doc.gross, False), ("Discount", doc.discount, False),
                               ("Tax", doc.tax, False), (f"Total {doc.currency}", doc.total, True)):
        total_row(pdf, label, amount(value), label_width=label_width, value_width=COLUMNS[-1][1], bold=bold)

    texts = (*doc.notes, *price_notes(doc))
    if texts:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(0, 5, "Notes", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        notes(pdf, texts)
    return bytes(pdf.output())
