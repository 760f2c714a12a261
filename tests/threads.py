"""Running calls at the same moment, each in its own thread with its own database connection (race tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection


def at_once(calls: Sequence[Callable[[], Any]], timeout: float = 60) -> list[Any]:
    """Start every call in a thread of its own and wait for all; each result, or the exception it raised, in the
    order the calls were given. Each thread closes its connection when done."""
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - handed to the test, which asserts on it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return results
