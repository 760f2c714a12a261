from enum import StrEnum


class CatalogError(StrEnum):
    DUPLICATE_CODE = "duplicate_code"
    NO_PRICE = "no_price"
    INACTIVE_SKU = "inactive_sku"
    UNKNOWN_SKU = "unknown_sku"
    INVALID_QUANTITY = "invalid_quantity"
    IMPORT_FAILED = "import_failed"
