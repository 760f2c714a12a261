"""The checks of the nightly run, in the order they run (reconciliation.checks.base has the contract).

The day close comes first: visits it marks missed are what the later checks and the analytics see.
"""

from __future__ import annotations

from .base import Check
from .field import FIELD_CHECKS
from .money import MONEY_CHECKS

CHECKS: tuple[Check, ...] = FIELD_CHECKS + MONEY_CHECKS


def check_of(code: str) -> Check:
    for check in CHECKS:
        if check.code == code:
            return check
    raise KeyError(code)
