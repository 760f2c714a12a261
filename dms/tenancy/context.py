"""The tenant context: the only place that sets it and the PostgreSQL row-level-security settings.

`tenant_scope(scope)` opens the outermost transaction of a request, task or command, runs
`SET LOCAL app.tenant_id` / `app.distributor_ids` in it (transaction-local, so a pooled connection never
carries a tenant into the next request), and holds the Scope in a contextvar for the ORM managers.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.db import connection, transaction

if TYPE_CHECKING:
    from .scope import Scope


class NoTenantInContext(RuntimeError):
    """A tenant-owned table was queried with no tenant in context. Fails closed: never all rows."""


_current: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("dms_scope", default=None)


def current_scope() -> Scope:
    scope = _current.get()
    if scope is None:
        raise NoTenantInContext("No tenant in context: enter tenancy.context.tenant_scope() first.")
    return scope


def current_scope_or_none() -> Scope | None:
    return _current.get()


def _set_rls(tenant_id: int | None, distributor_ids: frozenset[int] | None) -> None:
    if connection.vendor != "postgresql":
        return
    # SET LOCAL takes no bind parameters; the values are ints we format ourselves, never user text.
    # The statement form (not set_config) is what Citus forwards to worker shards.
    if tenant_id is None:
        tid, dids = "", ""
    else:
        tid = str(int(tenant_id))
        dids = "*" if distributor_ids is None else "{" + ",".join(str(int(d)) for d in sorted(distributor_ids)) + "}"
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL app.tenant_id = '{tid}'; SET LOCAL app.distributor_ids = '{dids}'")


@contextmanager
def tenant_scope(scope: Scope | int, *, durable: bool = True) -> Iterator[Scope]:
    """Enter a tenant: one transaction, RLS settings, and the Scope for managers and services.

    `durable=True` makes it the outermost transaction, as it must be at an interface edge (request,
    task, command). Nesting a different tenant inside is refused.
    """
    from .scope import Scope

    if isinstance(scope, int):
        scope = Scope.system(scope)
    outer = _current.get()
    if outer is not None and outer.tenant_id != scope.tenant_id:
        raise RuntimeError("tenant_scope cannot nest a different tenant")
    token = _current.set(scope)
    try:
        with transaction.atomic(durable=durable):
            _set_rls(scope.tenant_id, scope.distributor_ids)
            yield scope
            # Inside an outer transaction (tests) SET LOCAL would outlive this savepoint: restore it.
            # A block marked for rollback restores it by rolling back.
            if len(connection.atomic_blocks) > 1 and not connection.needs_rollback:
                if outer is None:
                    _set_rls(None, None)
                else:
                    _set_rls(outer.tenant_id, outer.distributor_ids)
    finally:
        _current.reset(token)
