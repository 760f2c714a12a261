"""The one pricing engine: price list + schemes + taxes + rounding. See core.py for the rules.

Public API: `price_lines(scope=, outlet=, lines=, on_date=) -> PricedOrder`, with `LineInput` in and
`PricedOrder`/`PricedLine` out. `core.compute()` is the same rules over plain facts, for tests and tools.
"""

from .core import LineInput, PricedLine, PricedOrder
from .engine import price_lines

__all__ = ["LineInput", "PricedLine", "PricedOrder", "price_lines"]
