"""dms.core.memo: once per scope inside it, every time outside it, nothing left behind."""

from __future__ import annotations

from dms.core.memo import memo_scope, memoized


def test_memoized_computes_once_inside_a_scope_and_every_time_outside():
    calls: list[str] = []

    def compute(key: str) -> str:
        calls.append(key)
        return key.upper()

    assert memoized("a", lambda: compute("a")) == "A"
    assert memoized("a", lambda: compute("a")) == "A"
    with memo_scope():
        assert [memoized("a", lambda: compute("a")) for _ in range(3)] == ["A"] * 3
        with memo_scope():  # a nested scope shares the outer one
            assert memoized("a", lambda: compute("a")) == "A"
            assert memoized("b", lambda: compute("b")) == "B"
    assert memoized("b", lambda: compute("b")) == "B"
    assert calls == ["a", "a", "a", "b", "b"]
