"""Reconciliation services: the run (services/run.py) and the exception queue (services/queue.py)."""

from .queue import exception_assign, exception_reopen, exception_resolve
from .run import (
    close_instant,
    latest_closed_date,
    reconcile_due,
    reconcile_redrive,
    reconciliation_execute,
    reconciliation_request,
    registered_checks,
    run_check,
)

__all__ = [
    "close_instant",
    "exception_assign",
    "exception_reopen",
    "exception_resolve",
    "latest_closed_date",
    "reconcile_due",
    "reconcile_redrive",
    "reconciliation_execute",
    "reconciliation_request",
    "registered_checks",
    "run_check",
]
