from enum import StrEnum


class StockError(StrEnum):
    INVALID = "invalid"
    INSUFFICIENT = "insufficient_stock"
    INACTIVE_WAREHOUSE = "inactive_warehouse"
