"""Who gets how much of a short SKU: the allocation policies as pure functions over plain data (no ORM, no clock),
so that the preview and the commit share them and the rules are tested with hand-computed figures.

Stock is shared per (warehouse, SKU); `available` is on hand less reserved. Quantities are units.

first come (fifo)  Orders in booking order (booked_at, then order id). Each takes what is left of every SKU it
                   asks for: its paid lines first, then its free goods.
fair share         Per SKU, when the paid lines ask no more than is available each gets what it asked. Otherwise
                   each gets floor(available x asked / total asked), and the units left over (fewer than the
                   lines) go one each to the lines with the largest fractional remainder, ties in booking order.
                   Free goods share, the same way, what is left after every paid line: a paying outlet is never
                   cut so that another gets free goods.
free goods         A free line never gets a larger part of what it asked than the paid lines that earned it (the
                   paid lines of its order carrying its scheme; all its order's paid lines if none does): at most
                   floor(free asked x paid allocated / paid asked). Paid goods cut to 60 % mean at most 60 % of the
                   free goods. (A slab that the allocated quantity no longer reaches is not re-priced here:
                   invoicing prices what is allocated.)
all or nothing     (TenantSettings.allocation_all_or_nothing) An order that cannot be filled in full gets nothing:
                   whole orders are served one after the other, each in full (paid lines, then its free goods) or
                   not at all, and a short one is skipped for the next. First come takes them in booking order. A
                   share cannot be split here, so fair share takes the smallest orders first (fewest units asked;
                   ties in booking order): as many outlets as the stock can fill. Either way a skipped order could
                   not be filled from what is left at the end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import floor
from typing import Any

FIFO = "fifo"
FAIR_SHARE = "fair_share"
POLICIES = {FIFO: "First come, first served", FAIR_SHARE: "Fair share"}
EXPLANATION_MAX = 300  # Allocation.explanation

StockKey = tuple[int, int]  # (warehouse id, SKU id)


@dataclass(frozen=True)
class Demand:
    """One order line as the policies see it."""

    line_id: int
    order_id: int
    rank: tuple[Any, ...]  # the booking order: (booked_at, order id)
    stock: StockKey
    requested: int  # units, more than 0
    is_free: bool = False
    earned_by: tuple[int, ...] = ()  # a free line's paid lines (ids of the same order); () = all of them
    label: str = ""  # the SKU's code, for messages


@dataclass(frozen=True)
class Share:
    line_id: int
    units: int
    explanation: str


@dataclass(frozen=True)
class Shares:
    lines: dict[int, Share]  # every demand's line id
    refused: dict[int, str]  # order id -> why it gets nothing (all or nothing)


def percent(part: int, whole: int) -> str:
    """part / whole in percent to one decimal, half up, with no trailing ".0": "60", "33.3"."""
    tenths = floor(Fraction(part * 1000, whole) + Fraction(1, 2))
    return str(tenths // 10) if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}"


def share_stock(demands: Sequence[Demand], available: Mapping[StockKey, int], *, policy: str,
                all_or_nothing: bool = False) -> Shares:
    """Every demand's units and the sentence that explains them, under `policy` (see the module docstring)."""
    if policy == FIFO:
        return _one_by_one(demands, available, all_or_nothing=all_or_nothing, first=_booking)
    if policy == FAIR_SHARE and all_or_nothing:
        return _one_by_one(demands, available, all_or_nothing=True, first=_smallest)
    if policy == FAIR_SHARE:
        return _FairShare(demands, available).run()
    raise ValueError(f"unknown allocation policy {policy!r}")


# --- shared pieces ----------------------------------------------------------------------------------------------

def _explain(d: Demand, units: int, notes: Iterable[str]) -> str:
    head = f"{units} of {d.requested} {'free ' if d.is_free else ''}units"
    told = [n for n in notes if n]
    return f"{head}: {'; '.join(told) if told else 'in stock'}"[:EXPLANATION_MAX]


def _cap(free: Demand, paid: Sequence[Demand], got: Mapping[int, int]) -> tuple[int, str]:
    """A free line's most units (its paid lines' fill rate applied to what it asked) and the note saying so."""
    earners = [p for p in paid if p.line_id in free.earned_by] or list(paid)
    asked = sum(p.requested for p in earners)
    if asked == 0:
        return free.requested, ""
    given = sum(got.get(p.line_id, 0) for p in earners)
    cap = free.requested * given // asked
    note = "" if cap >= free.requested else f"free goods follow their paid lines ({percent(given, asked)}% allocated)"
    return cap, note


def _refusal(lines: Sequence[Demand], got: Mapping[int, int]) -> str:
    short = [f"{d.label or f'line {d.line_id}'} {got.get(d.line_id, 0)} of {d.requested}"
             for d in lines if got.get(d.line_id, 0) < d.requested]
    return ("All or nothing: the order cannot be filled in full (" + ", ".join(short[:5])
            + (", ..." if len(short) > 5 else "") + " units); nothing is allocated.")


REFUSED_NOTE = "all or nothing, and the order cannot be filled in full"


def _by_order(demands: Sequence[Demand]) -> dict[int, list[Demand]]:
    grouped: dict[int, list[Demand]] = defaultdict(list)
    for d in demands:
        grouped[d.order_id].append(d)
    return grouped


# --- whole orders one by one: first come, and all or nothing ---------------------------------------------------

def _booking(lines: Sequence[Demand]) -> tuple[Any, ...]:
    return lines[0].rank


def _smallest(lines: Sequence[Demand]) -> tuple[Any, ...]:
    return (sum(d.requested for d in lines), *lines[0].rank)


def _one_by_one(demands: Sequence[Demand], available: Mapping[StockKey, int], *, all_or_nothing: bool,
                first: Callable[[Sequence[Demand]], tuple[Any, ...]]) -> Shares:
    """Orders in the `first` order, each taking what is left (paid lines, then its free goods); with
    `all_or_nothing` an order that would be short takes nothing and the next one goes on."""
    left = {key: max(units, 0) for key, units in available.items()}
    asked_at: dict[StockKey, int] = defaultdict(int)  # every order's ask, for the notes
    for d in demands:
        asked_at[d.stock] += d.requested
    got: dict[int, int] = {}
    cap_notes: dict[int, tuple[int, str]] = {}
    refused: dict[int, str] = {}
    grouped = _by_order(demands)
    for order_id in sorted(grouped, key=lambda o: first(grouped[o])):
        lines = grouped[order_id]
        trial: dict[StockKey, int] = {}
        taken: dict[int, int] = {}
        paid = [d for d in lines if not d.is_free]
        for d in paid + [d for d in lines if d.is_free]:
            if d.is_free:
                cap_notes[d.line_id] = _cap(d, paid, taken)
            want = cap_notes[d.line_id][0] if d.is_free else d.requested
            have = trial.get(d.stock, left.get(d.stock, 0))
            taken[d.line_id] = min(want, have)
            trial[d.stock] = have - taken[d.line_id]
        if all_or_nothing and any(taken[d.line_id] < d.requested for d in lines):
            refused[order_id] = _refusal(lines, taken)
            continue
        left.update(trial)
        got.update(taken)

    how = "first come, first served" if first is _booking else "whole orders, smallest first"
    out: dict[int, Share] = {}
    for d in demands:
        if d.order_id in refused:
            out[d.line_id] = Share(d.line_id, 0, _explain(d, 0, [REFUSED_NOTE]))
            continue
        units = got[d.line_id]
        ask, cap_note = cap_notes.get(d.line_id, (d.requested, ""))
        notes = [cap_note]
        stock = max(available.get(d.stock, 0), 0)
        if asked_at[d.stock] > stock:
            if stock == 0:
                notes.append("none available")
            else:
                tail = ("filled before the stock ran out" if units >= ask else "none left after earlier orders"
                        if units == 0 else f"the last {units} left after earlier orders")
                notes.append(f"{how} ({stock} available for {asked_at[d.stock]} asked): {tail}")
        out[d.line_id] = Share(d.line_id, units, _explain(d, units, notes))
    return Shares(out, refused)


# --- fair share --------------------------------------------------------------------------------------------------

def _split(items: Sequence[tuple[Demand, int]], available: int) -> dict[int, tuple[int, bool]]:
    """Largest-remainder shares of `available` among (demand, units asked): line id -> (units, got a remainder
    unit). Everyone gets what they asked when it fits."""
    total = sum(asked for _, asked in items)
    if total <= available:
        return {d.line_id: (asked, False) for d, asked in items}
    base = {d.line_id: available * asked // total for d, asked in items}
    rest = available - sum(base.values())
    # rest < the number of lines with a remainder, so a line gets at most one extra unit and never more than asked
    ranked = sorted(items, key=lambda item: (-(available * item[1] % total), item[0].rank, item[0].line_id))
    extra = {d.line_id for d, _ in ranked[:rest]}
    return {d.line_id: (base[d.line_id] + (d.line_id in extra), d.line_id in extra) for d, _ in items}


def _short_note(what: str, available: int, total: int, extra: bool) -> str:
    if available == 0:
        return "none available" if what == "SKU short" else "none left after the paid lines"
    note = f"{what} ({available} available for {total} asked), each order gets {percent(available, total)}%"
    return note + (", plus 1 unit of the remainder" if extra else "")


class _FairShare:
    """Fair share: the paid lines of each SKU, then its free goods from what the paid lines left."""

    def __init__(self, demands: Sequence[Demand], available: Mapping[StockKey, int]) -> None:
        self.demands = demands
        self.available = {key: max(units, 0) for key, units in available.items()}
        self.orders = _by_order(demands)
        self.paid_at: dict[StockKey, list[Demand]] = defaultdict(list)
        self.free_at: dict[StockKey, list[Demand]] = defaultdict(list)
        for d in demands:
            (self.free_at if d.is_free else self.paid_at)[d.stock].append(d)
        self.units: dict[int, int] = {}
        self.notes: dict[int, list[str]] = {}

    def _share_paid(self, key: StockKey) -> None:
        items = [(d, d.requested) for d in self.paid_at[key]]
        stock = self.available.get(key, 0)
        total = sum(asked for _, asked in items)
        for line_id, (units, extra) in _split(items, stock).items():
            self.units[line_id] = units
            self.notes[line_id] = [_short_note("SKU short", stock, total, extra)] if total > stock else []

    def _share_free(self, key: StockKey) -> None:
        items, cap_note = [], {}
        for d in self.free_at[key]:
            paid = [p for p in self.orders[d.order_id] if not p.is_free]
            cap, cap_note[d.line_id] = _cap(d, paid, self.units)
            items.append((d, cap))
        left = max(self.available.get(key, 0) - sum(self.units[p.line_id] for p in self.paid_at[key]), 0)
        total = sum(asked for _, asked in items)
        for line_id, (units, extra) in _split(items, left).items():
            self.units[line_id] = units
            short = [_short_note("free stock short after the paid lines", left, total, extra)] if total > left else []
            self.notes[line_id] = [cap_note[line_id], *short]

    def run(self) -> Shares:
        for key in self.paid_at:
            self._share_paid(key)
        for key in self.free_at:
            self._share_free(key)
        return Shares({d.line_id: Share(d.line_id, self.units[d.line_id],
                                        _explain(d, self.units[d.line_id], self.notes[d.line_id]))
                       for d in self.demands}, {})
