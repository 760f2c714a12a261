"""Webhook test kit: a real HTTP receiver on 127.0.0.1, settings that allow delivering to it, a fake DNS for names
that must look public, helpers to register endpoints and emit events, and restartable real Celery workers.

The workers reuse the integration kit (tests/integration/conftest.py: `wait_for`, `stop_worker`, `forget_unacked`)
and start like its `start_worker`, with one difference: the worker gets the webhook settings of the test
(WEBHOOKS_ALLOW_PRIVATE_URLS to reach the local receiver, a short WEBHOOK_LEASE_SECONDS), which
`celery_worker_process` cannot pass (they are not environment-driven in dms/settings).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from dms.celery import app as celery_app
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from tests.integration.conftest import ROOT, forget_unacked, stop_worker, wait_for
from webhooks import net
from webhooks.enums import EventType
from webhooks.events import emit
from webhooks.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create

__all__ = ["wait_for"]

PUBLIC_IP = "93.184.216.34"  # a public address (example.com's); nothing in the tests ever connects to it
LOCAL_SETTINGS = {"WEBHOOKS_ALLOW_PRIVATE_URLS": True, "WEBHOOKS_ALLOW_HTTP": True, "WEBHOOK_TIMEOUT": (2.0, 5.0)}


# --- the receiver ---------------------------------------------------------------------------------------------

@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class Receiver:
    """Records every POST and answers from `path_status`, else `statuses` (then `default_status`). `hold_next()`
    makes the next request wait (recorded, unanswered) until `release()`: a receiver slow while the worker dies."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    statuses: deque[int] = field(default_factory=deque)
    default_status: int = 200
    path_status: dict[str, int] = field(default_factory=dict)  # a fixed answer for a path, before `statuses`
    sni: list[str | None] = field(default_factory=list)  # TLS server names asked for (the https receiver)
    _held: threading.Event = field(default_factory=threading.Event)
    _hold_next: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/dms"

    def fail(self, times: int, status: int = 500) -> None:
        self.statuses.extend([status] * times)

    def hold_next(self) -> None:
        self._held.clear()
        self._hold_next = True

    def release(self) -> None:
        self._held.set()

    def _take(self, request: Received) -> tuple[int, bool]:
        with self._lock:
            self.requests.append(request)
            hold, self._hold_next = self._hold_next, False
            if request.path in self.path_status:
                return self.path_status[request.path], hold
            return (self.statuses.popleft() if self.statuses else self.default_status), hold

    def to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        status, hold = self.server.receiver._take(received)
        if hold:
            self.server.receiver._held.wait(30)
        try:
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/moved")
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else f"nope {status} ".encode() * 200)
        except OSError:
            pass  # the sender is gone (a killed worker)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server signature
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


def _serve(server: _Server) -> Iterator[Receiver]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.receiver
    finally:
        server.receiver.release()
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.receiver = Receiver(port=server.server_port)
    yield from _serve(server)


@pytest.fixture(scope="session")
def tls_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate and its key for hooks.tls.test, made for this run (no key is checked in)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is not installed: the https webhook test makes its certificate with it")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=hooks.tls.test", "-addext", "subjectAltName=DNS:hooks.tls.test"],
                   check=True, capture_output=True)
    pem = folder / "hooks.tls.test.pem"
    pem.write_bytes(cert.read_bytes() + key.read_bytes())
    return pem


@pytest.fixture
def tls_receiver(tls_pem: Path) -> Iterator[Receiver]:
    """The receiver over https, with a self-signed certificate for hooks.tls.test (tls_pem)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.receiver = Receiver(port=server.server_port)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_pem)
    context.sni_callback = lambda sock, name, ctx: server.receiver.sni.append(name)  # type: ignore[assignment,func-returns-value]
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from _serve(server)


@pytest.fixture(autouse=True)
def production_url_rules(settings: Any) -> None:
    """Every test starts from the production defaults (https only, public addresses only), whatever the test
    settings say; `local_delivery` relaxes them."""
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOKS_ALLOW_HTTP = False


@pytest.fixture
def local_delivery(settings: Any) -> Any:
    """Deliveries to the local receiver allowed (private addresses and plain http), with short timeouts."""
    for name, value in LOCAL_SETTINGS.items():
        setattr(settings, name, value)
    return settings


# --- DNS --------------------------------------------------------------------------------------------------------

@dataclass
class FakeDns:
    """Answers for chosen names (a list per name, or a callable for answers that change); others resolve for real."""

    answers: dict[str, list[str] | Callable[[], list[str]]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answer = self.answers.get(host)
        if answer is None:
            return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
        return answer() if callable(answer) else list(answer)


@pytest.fixture
def dns(monkeypatch: Any) -> FakeDns:
    fake = FakeDns(answers={"hooks.example.com": [PUBLIC_IP], "erp.example.org": [PUBLIC_IP, "2606:2800:220:1::1"]})
    monkeypatch.setattr(net, "resolve", fake.resolve)
    return fake


# --- helpers ----------------------------------------------------------------------------------------------------

def scope_of(cast: Any) -> Scope:
    return Scope.system(cast.tenant.pk, "tests")


def make_endpoint(cast: Any, url: str, event_types: tuple[str, ...] = ()) -> WebhookEndpoint:
    with tenant_scope(scope_of(cast)) as scope:
        return endpoint_create(scope=scope, url=url, event_types=event_types)


def emit_now(cast: Any, event_type: str = EventType.PRIMARY_ORDER_SUBMITTED, data: dict | None = None,
             capture: Any = None) -> OutboxEvent:
    """Emit in a tenant transaction; with `capture` (django_capture_on_commit_callbacks) run the after-commit
    enqueue, i.e. deliver eagerly, as a committed request would."""
    payload = data if data is not None else {"order_id": 7, "total": "1234.50"}

    def run() -> OutboxEvent:
        with tenant_scope(scope_of(cast)) as scope:
            return emit(scope=scope, event_type=event_type, data=payload)

    if capture is None:
        return run()
    with capture(execute=True):
        return run()


def deliveries_of(cast: Any, **filters: Any) -> list[WebhookDelivery]:
    with tenant_scope(scope_of(cast)):
        return list(WebhookDelivery.objects.filter(**filters).select_related("event", "endpoint").order_by("pk"))


def delivery(cast: Any, pk: int) -> WebhookDelivery:
    (found,) = deliveries_of(cast, pk=pk)
    return found


def attempts_of(cast: Any, delivery_id: int) -> list[WebhookAttempt]:
    with tenant_scope(scope_of(cast)):
        return list(WebhookAttempt.objects.filter(delivery_id=delivery_id).order_by("number"))


def endpoint(cast: Any, pk: int) -> WebhookEndpoint:
    with tenant_scope(scope_of(cast)):
        found = WebhookEndpoint.objects.filter(pk=pk).first()
    assert found is not None
    return found


def make_due(cast: Any, delivery_id: int) -> None:
    """Time travel: the delivery's next try is due now (instead of waiting out the backoff)."""
    from django.utils import timezone

    with tenant_scope(scope_of(cast)):
        WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())


# --- real workers -----------------------------------------------------------------------------------------------

# `celery` with the test settings plus the overrides in DMS_TEST_WEBHOOK_SETTINGS (JSON).
_BOOTSTRAP = """
import json, os, sys
from django.conf import settings
for name, value in json.loads(os.environ["DMS_TEST_WEBHOOK_SETTINGS"]).items():
    setattr(settings, name, value)
from celery.__main__ import main
sys.argv = ["celery", *sys.argv[1:]]
sys.exit(main())
"""


@dataclass
class Workers:
    """Solo workers consuming this run's queue with `overrides` applied; `start` may be called again after a kill.
    While the fixture is active the test process publishes to the same queue, not eagerly."""

    queue: str
    overrides: dict[str, Any]
    procs: list[subprocess.Popen] = field(default_factory=list)

    def start(self) -> subprocess.Popen:
        node = f"{self.queue}-{len(self.procs) + 1}"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dms.settings.test", "DMS_TEST_WORKER": "1",
               "DMS_TEST_WORKER_DB": connection.settings_dict["NAME"], "DMS_TEST_QUEUE": self.queue,
               "DMS_TEST_WEBHOOK_SETTINGS": json.dumps(self.overrides)}
        log = Path(f"/tmp/dms-test-worker-{os.getpid()}-{node}.log")
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, "-A", "dms", "worker", "--pool=solo", "--concurrency=1",
                 "-Q", self.queue, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
                 "-n", f"{node}@%h"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)

        def answers() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"the Celery worker exited: {log.read_text()[-2000:]}")
            return bool(celery_app.control.ping(destination=[f"{node}@{os.uname().nodename}"], timeout=0.5))

        wait_for(answers, timeout=60, interval=0.1)
        return proc


@pytest.fixture
def workers(transactional_db: None, local_delivery: Any) -> Iterator[Workers]:
    if not local_delivery.REDIS_URL:
        pytest.fail("REDIS_URL is not set: the worker tests need a real Redis broker (make test sets it).")
    queue = f"dms-test-{os.getpid()}-webhooks"
    local_delivery.WEBHOOK_LEASE_SECONDS = 2
    overrides = {**LOCAL_SETTINGS, "WEBHOOK_TIMEOUT": [1.0, 5.0], "WEBHOOK_LEASE_SECONDS": 2}
    old = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    pool = Workers(queue=queue, overrides=overrides)
    try:
        yield pool
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = old
        for proc in pool.procs:
            stop_worker(proc)
        forget_unacked(queue)
