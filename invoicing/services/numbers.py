"""Gap-free document numbers: one NumberSeries row per distributor, kind, series code and fiscal year.

`number_take` locks the series row in the caller's transaction and moves it on by one. The lock is held until that
transaction ends, so the number commits with the document or, rolled back, is handed to the next caller: no gaps,
no duplicates (the unique constraint on each document's number is the backstop). Take the number as late as the
document allows, just before inserting it: every other issuer of the series waits for the commit.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connection
from django.db.models import F
from django.utils import timezone

from dms.core.errors import DomainError, NotFound
from dms.core.memo import memoized
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope

from ..enums import DocumentKind
from ..errors import InvoicingError
from ..locks import lock_number_series
from ..models import NumberSeries

CODE_MAX = NumberSeries._meta.get_field("code").max_length or 10


def tenant_of(scope: Scope) -> Tenant:
    """The scope's tenant (read once per memo scope: a batch job's chunk, a request)."""
    return memoized(("invoicing_tenant", scope.tenant_id), lambda: Tenant.objects.get(pk=scope.tenant_id))


def fiscal_year_of(*, scope: Scope, on_date: date) -> int:
    """The tenant's fiscal year of a date, named by the calendar year it starts in (Tenant.fiscal_year)."""
    return tenant_of(scope).fiscal_year(on_date)


def number_text(code: str, fiscal_year: int, number: int) -> str:
    """The printed number: "INV/2026/000123"."""
    return f"{code}/{fiscal_year}/{number:06d}"


def number_take(*, scope: Scope, distributor_id: int, kind: str, code: str, on_date: date, count: int = 1) -> int:
    """The next number of the distributor's `kind`/`code` series in the fiscal year of `on_date`.

    Must run inside the transaction that writes the document (select_for_update outside one raises). The series
    row is created on first use with INSERT ... ON CONFLICT DO NOTHING, so two first callers at once never fail:
    the second waits for the first's insert and then locks the same row. Not idempotent: each call takes a number.
    """
    if kind not in DocumentKind.values:
        raise DomainError(InvoicingError.INVALID, f"Unknown document kind {kind!r}.", fields={"kind": ["Unknown."]})
    if not code or len(code) > CODE_MAX:
        raise DomainError(InvoicingError.INVALID, f"A series code has 1 to {CODE_MAX} characters.",
                          fields={"code": [f"1 to {CODE_MAX} characters."]})
    if not scope.can_access_distributor(distributor_id):
        raise NotFound("Distributor not found.")
    fiscal_year = fiscal_year_of(scope=scope, on_date=on_date)
    key = {"distributor_id": distributor_id, "kind": kind, "code": code, "fiscal_year": fiscal_year}
    if not isinstance(count, int) or count < 1:
        raise DomainError(InvoicingError.INVALID, "Take at least one number.", fields={"count": ["At least 1."]})
    taken = _advance(key, count)  # the common case: one UPDATE ... RETURNING, which locks the row until commit
    if taken is None:
        NumberSeries.objects.bulk_create([NumberSeries(tenant_id=scope.tenant_id, **key)], ignore_conflicts=True)
        series = lock_number_series(scope).get(**key)
        NumberSeries.objects.filter(pk=series.pk).update(next_number=F("next_number") + count,
                                                         updated_at=timezone.now())
        taken = series.next_number
    return taken


def _advance(key: dict[str, Any], count: int) -> int | None:
    """Move an existing series on by `count` and return the first number taken, or None when the series has no row
    yet. Row
    security applies (the application role, the tenant's settings), as for any ORM query."""
    table = NumberSeries._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET next_number = next_number + %s, updated_at = %s "  # noqa: S608 - fixed names
            "WHERE distributor_id = %s AND kind = %s AND code = %s AND fiscal_year = %s RETURNING next_number - %s",
            [count, timezone.now(), key["distributor_id"], key["kind"], key["code"], key["fiscal_year"], count])
        row = cursor.fetchone()
    return None if row is None else int(row[0])
