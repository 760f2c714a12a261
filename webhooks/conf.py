"""The webhooks' Django settings, each read at call time (so tests can override them) with its default here.

| setting                     | default                                  | meaning                                    |
|-----------------------------|------------------------------------------|--------------------------------------------|
| WEBHOOK_MAX_ATTEMPTS        | 8                                        | tries of one delivery before it is failed  |
| WEBHOOK_RETRY_SCHEDULE      | 30 s, 2 min, 10 min, 1 h, 3 h, 6 h, 12 h | base wait after the 1st, 2nd, ... failure  |
| WEBHOOK_DISABLE_AFTER       | 5                                        | failed deliveries in a row that disable it |
| WEBHOOK_LEASE_SECONDS       | 60                                       | how long a worker owns a claimed delivery  |
| WEBHOOK_TIMEOUT             | (5, 10)                                  | connect and read timeouts of a try, in s   |
| WEBHOOKS_ALLOW_PRIVATE_URLS | False                                    | allow loopback/private/link-local targets  |
| WEBHOOKS_ALLOW_HTTP         | False                                    | allow plain http:// endpoint URLs          |

The lease must outlast one try (connect + read timeouts and the DNS lookup): a try still running when its lease
ends may be repeated by the re-drive (receivers de-duplicate by webhook-id).
The base delays grow by a factor of at least 2 and each delay is drawn from [base / 2, base] (see
`services.retry_delay`), so consecutive waits never shrink. Past the end of the schedule its last step repeats.
With the defaults a delivery is given up after 8 tries over roughly 11 to 22 hours, and an endpoint is disabled
when 5 deliveries in a row were given up (about a day of an endpoint failing everything).
"""

from __future__ import annotations

from django.conf import settings

DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (30, 120, 600, 3600, 3 * 3600, 6 * 3600, 12 * 3600)


def max_attempts() -> int:
    return max(1, int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 8)))


def retry_schedule() -> tuple[float, ...]:
    schedule = tuple(float(s) for s in getattr(settings, "WEBHOOK_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE))
    return schedule or DEFAULT_RETRY_SCHEDULE


def disable_after() -> int:
    return max(1, int(getattr(settings, "WEBHOOK_DISABLE_AFTER", 5)))


def lease_seconds() -> float:
    return float(getattr(settings, "WEBHOOK_LEASE_SECONDS", 60))


def timeout() -> tuple[float, float]:
    connect, read = getattr(settings, "WEBHOOK_TIMEOUT", (5.0, 10.0))
    return float(connect), float(read)


def allow_private_urls() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_URLS", False))


def allow_http() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_HTTP", False))
