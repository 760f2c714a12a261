"""Every write of the dispatch app (DESIGN §2, §3): the manufacturer answers an approved primary order with one
dispatch advice (DA); the distributor records one goods receipt (GRN) against it, which raises stock.

- `advice_issue`: approved | partially_approved order -> a DA with a line per order line (ordered, approved,
  dispatched cases) and the dispatched cases split into batches; the order moves to `dispatched`. The DA's
  `reference` (the manufacturer's document number) is its idempotency key: the same reference with the same
  content is the same DA (returned, nothing written), with other content a 409.
- `receipt_record`: issued DA -> a GRN with one line per dispatch batch (received + short + damaged =
  dispatched); the good cases go into stock (inventory.services.stock_receive, reference ("grn", id)); the DA
  moves to `received`, the order to `received`, and on to `closed` when nothing was short or damaged. One GRN
  per DA: a second receipt is a 409, whoever sends it and however often.

A refused call writes nothing: every check runs before the first write. Locks: see dispatch/locks.py.
"""

from .advice import AdviceLineInput, BatchInput, IssueResult, advice_issue
from .receipt import ReceiptLineInput, receipt_record

__all__ = ["AdviceLineInput", "BatchInput", "IssueResult", "ReceiptLineInput", "advice_issue", "receipt_record"]
