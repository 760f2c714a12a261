"""A realistic order-booker day played through the HTTP API, exactly as the app does it.

Per booker: sign in on the registered device, full pull of what the app needs offline, read today's journey,
then walk it in sequence: check in with GPS a few tens of metres from the outlet, book an order (most calls)
or record why not, and push the outbox in batches. Bad networks are simulated: some batches are sent twice
under the same key (a lost response), some items again under a new key (an app that lost its batch). The day
ends with a day close, whose answer must show no gaps. The transport is either Django's in-process test
client (no server needed: `make demo` uses it) or real HTTP to a running server (`--base-url`).
"""

from __future__ import annotations

import json
import math
import random
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import date as date_cls
from datetime import time as time_cls
from typing import Any
from zoneinfo import ZoneInfo

Response = tuple[int, dict[str, Any]]
Transport = Callable[[str, str, dict[str, Any] | None, dict[str, str]], Response]

PREFIX = "/api/v1/mobile"
BATCH = 8
RESEND_SAME_KEY = 0.15  # share of batches sent twice under the same key (the first response was lost)
RESEND_NEW_KEY = 0.05  # share of batches whose items are sent again under a new key
PRODUCTIVE = 0.7


class SimulationError(RuntimeError):
    """The API answered something a real app could not carry on from."""


def in_process() -> Transport:
    """Requests through Django's full request stack in this process (middleware, auth, views)."""
    from django.conf import settings
    from django.test import Client

    host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "") and not h.startswith(".")), "localhost")
    client = Client(HTTP_HOST=host)  # a host the settings allow (the test client's default, testserver, is not)

    def send(method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> Response:
        if method == "GET":
            response = client.get(path, body or {}, headers=headers)
        else:
            response = client.post(path, json.dumps(body or {}), content_type="application/json", headers=headers)
        return response.status_code, response.json() if response.content else {}

    return send


def over_http(base_url: str, timeout: float = 60.0) -> Transport:
    """Real HTTP requests to a running server."""
    from urllib.parse import urlencode

    def send(method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> Response:
        url = base_url.rstrip("/") + path
        data = None
        if method == "GET" and body:
            url += "?" + urlencode(body)
        elif method != "GET":
            data = json.dumps(body or {}).encode()
        if not url.startswith(("http://", "https://")):
            raise SimulationError(f"--base-url must be http(s): {base_url}")
        request = urllib.request.Request(url, data=data, method=method,  # noqa: S310 - checked just above
                                         headers={"Content-Type": "application/json", **headers})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our own server
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else {}

    return send


@dataclass
class DayReport:
    booker: str
    visits: int = 0
    orders: int = 0
    lines: int = 0
    unproductive: int = 0
    pushes: int = 0
    replays: int = 0
    resent_items: int = 0
    results: dict[str, int] = field(default_factory=dict)
    day_close: dict[str, Any] = field(default_factory=dict)


def _jitter(lat: float, lng: float, rng: random.Random, metres: float) -> tuple[str, str]:
    """A GPS fix `metres` away from (lat, lng) in a random direction, as the phone reports it."""
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = metres * math.cos(bearing) / 111_320
    dlng = metres * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))
    return f"{lat + dlat:.6f}", f"{lng + dlng:.6f}"


class BookerDay:
    """One booker's app for one day."""

    def __init__(self, send: Transport, *, username: str, password: str, device: str, seed: int,
                 now: datetime | None = None) -> None:
        self.send, self.username, self.password, self.device = send, username, password, device
        self.rng = random.Random(f"{seed}:{username}")
        self.now = now or datetime.now(UTC)
        self.access = ""
        self.seq = 0
        self.report = DayReport(username)
        self.skus: dict[int, dict[str, Any]] = {}
        self.prices: dict[int, str] = {}

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None, ok: tuple[int, ...] = (200,)) -> dict[str, Any]:
        status, data = self.send(method, PREFIX + path, body,
                                 {"Authorization": f"Bearer {self.access}", **(headers or {})})
        if status not in ok:
            raise SimulationError(f"{self.username}: {method} {path} -> {status}: {json.dumps(data)[:300]}")
        return data

    def sign_in(self) -> None:
        status, data = self.send("POST", PREFIX + "/auth/sign-in/", {
            "username": self.username, "password": self.password, "device_identifier": self.device}, {})
        if status != 200:
            raise SimulationError(f"{self.username}: sign-in -> {status}: {json.dumps(data)[:300]}")
        self.access = data["access"]

    def pull(self) -> None:
        """A full pull, page by page, keeping the SKUs and their prices (for the prices the app shows)."""
        cursor = None
        for _ in range(10_000):
            page = self._call("GET", "/sync/pull/", {"cursor": cursor} if cursor else {})
            changes = page.get("changes", {})
            for sku in changes.get("sku", {}).get("upserted", []):
                self.skus[sku["id"]] = sku
            for price in changes.get("price", {}).get("upserted", []):
                if price.get("sku_id") is not None and price.get("case_price") is not None:
                    self.prices.setdefault(price["sku_id"], str(price["case_price"]))
            cursor = page.get("next_cursor")
            if not page.get("has_more"):
                return
        raise SimulationError(f"{self.username}: the pull never ended")

    def _lines(self) -> list[dict[str, Any]]:
        priced = sorted(sku_id for sku_id in self.prices if sku_id in self.skus) or sorted(self.skus)
        if not priced:
            return []
        chosen = self.rng.sample(priced, k=min(len(priced), self.rng.randint(1, 8)))
        lines = []
        for sku_id in chosen:
            line: dict[str, Any] = {"sku_id": sku_id, "cases": self.rng.choice([1, 1, 2, 2, 3, 5, 10]),
                                    "units": self.rng.choice([0, 0, 0, 6])}
            if sku_id in self.prices:
                line["case_price"] = self.prices[sku_id]
            lines.append(line)
        return lines

    def _item(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        return {"kind": kind, "uuid": str(uuid.uuid4()), "device_seq": self.seq, "payload": data}

    def walk(self, journey: dict[str, Any]) -> list[dict[str, Any]]:
        """The day's outbox: a visit per planned call in sequence, an order on the productive ones."""
        outbox: list[dict[str, Any]] = []
        visits = journey.get("visits", [])
        day_start = datetime.combine(date_cls.fromisoformat(journey["date"]), time_cls(0, 1),
                                     tzinfo=ZoneInfo(journey.get("time_zone") or "UTC"))
        for i, visit in enumerate(visits):
            outlet = visit["outlet"]
            # calls happen at their planned times, but never in the future (the day may still be running)
            minutes_left = len(visits) - i
            eta = datetime.fromisoformat(visit["eta"].replace("Z", "+00:00"))
            checked_in = max(min(eta, self.now - timedelta(minutes=3 * minutes_left + 2)),
                             day_start + timedelta(minutes=3 * i))  # nor before the local day began
            lat, lng = (_jitter(float(outlet["lat"]), float(outlet["lng"]), self.rng, self.rng.uniform(5, 80))
                        if outlet.get("lat") is not None else (None, None))
            lines = self._lines() if self.rng.random() < PRODUCTIVE else []
            data = {"visit_id": visit["visit_id"], "outlet_id": outlet["id"], "date": journey["date"],
                    "checked_in_at": checked_in.isoformat(),
                    "checked_out_at": (checked_in + timedelta(minutes=2)).isoformat(),
                    "lat": lat, "lng": lng, "accuracy_m": self.rng.randint(4, 30),
                    "outcome": "productive" if lines else "unproductive",
                    "reason": "" if lines else self.rng.choice(["shop_closed", "stock_sufficient", "owner_absent",
                                                                "no_cash"])}
            visit_item = self._item("visit", data)
            outbox.append(visit_item)
            self.report.visits += 1
            if lines:
                outbox.append(self._item("order", {
                    "outlet_id": outlet["id"], "visit_uuid": visit_item["uuid"],
                    "booked_at": (checked_in + timedelta(minutes=1)).isoformat(), "lines": lines}))
                self.report.orders += 1
                self.report.lines += len(lines)
            else:
                self.report.unproductive += 1
        return outbox

    def push_all(self, outbox: list[dict[str, Any]]) -> None:
        for start in range(0, len(outbox), BATCH):
            batch = {"items": outbox[start:start + BATCH]}
            key = str(uuid.uuid4())
            result = self._call("POST", "/sync/push/", batch, {"Idempotency-Key": key})
            self.report.pushes += 1
            if self.rng.random() < RESEND_SAME_KEY:  # the response was lost: the same batch again
                replay = self._call("POST", "/sync/push/", batch, {"Idempotency-Key": key})
                if replay != result:
                    raise SimulationError(f"{self.username}: a replay differs from the first response")
                self.report.replays += 1
            if self.rng.random() < RESEND_NEW_KEY:  # the app lost its batch: the items again, new key
                again = self._call("POST", "/sync/push/", batch, {"Idempotency-Key": str(uuid.uuid4())})
                if any(r["status"] not in ("duplicate", "rejected", "conflict") for r in again["results"]):
                    raise SimulationError(f"{self.username}: items sent again were applied twice")
                self.report.resent_items += len(batch["items"])
            for item in result["results"]:
                self.report.results[item["status"]] = self.report.results.get(item["status"], 0) + 1

    def close(self, date: str) -> None:
        counts = {"visit": self.report.visits, "order": self.report.orders}
        self.report.day_close = self._call("POST", "/sync/day-close/", {
            "date": date, "first_device_seq": 1, "last_device_seq": max(1, self.seq), "counts": counts})

    def play(self, date: str | None = None) -> DayReport:
        self.sign_in()
        self.pull()
        journey = self._call("GET", "/journey/", {"date": date} if date else {})
        outbox = self.walk(journey)
        if outbox:
            self.push_all(outbox)
            self.close(journey["date"])
        return self.report
