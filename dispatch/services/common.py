"""What the dispatch services share: roles, limits, field errors, numbering, the actor columns."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Max
from django.utils import timezone

from dms.core.errors import DomainError
from dms.tenancy.enums import ActorKind, Role
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import tenant_zone
from orders.enums import PrimaryOrderStatus

from ..errors import DispatchError
from ..models import DispatchAdvice, GoodsReceipt, LoadForm

ISSUERS = frozenset({Role.MANUFACTURER_SYSTEM, Role.MANUFACTURER_ADMIN})
# The distributor receives its goods; the manufacturer's admin may record a receipt on its behalf.
RECEIVERS = frozenset({Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF, Role.MANUFACTURER_ADMIN})
DISPATCHABLE = frozenset({PrimaryOrderStatus.APPROVED, PrimaryOrderStatus.PARTIALLY_APPROVED})
MAX_LINES = 200  # orders.services.MAX_LINES: a DA has no more lines than its order
MAX_BATCHES = 50  # per DA line
TEXT_MAX = {"reference": 60, "vehicle": 60, "transporter": 100, "note": 500}
BATCH_MAX, LINE_NOTE_MAX = 60, 300
DA_PREFIX, GRN_PREFIX, LF_PREFIX = "DA-", "GRN-", "LF-"
# Load forms: distributor staff (and the manufacturer's admin for any distributor) plan, load, send out and settle;
# a delivery man records deliveries and collections on his own load form.
LOADERS = frozenset({Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF, Role.MANUFACTURER_ADMIN})
RECORDERS = LOADERS | {Role.DELIVERY_MAN}
FIGURES = ("received_cases", "short_cases", "damaged_cases")


# --- helpers ---------------------------------------------------------------------------------------------------

def add_error(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def raise_field_errors(errors: dict[str, list[str]], message: str) -> None:
    """A 400 naming every bad field; with a single one, its own message is the error's message."""
    if errors:
        raise DomainError(DispatchError.INVALID, message if len(errors) > 1 else next(iter(errors.values()))[0],
                          fields=dict(errors))


def require_role(scope: Scope, roles: frozenset[str], message: str) -> None:
    if scope.actor.kind != ActorKind.SYSTEM and scope.role not in roles:
        raise DomainError(DispatchError.PERMISSION_DENIED, message, status_code=403)


def is_count(value: Any, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def tenant_today(scope: Scope) -> date:
    return timezone.now().astimezone(tenant_zone(scope=scope)).date()


def next_number(scope: Scope, model: type[DispatchAdvice] | type[GoodsReceipt] | type[LoadForm], distributor_id: int,
                prefix: str) -> str:
    """max + 1 of the distributor's numbers; the caller holds the distributor's lock (dispatch.locks)."""
    last = (scope.filter(model.objects.filter(distributor_id=distributor_id, number__startswith=prefix))
            .aggregate(n=Max("number"))["n"])
    n = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{n:06d}"  # zero-padded, so the text max is the numeric max up to 999,999


def actor_fields(scope: Scope) -> dict[str, Any]:
    actor = scope.actor
    return {"actor_kind": actor.kind, "actor_id": actor.id, "actor_label": actor.label[:150]}


