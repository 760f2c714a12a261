"""Printable invoices and credit notes (fpdf2: pure Python, the PDF core fonts, no system libraries).

Rendering is a pure function of a `Document` snapshot that selectors.invoice_document / credit_note_document read
in the request's transaction; the bytes are made after it has ended (the API renders in DRF's renderer, the admin
streams the response), so no transaction stays open while a PDF is drawn.

The core fonts (Helvetica) speak Latin-1 only: other characters are printed as their closest ASCII form, or "?".
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos


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


def latin1(text: str) -> str:
    """What the core fonts can print: Latin-1 as it is, other letters without their accents, the rest "?"."""
    out = []
    for ch in str(text):
        if ord(ch) < 256:
            out.append(ch)
            continue
        plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
        out.append(plain or "?")
    return "".join(out)


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
ROW_H = 6


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _party(pdf: FPDF, heading: str, party: Party, x: float, y: float) -> None:
    pdf.set_xy(x, y)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(90, 5, latin1(heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 9)
    for text in (f"{party.name} ({party.code})", party.address, f"Tax id: {party.tax_id}" if party.tax_id else ""):
        if text:
            pdf.set_x(x)
            pdf.cell(90, 5, latin1(text)[:70], new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _header_row(pdf: FPDF) -> None:
    pdf.set_font("Helvetica", "B", 8)
    pdf.set_fill_color(230, 230, 230)
    for title, width, align in COLUMNS:
        pdf.cell(width, ROW_H, title, border=1, align=align, fill=True, new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.ln(ROW_H)
    pdf.set_font("Helvetica", "", 8)


def _line_row(pdf: FPDF, line: DocumentLine) -> None:
    product = line.sku_name + (" (FREE)" if line.is_free else "")
    rate = f"{line.tax_rate * 100:.2f}"
    cells = (str(line.line_no), line.sku_code, product, str(line.cases), str(line.units), f"{line.case_price:,.4f}",
             _money(line.gross), _money(line.discount), rate, _money(line.tax), _money(line.total))
    for text, (_title, width, align) in zip(cells, COLUMNS, strict=True):
        limit = int(width / 1.6)
        pdf.cell(width, ROW_H, latin1(text)[:limit], border=1, align=align, new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.ln(ROW_H)


def render(doc: Document) -> bytes:
    """The document as PDF bytes: A4 landscape, header with both parties, a row per line, totals, notes."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(latin1(f"{doc.title.title()} {doc.number_text}"))
    pdf.set_creator("dms")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, f"{doc.title} {latin1(doc.number_text)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 9)
    heading = f"Date: {doc.date.isoformat()}    Currency: {latin1(doc.currency)}"
    pdf.cell(0, 5, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for label, value in doc.references:
        pdf.cell(0, 5, latin1(f"{label}: {value}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    top = pdf.get_y() + 3
    _party(pdf, "From", doc.seller, pdf.l_margin, top)
    bottom = pdf.get_y()
    _party(pdf, "Bill to" if doc.kind == "invoice" else "Credited to", doc.buyer, pdf.l_margin + 130, top)
    pdf.set_xy(pdf.l_margin, max(bottom, pdf.get_y()) + 4)

    _header_row(pdf)
    for line in doc.lines:
        if pdf.will_page_break(ROW_H):
            pdf.add_page()
            _header_row(pdf)
        _line_row(pdf, line)

    pdf.ln(2)
    label_w = sum(width for _t, width, _a in COLUMNS[:-1])
    for label, amount, bold in (("Gross", doc.gross, False), ("Discount", doc.discount, False),
                                ("Tax", doc.tax, False), (f"Total {latin1(doc.currency)}", doc.total, True)):
        pdf.set_font("Helvetica", "B" if bold else "", 9)
        pdf.cell(label_w, ROW_H, label, align="R", new_x=XPos.RIGHT, new_y=YPos.TOP)
        pdf.cell(COLUMNS[-1][1], ROW_H, _money(amount), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    notes = (*doc.notes, *price_notes(doc))
    if notes:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(0, 5, "Notes", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", "", 8)
        for note in notes:
            pdf.multi_cell(0, 4, latin1(note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
