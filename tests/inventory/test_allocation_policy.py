"""The allocation policies as plain functions (no database): hand-computed figures for first come and fair share,
the remainder units, free goods following their paid lines, all or nothing, and properties over random queues."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.allocation.policy import FAIR_SHARE, FIFO, Demand, Shares, percent, share_stock

W = 1  # the warehouse id of every stock key below
SODA, WATER = 10, 20


def paid(line_id: int, order_id: int, units: int, sku: int = SODA, rank: int | None = None) -> Demand:
    return Demand(line_id=line_id, order_id=order_id, rank=(rank if rank is not None else order_id, order_id),
                  stock=(W, sku), requested=units, label=f"SKU{sku}")


def free(line_id: int, order_id: int, units: int, sku: int = WATER, earned_by: tuple[int, ...] = (),
         rank: int | None = None) -> Demand:
    return Demand(line_id=line_id, order_id=order_id, rank=(rank if rank is not None else order_id, order_id),
                  stock=(W, sku), requested=units, is_free=True, earned_by=earned_by, label=f"SKU{sku}")


def units(shares: Shares) -> dict[int, int]:
    return {line_id: share.units for line_id, share in shares.lines.items()}


def test_percent_rounds_half_up_to_one_decimal_and_drops_a_trailing_zero():
    assert [percent(30, 50), percent(1, 3), percent(2, 3), percent(1, 8), percent(0, 7), percent(7, 7)] == [
        "60", "33.3", "66.7", "12.5", "0", "100"]


# --- first come ----------------------------------------------------------------------------------------------------

def test_first_come_serves_orders_in_booking_order_and_says_why():
    # given: 30 units for 20 + 20 + 10, booked in that order (order 3 booked first but listed last)
    demands = [paid(1, 1, 20, rank=1), paid(2, 2, 20, rank=2), paid(3, 3, 10, rank=3)]
    # when
    shares = share_stock(demands, {(W, SODA): 30}, policy=FIFO)
    # then
    assert units(shares) == {1: 20, 2: 10, 3: 0}
    assert [shares.lines[i].explanation for i in (1, 2, 3)] == [
        "20 of 20 units: first come, first served (30 available for 50 asked): filled before the stock ran out",
        "10 of 20 units: first come, first served (30 available for 50 asked): the last 10 left after earlier orders",
        "0 of 10 units: first come, first served (30 available for 50 asked): none left after earlier orders"]
    assert shares.refused == {}


def test_first_come_with_enough_stock_gives_everyone_what_they_asked_in_stock():
    shares = share_stock([paid(1, 1, 5), paid(2, 2, 5)], {(W, SODA): 10}, policy=FIFO)
    assert units(shares) == {1: 5, 2: 5}
    assert shares.lines[1].explanation == "5 of 5 units: in stock"


def test_nothing_in_the_warehouse_is_none_available():
    shares = share_stock([paid(1, 1, 5)], {}, policy=FIFO)
    assert (shares.lines[1].units, shares.lines[1].explanation) == (0, "0 of 5 units: none available")


def test_first_come_all_or_nothing_skips_a_short_order_and_serves_the_next_in_full():
    # given: 30 units; the second order would get only 10 of 20
    demands = [paid(1, 1, 20), paid(2, 2, 20), paid(3, 3, 10)]
    # when
    shares = share_stock(demands, {(W, SODA): 30}, policy=FIFO, all_or_nothing=True)
    # then
    assert units(shares) == {1: 20, 2: 0, 3: 10}
    assert shares.refused == {2: "All or nothing: the order cannot be filled in full (SKU10 10 of 20 units); "
                                 "nothing is allocated."}
    assert shares.lines[2].explanation == "0 of 20 units: all or nothing, and the order cannot be filled in full"


# --- fair share ----------------------------------------------------------------------------------------------------

def test_fair_share_gives_each_order_the_same_part_of_a_short_sku():
    demands = [paid(1, 1, 20), paid(2, 2, 20), paid(3, 3, 10)]
    shares = share_stock(demands, {(W, SODA): 30}, policy=FAIR_SHARE)
    assert units(shares) == {1: 12, 2: 12, 3: 6}
    assert shares.lines[1].explanation == (
        "12 of 20 units: SKU short (30 available for 50 asked), each order gets 60%")


def test_fair_share_hands_the_remainder_to_the_largest_fractional_part_not_the_earliest_booking():
    # given: 10 units for 7 + 5 + 3 = 15; exact shares 4.67, 3.33, 2; the order of 7 was booked last
    demands = [paid(1, 1, 3, rank=1), paid(2, 2, 5, rank=2), paid(3, 3, 7, rank=3)]
    # when
    shares = share_stock(demands, {(W, SODA): 10}, policy=FAIR_SHARE)
    # then: floors 2 + 3 + 4 = 9, the one unit left goes to 4.67
    assert units(shares) == {1: 2, 2: 3, 3: 5}
    assert shares.lines[3].explanation == ("5 of 7 units: SKU short (10 available for 15 asked), each order gets "
                                           "66.7%, plus 1 unit of the remainder")
    assert "remainder" not in shares.lines[2].explanation


def test_fair_share_ties_of_the_remainder_go_in_booking_order():
    # given: 10 units for 4 + 4 + 4: each 3.33; one unit left; order 2 was booked first
    demands = [paid(1, 1, 4, rank=2), paid(2, 2, 4, rank=1), paid(3, 3, 4, rank=3)]
    shares = share_stock(demands, {(W, SODA): 10}, policy=FAIR_SHARE)
    assert units(shares) == {1: 3, 2: 4, 3: 3}


def test_fair_share_all_or_nothing_fills_whole_orders_smallest_first():
    # given: 10 units for 6 + 6 + 4 (all short at 62.5 %); no share can be split
    demands = [paid(1, 1, 6), paid(2, 2, 6), paid(3, 3, 4)]
    # when
    shares = share_stock(demands, {(W, SODA): 10}, policy=FAIR_SHARE, all_or_nothing=True)
    # then: 4 first, then the earlier booked of the two 6s; the other cannot be filled
    assert units(shares) == {1: 6, 2: 0, 3: 4}
    assert set(shares.refused) == {2}
    assert shares.lines[3].explanation == (
        "4 of 4 units: whole orders, smallest first (10 available for 16 asked): filled before the stock ran out")


# --- free goods ------------------------------------------------------------------------------------------------

def test_free_goods_follow_the_fill_rate_of_the_paid_lines_that_earned_them():
    # given: soda is short (60 for 72: 83.3 %); water, the free goods, is plentiful
    demands = [paid(1, 1, 48), free(2, 1, 12, earned_by=(1,)), paid(3, 2, 24), free(4, 2, 6, earned_by=(3,))]
    # when
    shares = share_stock(demands, {(W, SODA): 60, (W, WATER): 100}, policy=FAIR_SHARE)
    # then: 40 and 20 soda; free water floor(12 x 40/48) = 10 and floor(6 x 20/24) = 5
    assert units(shares) == {1: 40, 2: 10, 3: 20, 4: 5}
    assert shares.lines[2].explanation == (
        "10 of 12 free units: free goods follow their paid lines (83.3% allocated)")


def test_free_goods_never_take_stock_a_paid_line_asked_for():
    # given: buy soda, get soda free; 30 soda for order 1 (20 paid + 2 free) and order 2 (10 paid)
    demands = [paid(1, 1, 20), free(2, 1, 2, sku=SODA, earned_by=(1,)), paid(3, 2, 10)]
    # when
    fair = share_stock(demands, {(W, SODA): 30}, policy=FAIR_SHARE)
    # then: the paid lines are served first, the free line gets nothing left
    assert units(fair) == {1: 20, 2: 0, 3: 10}
    assert fair.lines[2].explanation == "0 of 2 free units: none left after the paid lines"
    # first come: order 1 was booked first, so its free goods come before order 2's paid goods
    assert units(share_stock(demands, {(W, SODA): 30}, policy=FIFO)) == {1: 20, 2: 2, 3: 8}


def test_free_goods_with_no_paid_line_of_their_scheme_follow_the_whole_order():
    demands = [paid(1, 1, 10), paid(2, 1, 10, sku=WATER), free(3, 1, 4, sku=99)]
    shares = share_stock(demands, {(W, SODA): 5, (W, WATER): 10, (W, 99): 10}, policy=FIFO)
    assert units(shares) == {1: 5, 2: 10, 3: 3}  # 15 of 20 paid: floor(4 x 0.75)


# --- properties ----------------------------------------------------------------------------------------------------

@st.composite
def queues(draw):  # type: ignore[no-untyped-def]
    n_orders = draw(st.integers(1, 8))
    demands, line_id = [], 0
    for order_id in range(1, n_orders + 1):
        rank = draw(st.integers(0, 3))
        skus = draw(st.lists(st.sampled_from([SODA, WATER, 30]), min_size=1, max_size=3, unique=True))
        paid_ids = []
        for sku in skus:
            line_id += 1
            paid_ids.append(line_id)
            demands.append(paid(line_id, order_id, draw(st.integers(1, 30)), sku=sku, rank=rank))
        if draw(st.booleans()):
            line_id += 1
            demands.append(free(line_id, order_id, draw(st.integers(1, 10)), sku=draw(st.sampled_from([SODA, 40])),
                                earned_by=tuple(paid_ids[:1]), rank=rank))
    stock = {(W, sku): draw(st.integers(0, 60)) for sku in (SODA, WATER, 30, 40)}
    return demands, stock


@settings(max_examples=300, deadline=None)
@given(queues(), st.sampled_from([FIFO, FAIR_SHARE]), st.booleans())
def test_no_policy_ever_gives_more_than_asked_or_than_is_available(queue, policy, all_or_nothing):
    demands, stock = queue
    shares = share_stock(demands, stock, policy=policy, all_or_nothing=all_or_nothing)
    taken: dict[tuple[int, int], int] = defaultdict(int)
    for d in demands:
        assert 0 <= shares.lines[d.line_id].units <= d.requested
        taken[d.stock] += shares.lines[d.line_id].units
    assert all(taken[key] <= stock[key] for key in taken)
    if all_or_nothing:
        for d in demands:
            got = shares.lines[d.line_id].units
            assert got == 0 if d.order_id in shares.refused else got == d.requested


@settings(max_examples=300, deadline=None)
@given(queues(), st.sampled_from([FIFO, FAIR_SHARE]))
def test_all_or_nothing_never_skips_an_order_that_what_is_left_could_fill(queue, policy):
    demands, stock = queue
    shares = share_stock(demands, stock, policy=policy, all_or_nothing=True)
    left = dict(stock)
    for d in demands:
        left[d.stock] -= shares.lines[d.line_id].units
    for order_id in shares.refused:
        asked: dict[tuple[int, int], int] = defaultdict(int)
        for d in demands:
            if d.order_id == order_id:
                asked[d.stock] += d.requested
        assert any(units_asked > left[key] for key, units_asked in asked.items()), order_id


@pytest.mark.parametrize("seed", range(3))
def test_a_large_all_or_nothing_fair_share_is_one_pass(seed):
    # given: 2,000 orders of 10 lines over 40 SKUs, half the stock they ask for
    rng = random.Random(seed)
    demands = [paid(o * 10 + i, o, rng.randint(1, 24), sku=sku, rank=o)
               for o in range(2000) for i, sku in enumerate(rng.sample(range(40), 10))]
    asked: dict[int, int] = defaultdict(int)
    for d in demands:
        asked[d.stock[1]] += d.requested
    stock = {(W, sku): total // 2 for sku, total in asked.items()}
    # when
    import time

    started = time.monotonic()
    shares = share_stock(demands, stock, policy=FAIR_SHARE, all_or_nothing=True)
    # then: one pass over the orders, not a re-share per refused order
    assert time.monotonic() - started < 5
    served = {d.order_id for d in demands} - set(shares.refused)
    assert served and all(shares.lines[d.line_id].units == d.requested for d in demands if d.order_id in served)
