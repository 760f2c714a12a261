"""Row locks of webhooks. The order is always endpoint before its deliveries: recording a result locks the
endpoint first (its failure counter may change), and disabling an endpoint then fails its pending deliveries, so
two workers finishing deliveries of one endpoint never wait on each other in a cycle.

A delivery itself is never locked across the HTTP call: it is claimed with a lease (a compare-and-set in its own
short transaction, see services.deliver) and its result is written with a compare-and-set on that lease.
"""

from __future__ import annotations

from django.db.models import QuerySet

from dms.tenancy.scope import Scope

from .models import WebhookEndpoint


def lock_endpoints(scope: Scope) -> QuerySet[WebhookEndpoint]:
    """The scope's endpoints, locked FOR NO KEY UPDATE when evaluated (deliveries may still reference them)."""
    return WebhookEndpoint.objects.filter(tenant_id=scope.tenant_id).select_for_update(no_key=True, of=("self",))
