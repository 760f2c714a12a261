"""Every write of the dispatch app (DESIGN §2, §3).

Inbound (primary orders): the manufacturer answers an approved primary order with one dispatch advice (DA); the
distributor records one goods receipt (GRN) against it, which raises stock.

- `advice_issue`: approved | partially_approved order -> a DA with a line per order line (ordered, approved,
  dispatched cases) and the dispatched cases split into batches; the order moves to `dispatched`. The DA's
  `reference` (the manufacturer's document number) is its idempotency key: the same reference with the same
  content is the same DA (returned, nothing written), with other content a 409.
- `receipt_record`: issued DA -> a GRN with one line per dispatch batch (received + short + damaged =
  dispatched); the good cases go into stock (inventory.services.stock_receive, reference ("grn", id)); the DA
  moves to `received`, the order to `received`, and on to `closed` when nothing was short or damaged. One GRN
  per DA: a second receipt is a 409, whoever sends it and however often.

Outbound (secondary orders): load forms, planned -> loaded -> out_for_delivery -> settled (planned -> cancelled).

- `vehicle_create`, `vehicle_update`: the distributor's vehicles and their capacity (kg, litres, cases).
- `load_form_create`: issued invoices on one vehicle for a date, refused over capacity with the figures, in the
  delivery sequence of routing.delivery.plan_trips; `load_forms_plan_start`: a Celery job (optimisation queue)
  that splits a day's invoices across vehicles with the same planner and writes planned load forms.
- `load_form_cancel`, `load_form_assign`, `load_form_mark_loaded` (the invoiced stock leaves the warehouse, the
  orders become `loaded`), `load_form_depart`.
- `delivery_record`, `cash_record`, `load_form_settle`: settlement (dispatch.services.settlement).

A refused call writes nothing: every check runs before the first write. Locks: see dispatch/locks.py.
"""

from .advice import AdviceLineInput, BatchInput, IssueResult, advice_issue
from .loading import (
    load_form_assign,
    load_form_cancel,
    load_form_create,
    load_form_depart,
    load_form_mark_loaded,
    vehicle_create,
    vehicle_update,
)
from .planning import LOAD_FORMS_PLAN_KIND, load_forms_plan_job, load_forms_plan_run, load_forms_plan_start
from .receipt import ReceiptLineInput, receipt_record
from .settlement import cash_record, delivery_record, load_form_settle, settlement_differences

__all__ = [
    "LOAD_FORMS_PLAN_KIND", "AdviceLineInput", "BatchInput", "IssueResult", "ReceiptLineInput", "advice_issue",
    "cash_record", "delivery_record", "load_form_assign", "load_form_cancel", "load_form_create", "load_form_depart",
    "load_form_mark_loaded", "load_form_settle", "load_forms_plan_job", "load_forms_plan_run", "load_forms_plan_start",
    "receipt_record", "settlement_differences", "vehicle_create", "vehicle_update",
]
