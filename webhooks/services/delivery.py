"""The delivery engine: claim a due delivery with a lease, sign and POST it with no transaction open, record the
try, then either finish the delivery or schedule its next try; and the re-drive that makes lost enqueues (a web
or worker process dying after the commit) harmless.

One try of a delivery, `deliver()`:
1. claim, in its own short transaction: `UPDATE ... SET lease_until = now + WEBHOOK_LEASE_SECONDS,
   attempts = attempts + 1 WHERE pk = .. AND status = 'pending' AND next_attempt_at <= now AND (lease_until IS
   NULL OR lease_until < now)` (a compare-and-set, so two workers never both send it), and insert the try's
   WebhookAttempt row with no result yet; committed before any network I/O;
2. check the URL again (resolve, refuse private addresses: webhooks.net), sign, POST to the checked address;
3. record, in a second short transaction: the attempt's result, and the delivery's outcome with a
   compare-and-set on the lease we took (`lease_until = <ours>`), so a worker that outlived its lease cannot
   overwrite the work of the one that took over.

Counting the try at claim time bounds the tries of a delivery even when every worker that takes it dies; a try that
never recorded a result is marked "interrupted" by the next claim. Retries are not self-scheduled: next_attempt_at
is the truth and the per-minute `redrive_webhooks` beat task enqueues whatever is due (at most a minute late,
against delays of 30 s and up), which also avoids Redis ETA messages (held by a worker, redelivered after the
visibility timeout).
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks import Webhook

from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope

from .. import conf, net
from ..enums import DeliveryStatus
from ..locks import lock_endpoints
from ..models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger("webhooks")

USER_AGENT = "dms-webhooks/1"
REDRIVE_BATCH = 1000  # deliveries enqueued per tenant per re-drive run; the rest wait for the next minute
ENDPOINT_DISABLED = "endpoint disabled"
INTERRUPTED = "interrupted: no result was recorded (the worker stopped or its lease ran out)"

_rng = random.Random()  # noqa: S311 - jitter, not a secret


def body_of(event: OutboxEvent) -> str:
    """The exact body sent (and signed): the payload as compact JSON with sorted keys, the same on every try."""
    return json.dumps(event.payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def retry_delay(*, failed_attempts: int, rng: random.Random | None = None) -> timedelta:
    """The wait after `failed_attempts` failed tries: the schedule's step for that try (its last step past the end),
    with "equal jitter": uniform in [step / 2, step]. Full jitter (uniform in [0, step]) could schedule a later
    retry sooner than an earlier one; as the steps at least double, these waits never shrink."""
    schedule = conf.retry_schedule()
    step = schedule[min(max(failed_attempts, 1), len(schedule)) - 1]
    return timedelta(seconds=(rng or _rng).uniform(step / 2, step))


def fail_pending_deliveries(*, endpoint_id: int, now: datetime, reason: str = ENDPOINT_DISABLED) -> int:
    """Fail the endpoint's pending deliveries that no worker holds (a held one finishes its try and then finds the
    endpoint inactive). Expects the endpoint row to be locked. Returns how many were failed."""
    return (WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=DeliveryStatus.PENDING)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .update(status=DeliveryStatus.FAILED, lease_until=None, last_error=reason))


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    endpoint_id: int
    number: int
    lease_until: datetime
    url: str
    msg_id: str
    body: str
    secret: str = field(repr=False)  # never in a log line or a traceback's repr


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def deliver(*, scope: Scope, delivery_id: int) -> str:
    """One try of a delivery (see the module docstring). Returns "succeeded", "retrying" (failed, next try
    scheduled), "failed" (given up, or the endpoint is inactive), "skipped" (not pending, not due, or held by
    another worker: a duplicate message is a no-op) or "stale" (our lease ran out and another worker took over).

    Idempotent and safe to run concurrently. Opens its own transactions (`tenant_scope` twice) and must not be
    called inside one: no transaction is open during the HTTP request."""
    claim = _claim(scope=scope, delivery_id=delivery_id)
    if isinstance(claim, str):
        return claim
    started = time.monotonic()
    outcome = _send(claim)
    duration_ms = int((time.monotonic() - started) * 1000)
    result = _record(scope=scope, claim=claim, outcome=outcome, duration_ms=duration_ms)
    logger.info("webhook delivery %s try %s to endpoint %s: %s (%s)", claim.delivery_id, claim.number,
                claim.endpoint_id, result, outcome.status_code or outcome.error)
    return result


def _claim(*, scope: Scope, delivery_id: int) -> _Claim | str:
    with tenant_scope(scope):
        now = timezone.now()
        lease_until = now + timedelta(seconds=conf.lease_seconds())
        claimed = (WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING,
                                                  next_attempt_at__lte=now)
                   .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
                   .update(lease_until=lease_until, attempts=F("attempts") + 1))
        if not claimed:
            return "skipped"
        delivery = WebhookDelivery.objects.select_related("endpoint", "event").filter(pk=delivery_id).first()
        assert delivery is not None  # we hold it: the update above matched it
        if not delivery.endpoint.active:
            WebhookDelivery.objects.filter(pk=delivery_id).update(
                status=DeliveryStatus.FAILED, lease_until=None, attempts=F("attempts") - 1,
                last_error=ENDPOINT_DISABLED)
            return "failed"
        WebhookAttempt.objects.filter(delivery_id=delivery_id, status_code__isnull=True, error="").update(
            error=INTERRUPTED)
        WebhookAttempt.objects.create(delivery_id=delivery_id, number=delivery.attempts, started_at=now)
        return _Claim(delivery_id=delivery_id, endpoint_id=delivery.endpoint_id, number=delivery.attempts,
                      lease_until=lease_until, url=delivery.endpoint.url, msg_id=delivery.event.msg_id,
                      body=body_of(delivery.event), secret=delivery.endpoint.secret)


def signed_headers(*, secret: str, msg_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one try, signed at `at` (whole seconds, as the header carries them)."""
    at = datetime.fromtimestamp(int(at.timestamp()), tz=UTC)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }


def _send(claim: _Claim) -> _Outcome:
    try:
        target = net.check_url(claim.url, allow_private=conf.allow_private_urls(), allow_http=conf.allow_http())
    except net.UrlRefused as exc:
        return _Outcome(error=f"refused, not sent: {exc}")
    headers = signed_headers(secret=claim.secret, msg_id=claim.msg_id, body=claim.body, at=timezone.now())
    try:
        reply = net.post(target, body=claim.body.encode(), headers=headers, timeout=conf.timeout())
    except net.SendFailed as exc:
        return _Outcome(error=str(exc))
    outcome = _Outcome(status_code=reply.status_code, excerpt=reply.excerpt)
    return outcome if outcome.ok else _Outcome(status_code=reply.status_code, excerpt=reply.excerpt,
                                               error=f"HTTP {reply.status_code}")


def _record(*, scope: Scope, claim: _Claim, outcome: _Outcome, duration_ms: int) -> str:
    with tenant_scope(scope):
        now = timezone.now()
        endpoint = lock_endpoints(scope).filter(pk=claim.endpoint_id).first()
        WebhookAttempt.objects.filter(delivery_id=claim.delivery_id, number=claim.number).update(
            duration_ms=duration_ms, status_code=outcome.status_code, error=outcome.error[:500],
            response_excerpt=outcome.excerpt[:500])
        ours = WebhookDelivery.objects.filter(pk=claim.delivery_id, status=DeliveryStatus.PENDING,
                                              lease_until=claim.lease_until)
        result = {"lease_until": None, "last_status_code": outcome.status_code, "last_error": outcome.error[:500]}
        if outcome.ok:
            if not ours.update(status=DeliveryStatus.SUCCEEDED, delivered_at=now, **result):
                return "stale"
            if endpoint is not None and endpoint.consecutive_failures:
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
            return "succeeded"
        if claim.number < conf.max_attempts():
            retry_at = now + retry_delay(failed_attempts=claim.number)
            return "retrying" if ours.update(next_attempt_at=retry_at, **result) else "stale"
        if not ours.update(status=DeliveryStatus.FAILED, **result):
            return "stale"
        if endpoint is not None:
            _count_failed_delivery(endpoint=endpoint, now=now, last_error=outcome.error)
        return "failed"


def _count_failed_delivery(*, endpoint: WebhookEndpoint, now: datetime, last_error: str) -> None:
    """A delivery was given up: one more failure in a row; at WEBHOOK_DISABLE_AFTER the endpoint is disabled and its
    other pending deliveries are failed. Expects the endpoint row to be locked (the counter is read, then set)."""
    failures = endpoint.consecutive_failures + 1
    if not (endpoint.active and failures >= conf.disable_after()):
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=failures)
        return
    reason = f"Disabled after {failures} failed deliveries in a row; the last: {last_error}"[:300]
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=failures, active=False,
                                                          disabled_at=now, disabled_reason=reason)
    failed = fail_pending_deliveries(endpoint_id=endpoint.pk, now=now)
    logger.warning("webhook endpoint %s disabled after %s failed deliveries in a row (%s pending failed)",
                   endpoint.pk, failures, failed)


def redrive(*, scope: Scope, limit: int = REDRIVE_BATCH) -> list[int]:
    """Enqueue (after the caller's transaction commits) the scope's pending deliveries that are due and held by no
    worker: first tries whose enqueue was lost, retries whose time has come, tries of a worker that died. Oldest
    first, at most `limit`. A delivery enqueued twice is claimed once. Returns the ids enqueued."""
    from ..tasks import enqueue_deliveries  # tasks import services: avoid the cycle

    now = timezone.now()
    ids = list(WebhookDelivery.objects.filter(tenant_id=scope.tenant_id, status=DeliveryStatus.PENDING,
                                              next_attempt_at__lte=now)
               .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
               .order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit])
    if ids:
        transaction.on_commit(partial(enqueue_deliveries, scope.tenant_id, ids))
    return ids
