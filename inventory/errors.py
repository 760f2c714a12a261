from enum import StrEnum


class StockError(StrEnum):
    INVALID = "invalid"
    INSUFFICIENT = "insufficient_stock"
    INACTIVE_WAREHOUSE = "inactive_warehouse"


class AllocationError(StrEnum):
    """Codes of an order's allocation result (inventory.allocation) and of the allocation services' refusals."""

    INVALID = "invalid"
    NOTHING_AVAILABLE = "nothing_available"
    ALL_OR_NOTHING = "all_or_nothing"
    NOT_CONFIRMED = "not_confirmed"
    NOT_FOUND = "not_found"
    OTHER_DISTRIBUTOR = "other_distributor"
    INACTIVE_WAREHOUSE = "inactive_warehouse"
    STOCK_REFUSED = "stock_refused"
    NOT_ALLOCATED = "not_allocated"
