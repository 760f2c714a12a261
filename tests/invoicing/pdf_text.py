"""Read back what a PDF prints: the text shown by the content streams (fpdf2 compresses them with Flate)."""

from __future__ import annotations

import re
import zlib

_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_SHOWN = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj")


def pdf_text(data: bytes) -> str:
    """Every string the pages show, one per line, in drawing order."""
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), data[:20]
    shown = []
    for match in _STREAM.finditer(data):
        try:
            content = zlib.decompress(match.group(1))
        except zlib.error:
            continue  # not a compressed content stream (fonts, images)
        for text in _SHOWN.findall(content):
            shown.append(re.sub(rb"\\(.)", rb"\1", text).decode("latin-1"))
    return "\n".join(shown)
