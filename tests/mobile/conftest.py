"""Shared cast for the order-booker app's tests: A1's booker and their registered phone (tests.conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from dms.tenancy.enums import Role


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Iterator[None]:
    """Sign-in throttles count in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def booker(cast_a: Any) -> Any:
    return cast_a.users[Role.ORDER_BOOKER]


@pytest.fixture
def phone(cast_a: Any) -> Any:
    """The booker's registered device (identifier "a-phone-1")."""
    return cast_a.device
