"""The one rounding rule. Money is Decimal end to end; amounts are rounded half-up to the cent here only.

Rule (DESIGN §9): every line's gross, discount, net and tax are rounded per line; document totals are the
sums of the rounded lines, so a total always equals the visible lines to the cent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal

CENT = Decimal("0.01")
RATE = Decimal("0.0001")
QTY = Decimal("0.001")
ZERO = Decimal("0.00")
# Intermediate products keep full precision; only money() rounds.
_CTX = Context(prec=40, rounding=ROUND_HALF_UP)


def as_decimal(value: Decimal | int | str) -> Decimal:
    """Accept Decimal, int or str. A float is refused: it has already lost the cents."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"money must not be a float or bool: {value!r}")
    return value if isinstance(value, Decimal) else Decimal(value)


def money(value: Decimal | int | str) -> Decimal:
    """Round to the cent, half up (commercial rounding; Python's default is half-even)."""
    return as_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP, context=_CTX)


def mul(*factors: Decimal | int | str) -> Decimal:
    """Exact product (40 significant digits), unrounded."""
    result = Decimal(1)
    for f in factors:
        result = _CTX.multiply(result, as_decimal(f))
    return result


def div(a: Decimal | int | str, b: Decimal | int | str) -> Decimal:
    """Quotient at 40 significant digits, unrounded."""
    return _CTX.divide(as_decimal(a), as_decimal(b))
