"""The contract of a check: one set-based SQL SELECT that lists the mismatches; the run writes them.

A check's `select(ctx)` returns SQL and its parameters. The SELECT yields one row per mismatch with exactly these
columns (types as shown), unique on (distributor_id, key):

    distributor_id  bigint   the distributor the mismatch belongs to
    key             text     what it is about, stable across nights: 'order:42:booked', 'balance:7', 'journey:9'
    subject_type    text     the main record's type: 'order', 'invoice', 'balance', 'device', 'journey', ...
    subject_id      bigint   the main record's id (NULL when there is none)
    message         text     one sentence for the queue, with the figures: 'On hand 40 units, ledger says 36.'
    records         jsonb    the records involved: jsonb_build_array(jsonb_build_object('type','invoice','id',..,
                             'ref', number)), ...
    detail          jsonb    the figures compared, by name

The run (services/run.py) wraps it in one INSERT .. SELECT .. ON CONFLICT statement: no row passes through Python,
so a check costs one query whatever the day's volume. Write it with the tables' names from `table()`, the standard
parameters of `CheckContext.params()` (%(tenant_id)s, %(business_date)s, %(day_start)s, %(day_end)s, %(as_of)s
and the limits) and your own. Filter by `tenant_id = %(tenant_id)s` explicitly (row-level security is the backstop,
not the index path). A check must not write; a check that has to change state first (the day close) does it in
`prepare`, through the owning app's service, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import models

from dms.tenancy.scope import Scope

from ..enums import CheckScope

COLUMNS = ("distributor_id", "key", "subject_type", "subject_id", "message", "records", "detail")


def table(model: type[models.Model]) -> str:
    """A model's table name, quoted for SQL."""
    return f'"{model._meta.db_table}"'


@dataclass(frozen=True)
class Limits:
    """How long an order may stay in a state before it is stuck (TenantSettings), and when a DA is due received."""

    booked_hours: int = 24
    allocated_hours: int = 24
    invoiced_hours: int = 48
    grn_due_days: int = 7


@dataclass(frozen=True)
class CheckContext:
    """What a check runs for: the tenant, its business date and that date's bounds in UTC."""

    scope: Scope
    run_id: int
    business_date: date
    tz: ZoneInfo
    day_start: datetime  # the business date's tenant-local midnight, aware
    day_end: datetime  # the next day's tenant-local midnight, aware
    as_of: datetime  # the instant "stuck" and "due" are measured at: the day's close or now, whichever is earlier
    limits: Limits = field(default_factory=Limits)

    @property
    def tenant_id(self) -> int:
        return self.scope.tenant_id

    def params(self, **extra: Any) -> dict[str, Any]:
        return {"tenant_id": self.tenant_id, "business_date": self.business_date, "day_start": self.day_start,
                "day_end": self.day_end, "as_of": self.as_of,
                "booked_limit": timedelta(hours=self.limits.booked_hours),
                "allocated_limit": timedelta(hours=self.limits.allocated_hours),
                "invoiced_limit": timedelta(hours=self.limits.invoiced_hours),
                "grn_due": timedelta(days=self.limits.grn_due_days), **extra}


Select = Callable[[CheckContext], tuple[str, dict[str, Any]]]
Prepare = Callable[[CheckContext], dict[str, int]]


@dataclass(frozen=True)
class Check:
    """One reconciliation check. `prepare` (optional) changes state through an app's service before the SELECT and
    returns counts for the run record ({"missed": 12}).

    `gate` (optional) is a cheaper SELECT of control totals: one row per distributor whose totals disagree, with a
    single column `distributor_id`. The run executes it first, as a plain read (which PostgreSQL may run in
    parallel: an INSERT .. SELECT never is), and then the detailed `select` only for those distributors, passed as
    %(suspects)s (a bigint[]): the select must keep to `distributor_id = ANY(%(suspects)s)`. No suspect, no
    detailed pass (and the check's open exceptions are cleared as no longer found). A gate compares weighted sums
    (see `fingerprint`), so a mismatch is missed only if differences cancel under two independent weightings."""

    code: str
    title: str
    description: str  # what is compared with what, shown in the admin and the API
    scope: CheckScope
    select: Select
    prepare: Prepare | None = None
    gate: Select | None = None


def fingerprint(*keys: str, salt: int) -> str:
    """SQL: a pseudo-random weight in 1..1,048,573 of the row's identity (integer columns), the same on both sides
    of a control total. Two salts give two independent weightings: sum(delta * weight) is 0 under both only if the
    differences are all 0, except by a coincidence of ratios between 20-bit weights."""
    mixed = " + ".join(f"{key}::bigint * {multiplier}" for key, multiplier in
                       zip(keys, (2654435761 + salt, 40503 + 7 * salt, 2246822519 + 3 * salt), strict=False))
    return f"(mod(mod({mixed}, 1048573) + 1048573, 1048573) + 1)"  # mod(): a % would be taken for a parameter
