"""Drawing helpers for the printable documents (invoices, credit notes, load forms), with fpdf2: pure Python, the PDF
core fonts, no system libraries. Each app keeps its own document snapshot and `render`; this module draws the parts
they share: the page, the heading, bordered table rows that repeat their header on a new page, totals and notes.

The core fonts (Helvetica) speak Latin-1 only: other characters are printed as their closest ASCII form, or "?".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse
from fpdf import FPDF
from fpdf.enums import XPos, YPos

ROW_H = 6
Columns = Sequence[tuple[str, int, str]]  # title, width (mm), alignment ("L", "C", "R")


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


def amount(value: Decimal | int, places: int = 2) -> str:
    return f"{value:,.{places}f}"


def new_document(*, title: str, heading: str) -> FPDF:
    """An A4 landscape document, its first page begun with `heading` in large type."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(latin1(title))
    pdf.set_creator("dms")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, latin1(heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return pdf


def text_lines(pdf: FPDF, lines: Sequence[str]) -> None:
    """Lines of small print under the heading."""
    pdf.set_font("Helvetica", "", 9)
    for text in lines:
        pdf.cell(0, 5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def row(pdf: FPDF, cells: Sequence[str], columns: Columns, *, header: bool = False) -> None:
    """One bordered table row; a cell's text is cut to what its width holds. A header row is bold on grey."""
    pdf.set_font("Helvetica", "B" if header else "", 8)
    if header:
        pdf.set_fill_color(230, 230, 230)
    for text, (_title, width, align) in zip(cells, columns, strict=True):
        pdf.cell(width, ROW_H, latin1(text)[:int(width / 1.6)], border=1, align=align, fill=header,
                 new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.ln(ROW_H)


def table(pdf: FPDF, columns: Columns, rows: Sequence[Sequence[str]]) -> None:
    """A header row and the rows; the header again at the top of every new page."""
    titles = [title for title, _width, _align in columns]
    row(pdf, titles, columns, header=True)
    for cells in rows:
        if pdf.will_page_break(ROW_H):
            pdf.add_page()
            row(pdf, titles, columns, header=True)
        row(pdf, cells, columns)


def total_row(pdf: FPDF, label: str, value: str, *, label_width: float, value_width: float,
              bold: bool = True) -> None:
    """A right-aligned label and its figure, under a table's figure column."""
    pdf.set_font("Helvetica", "B" if bold else "", 9)
    pdf.cell(label_width, ROW_H, latin1(label), align="R", new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.cell(value_width, ROW_H, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def notes(pdf: FPDF, texts: Sequence[str]) -> None:
    """Free text in small print, wrapped to the page's width; nothing at all when there is none."""
    if not texts:
        return
    pdf.set_font("Helvetica", "", 8)
    for text in texts:
        pdf.multi_cell(0, 4, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def streamed_response(draw: Callable[[], bytes], *, filename: str) -> StreamingHttpResponse:
    """A PDF drawn while the response streams, so after the request's transaction (the tenant middleware's) has
    ended: no transaction stays open while a PDF is drawn. For admin views; the APIs use core.api.PdfRenderer."""

    def body() -> Iterator[bytes]:
        yield draw()

    response = StreamingHttpResponse(body(), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}.pdf"'
    return response
