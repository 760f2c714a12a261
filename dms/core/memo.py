"""A memo for reads that cannot change during one unit of work (a request, a batch of a push).

Inside `memo_scope()`, `memoized(key, compute)` computes each key once; outside it, every call computes. The
unit of work runs in one transaction, so what it read once it would read again: memoising changes the number
of queries, never the answer. Keys must name everything the value depends on (tenant, distributor, date...).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")
_store: ContextVar[dict[Hashable, Any] | None] = ContextVar("dms_memo", default=None)


@contextmanager
def memo_scope() -> Iterator[None]:
    """Memoise `memoized` reads until the block ends (nested scopes share the outermost one)."""
    if _store.get() is not None:
        yield
        return
    token = _store.set({})
    try:
        yield
    finally:
        _store.reset(token)


def memoized(key: Hashable, compute: Callable[[], T]) -> T:
    store = _store.get()
    if store is None:
        return compute()
    if key not in store:
        store[key] = compute()
    return store[key]  # type: ignore[no-any-return]


def remember(key: Hashable, value: Any) -> None:
    """Store a value read in bulk (a batch's preload) for later `memoized(key, ...)` calls; no-op outside a scope."""
    store = _store.get()
    if store is not None:
        store[key] = value
