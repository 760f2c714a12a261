"""Realistic data at scale for one tenant: the generator behind the reconciliation and analytics benchmarks.

`seed_scale` creates one tenant (through the tenancy services) with its catalogue, distributors, outlets, bookers and
their phones, routes and weekly plans, then `days` business dates of field work ending at `end_date`: per booker a
daily journey whose planned visits are made in sequence (productive when an order was booked, unproductive with a
reason, on closed earlier days a few missed), the orders and their lines priced as the catalogue's engine prices
them (the base price list, a flat percent-off scheme on one brand, the tax rate of the day; line total = gross -
discount + tax, header = sum of lines), the phones' sync items with consecutive sequence numbers and a day close per
device and day. Orders move on as a distributor's night and next day move them: the last date's are booked,
confirmed, allocated or invoiced that evening; earlier dates' were invoiced that evening and loaded, delivered in
full and paid in cash the next day (the day before the last leaves a share invoiced, waiting for a vehicle). Stock
is received as opening stock, reserved by allocations and leaves on the load forms; each balance is the sum of its
movements and reserved equals its live (active or invoiced) allocations. Invoice numbers are gap-free 1..N per
distributor and fiscal year, with the NumberSeries row at N + 1.

It is fast because nothing passes through the ORM per row: every table is written by one INSERT .. SELECT per
chunk of distributors, as the application role inside `tenant_scope` (row-level security, composite foreign keys,
check constraints and triggers all apply; COPY is refused under RLS). Random choices are hashes of logical
positions (day, booker, visit, line) with the seed, never of database ids, so a seed always yields the same figures
whatever the ids. Clean by construction: the reconciliation finds nothing on it but what `inject_mismatches` plants.

Not generated: audit events (order, visit, invoice and load form events), push batches, primary orders (opening
stock is an un-referenced receipt), credit notes and returns.
"""

from .inject import INJECTIONS, Injected, inject_mismatches
from .seed import seed_scale
from .spec import ScaleSpec, ScaleSummary

__all__ = ["INJECTIONS", "Injected", "ScaleSpec", "ScaleSummary", "inject_mismatches", "seed_scale"]
