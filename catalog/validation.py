"""Validation of structured master-data fields shared by the API, the admin and imports."""

from __future__ import annotations

import re
from typing import Any

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def validate_opening_hours(value: Any) -> dict[str, list[list[str]]]:
    """{"mon": [["08:00", "20:00"]], ...}: known days, HH:MM pairs, each opening before closing."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValueError("Opening hours must be an object of day -> [[open, close], ...].")
    out: dict[str, list[list[str]]] = {}
    for day, spans in value.items():
        if day not in DAYS:
            raise ValueError(f"Unknown day '{day}'; use {', '.join(DAYS)}.")
        if not isinstance(spans, list):
            raise ValueError(f"{day}: expected a list of [open, close] pairs.")
        clean = []
        for span in spans:
            if (not isinstance(span, (list, tuple)) or len(span) != 2
                    or not all(isinstance(t, str) and _HHMM.match(t) for t in span)):
                raise ValueError(f"{day}: each span is [\"HH:MM\", \"HH:MM\"].")
            if span[0] >= span[1]:
                raise ValueError(f"{day}: {span[0]} is not before {span[1]}.")
            clean.append([span[0], span[1]])
        out[day] = sorted(clean)
    return out
