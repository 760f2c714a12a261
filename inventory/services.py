"""Every write of the inventory app: one function per movement kind, and the distributor's default warehouse.

Each stock service validates its input, finds the warehouse through the scope (another distributor's or tenant's is
NotFound), locks the balance rows of the SKUs it touches (inventory.locks: created on first use, locked in
(warehouse_id, sku_id) order), checks the stock under that lock, then writes the movements and moves the balances
with F() updates, all in one transaction. A refused call writes nothing. Movements are append-only: nothing here
updates or deletes one; a mistake is corrected by another movement (an adjustment).

Quantities are units (never cases), passed as positive integers; the service gives them their sign.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Sku
from dms.core.errors import DomainError, NotFound
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope

from .enums import MovementKind
from .errors import StockError
from .locks import lock_balances
from .models import StockBalance, StockMovement, Warehouse
from .selectors import warehouse_get

K = MovementKind
MAX_LINES = 500
MAX_QTY = 10**9  # units in one movement; far above any real one, well inside a PostgreSQL integer
DEFAULT_CODES = ("MAIN", "DEFAULT")  # the default warehouse's code, the second if the first is taken

# kind -> (sign of qty_units, on_hand per unit, reserved per unit) for a positive quantity
EFFECTS: dict[str, tuple[int, int, int]] = {
    K.RECEIPT: (1, 1, 0),
    K.ALLOCATION: (1, 0, 1),
    K.RELEASE: (-1, 0, -1),
    K.DISPATCH: (-1, -1, -1),
    K.RETURN: (1, 1, 0),
    K.ADJUSTMENT: (1, 1, 0),  # the quantity of an adjustment is signed already
}

Reference = tuple[str, int | None]  # ("grn", 12), ("secondary_order", 7)
StockLine = tuple[int, int]  # (sku_id, qty_units)


@dataclass(frozen=True)
class AllocatedLine:
    sku_id: int
    requested: int
    allocated: int

    @property
    def short(self) -> int:
        return self.requested - self.allocated


@dataclass(frozen=True)
class _Change:
    sku_id: int
    qty_units: int  # signed
    on_hand_delta: int
    reserved_delta: int


# --- validation ------------------------------------------------------------------------------------------------

def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _raise(errors: dict[str, list[str]], code: str = StockError.INVALID) -> None:
    if errors:
        first = next(iter(errors.values()))[0]
        raise DomainError(code, first if len(errors) == 1 else "Some fields are invalid.", fields=errors)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_lines(lines: Sequence[StockLine], errors: dict[str, list[str]]) -> None:
    if not lines:
        _add(errors, "lines", "Give at least one line.")
        return
    if len(lines) > MAX_LINES:
        _add(errors, "lines", f"At most {MAX_LINES} lines at once; got {len(lines)}.")
        return
    seen: dict[Any, int] = {}
    for i, line in enumerate(lines):
        try:
            sku_id, qty = line
        except (TypeError, ValueError):
            _add(errors, f"lines[{i}]", "A line is (sku_id, qty_units).")
            continue
        if not _is_int(sku_id):
            _add(errors, f"lines[{i}].sku_id", "A SKU id is an integer.")
        elif sku_id in seen:
            _add(errors, f"lines[{i}].sku_id", f"SKU {sku_id} is already on lines[{seen[sku_id]}]; "
                                               "give each SKU one line.")
        else:
            seen[sku_id] = i
        if not _is_int(qty) or not 0 < qty <= MAX_QTY:
            _add(errors, f"lines[{i}].qty_units", "A quantity is a whole number of units, 1 or more.")


def _check_reference(reference: Reference | None, errors: dict[str, list[str]]) -> None:
    if reference is None:
        return
    ref_type, ref_id = reference
    if not isinstance(ref_type, str) or not ref_type or len(ref_type) > 30:
        _add(errors, "reference", "A reference type is a name of 1 to 30 characters.")
    if ref_id is not None and not _is_int(ref_id):
        _add(errors, "reference", "A reference id is an integer.")


def _check_text(errors: dict[str, list[str]], *, reason: str, batch: str) -> None:
    if len(reason) > 300:
        _add(errors, "reason", "A reason has at most 300 characters.")
    if len(batch) > 60:
        _add(errors, "batch", "A batch has at most 60 characters.")


def _warehouse(scope: Scope, warehouse_id: int, *, active: bool) -> Warehouse:
    """The warehouse in scope (NotFound otherwise); `active` refuses an inactive one (stock may still leave it)."""
    if not _is_int(warehouse_id):
        raise NotFound("Warehouse not found.")
    warehouse = warehouse_get(scope=scope, pk=warehouse_id)
    if active and not warehouse.active:
        raise DomainError(StockError.INACTIVE_WAREHOUSE, f"Warehouse {warehouse.code} is inactive.",
                          fields={"warehouse_id": [f"Warehouse {warehouse.code} is inactive."]})
    return warehouse


def _check_skus(sku_ids: Sequence[int], field: str = "lines[{i}].sku_id") -> None:
    known = set(Sku.objects.filter(pk__in=sku_ids).values_list("pk", flat=True))
    errors: dict[str, list[str]] = {}
    for i, sku_id in enumerate(sku_ids):
        if sku_id not in known:
            _add(errors, field.format(i=i), f"Unknown SKU {sku_id}.")
    _raise(errors)


# --- writing ---------------------------------------------------------------------------------------------------

def _write(scope: Scope, warehouse: Warehouse, kind: str, changes: Sequence[_Change], balances: dict[int, StockBalance],
           *, reason: str = "", reference: Reference | None = None, batch: str = "",
           expiry: date | None = None) -> list[StockMovement]:
    """The movements and the balance updates of one call, under the balance locks the caller holds."""
    now = timezone.now()
    ref_type, ref_id = reference if reference is not None else ("", None)
    actor = scope.actor
    movements = [
        StockMovement(tenant_id=warehouse.tenant_id, distributor_id=warehouse.distributor_id, warehouse=warehouse,
                      sku_id=c.sku_id, kind=kind, qty_units=c.qty_units, on_hand_delta=c.on_hand_delta,
                      reserved_delta=c.reserved_delta, reason=reason, reference_type=ref_type, reference_id=ref_id,
                      batch=batch, expiry=expiry, actor_kind=actor.kind, actor_id=actor.id,
                      actor_label=actor.label[:150])
        for c in changes
    ]
    StockMovement.objects.bulk_create(movements)
    for c in changes:
        StockBalance.objects.filter(pk=balances[c.sku_id].pk).update(
            on_hand=F("on_hand") + c.on_hand_delta, reserved=F("reserved") + c.reserved_delta,
            version=F("version") + 1, updated_at=now)
    return movements


def _change(kind: str, sku_id: int, qty: int) -> _Change:
    sign, on_hand, reserved = EFFECTS[kind]
    return _Change(sku_id=sku_id, qty_units=sign * qty, on_hand_delta=on_hand * qty, reserved_delta=reserved * qty)


def _move(scope: Scope, kind: str, warehouse_id: int, lines: Sequence[StockLine], *, reason: str,
          reference: Reference | None, batch: str = "", expiry: date | None = None) -> list[StockMovement]:
    """Receipt, release, dispatch, return: every line moves in full or the call is refused."""
    errors: dict[str, list[str]] = {}
    _check_lines(lines, errors)
    _check_reference(reference, errors)
    _check_text(errors, reason=reason, batch=batch)
    _raise(errors)
    warehouse = _warehouse(scope, warehouse_id, active=kind == K.RECEIPT)
    _check_skus([sku_id for sku_id, _ in lines])
    balances = lock_balances(scope, warehouse, [sku_id for sku_id, _ in lines])
    changes = [_change(kind, sku_id, qty) for sku_id, qty in lines]
    for i, c in enumerate(changes):
        b = balances[c.sku_id]
        if kind in (K.RELEASE, K.DISPATCH) and b.reserved < -c.reserved_delta:
            verb = "release" if kind == K.RELEASE else "dispatch"
            _add(errors, f"lines[{i}].qty_units", f"Only {b.reserved} units of SKU {c.sku_id} are reserved; "
                                                  f"cannot {verb} {-c.reserved_delta}.")
    _raise(errors, StockError.INSUFFICIENT)
    return _write(scope, warehouse, kind, changes, balances, reason=reason, reference=reference, batch=batch,
                  expiry=expiry)


@transaction.atomic
def stock_receive(*, scope: Scope, warehouse_id: int, lines: Sequence[StockLine], reference: Reference | None = None,
                  reason: str = "", batch: str = "", expiry: date | None = None) -> list[StockMovement]:
    """Goods in (a GRN): +on_hand per line."""
    return _move(scope, K.RECEIPT, warehouse_id, lines, reason=reason, reference=reference, batch=batch,
                 expiry=expiry)


@transaction.atomic
def stock_release(*, scope: Scope, warehouse_id: int, lines: Sequence[StockLine], reference: Reference | None = None,
                  reason: str = "") -> list[StockMovement]:
    """Give back reserved stock (an order cancelled or shortened): -reserved; refused beyond what is reserved."""
    return _move(scope, K.RELEASE, warehouse_id, lines, reason=reason, reference=reference)


@transaction.atomic
def stock_dispatch(*, scope: Scope, warehouse_id: int, lines: Sequence[StockLine], reference: Reference | None = None,
                   reason: str = "") -> list[StockMovement]:
    """Reserved stock leaves the warehouse: -on_hand and -reserved; refused beyond what is reserved."""
    return _move(scope, K.DISPATCH, warehouse_id, lines, reason=reason, reference=reference)


@transaction.atomic
def stock_return(*, scope: Scope, warehouse_id: int, lines: Sequence[StockLine], reference: Reference | None = None,
                 reason: str = "", batch: str = "", expiry: date | None = None) -> list[StockMovement]:
    """Goods come back (a delivery returned): +on_hand."""
    return _move(scope, K.RETURN, warehouse_id, lines, reason=reason, reference=reference, batch=batch,
                 expiry=expiry)


@transaction.atomic
def stock_allocate(*, scope: Scope, warehouse_id: int, lines: Sequence[StockLine],
                   reference: Reference | None = None, all_or_nothing: bool = False,
                   reason: str = "") -> list[AllocatedLine]:
    """Reserve stock for an order: +reserved, never more than is available (on hand less reserved).

    Under the balance locks each line gets min(requested, available); a short line is allocated in part (0 when
    nothing is available) unless `all_or_nothing`, which refuses the whole call, naming the short lines, and writes
    nothing. Returns each line's requested and allocated units, in the order given.
    """
    errors: dict[str, list[str]] = {}
    _check_lines(lines, errors)
    _check_reference(reference, errors)
    _check_text(errors, reason=reason, batch="")
    _raise(errors)
    warehouse = _warehouse(scope, warehouse_id, active=True)
    _check_skus([sku_id for sku_id, _ in lines])
    balances = lock_balances(scope, warehouse, [sku_id for sku_id, _ in lines])
    result: list[AllocatedLine] = []
    for i, (sku_id, qty) in enumerate(lines):
        available = max(balances[sku_id].available, 0)
        result.append(AllocatedLine(sku_id=sku_id, requested=qty, allocated=min(qty, available)))
        if qty > available and all_or_nothing:
            _add(errors, f"lines[{i}].qty_units", f"Only {available} units of SKU {sku_id} are available; "
                                                  f"{qty} asked.")
    _raise(errors, StockError.INSUFFICIENT)
    changes = [_change(K.ALLOCATION, a.sku_id, a.allocated) for a in result if a.allocated > 0]
    if changes:
        _write(scope, warehouse, K.ALLOCATION, changes, balances, reason=reason, reference=reference)
    return result


@transaction.atomic
def stock_adjust(*, scope: Scope, warehouse_id: int, sku_id: int, qty_units: int, reason: str,
                 reference: Reference | None = None, batch: str = "", expiry: date | None = None) -> StockMovement:
    """Correct on hand by a signed quantity (a count, damage, expiry), with the reason why (required).

    Lowering is refused below what is reserved: reserved stock is released or dispatched, not adjusted away.
    """
    errors: dict[str, list[str]] = {}
    if not _is_int(sku_id):
        _add(errors, "sku_id", "A SKU id is an integer.")
    if not _is_int(qty_units) or qty_units == 0 or abs(qty_units) > MAX_QTY:
        _add(errors, "qty_units", "An adjustment is a whole number of units, not 0 (negative lowers stock).")
    if not isinstance(reason, str) or not reason.strip():
        _add(errors, "reason", "Say why the stock is adjusted.")
    else:
        reason = reason.strip()
        _check_text(errors, reason=reason, batch=batch)
    _check_reference(reference, errors)
    _raise(errors)
    warehouse = _warehouse(scope, warehouse_id, active=False)
    _check_skus([sku_id], field="sku_id")
    balances = lock_balances(scope, warehouse, [sku_id])
    free = balances[sku_id].available
    if qty_units < 0 and -qty_units > free:
        _add(errors, "qty_units", f"Only {free} units of SKU {sku_id} are on hand and not reserved; "
                                  f"cannot lower by {-qty_units}.")
    _raise(errors, StockError.INSUFFICIENT)
    change = _Change(sku_id=sku_id, qty_units=qty_units, on_hand_delta=qty_units, reserved_delta=0)
    return _write(scope, warehouse, K.ADJUSTMENT, [change], balances, reason=reason, reference=reference,
                  batch=batch, expiry=expiry)[0]


@transaction.atomic
def default_warehouse(*, scope: Scope, distributor_id: int) -> Warehouse:
    """The distributor's default warehouse, created (code MAIN) the first time it is asked for. Safe when two
    callers ask at once: the partial unique constraint lets one insert win and the other finds it."""
    if not _is_int(distributor_id) or not scope.can_access_distributor(distributor_id) or \
            not Distributor.objects.filter(pk=distributor_id).exists():
        raise NotFound("Distributor not found.")
    for code in DEFAULT_CODES:
        found = scope.filter(Warehouse.objects.filter(distributor_id=distributor_id, is_default=True)).first()
        if found is not None:
            return found
        Warehouse.objects.bulk_create(
            [Warehouse(tenant_id=scope.tenant_id, distributor_id=distributor_id, code=code, name="Main warehouse",
                       is_default=True)],
            ignore_conflicts=True)
    found = scope.filter(Warehouse.objects.filter(distributor_id=distributor_id, is_default=True)).first()
    if found is None:
        raise DomainError(StockError.INVALID, "No default warehouse could be made: codes MAIN and DEFAULT are taken.")
    return found
