"""The demo data set behind `manage.py seed_demo`: two manufacturers, their distributors, outlets, SKUs,
prices, schemes, and a user for every role.

Generation is pure and deterministic (`outlet_rows`, `sku_rows`, `demo_digest`): every part draws from its
own `random.Random` seeded with a string, so a seed always yields the same rows whatever the other sizes
are. Writes go through the tenancy services for the registry and `bulk_create` for the bulk masters.

A package: world.py (the data), rows.py (pure row generation), seed.py (writing). Everything public is
re-exported here, so callers keep using `catalog.demo.<name>`.
"""

from .rows import (
    OutletRow,
    SkuRow,
    demo_digest,
    outlet_rows,
    sku_rows,
)
from .seed import (
    Credential,
    DemoSummary,
    demo_present,
    demo_reset,
    demo_usernames,
    outlets_insert,
    seed_demo,
)
from .world import (
    BOOKERS_PER_DISTRIBUTOR,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    KM_PER_DEG_LAT,
    OUTLET_BATCH,
    PLATFORM_USERNAME,
    TENANTS,
    BrandSpec,
    City,
    Pack,
    Place,
    TenantSpec,
)

__all__ = [
    "BOOKERS_PER_DISTRIBUTOR",
    "BrandSpec",
    "City",
    "Credential",
    "DEFAULT_SEED",
    "DEMO_PASSWORD",
    "DemoSummary",
    "KM_PER_DEG_LAT",
    "OUTLET_BATCH",
    "OutletRow",
    "PLATFORM_USERNAME",
    "Pack",
    "Place",
    "SkuRow",
    "TENANTS",
    "TenantSpec",
    "demo_digest",
    "demo_present",
    "demo_reset",
    "demo_usernames",
    "outlet_rows",
    "outlets_insert",
    "seed_demo",
    "sku_rows",
]
