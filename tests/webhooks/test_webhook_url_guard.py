"""The SSRF guard: private, loopback, link-local and other non-public targets are refused when an endpoint is set
(a 400 naming `url`) and again right before every send (logged as refused, nothing sent); the request goes to the
address that was checked (DNS rebinding), over https with SNI and the certificate checked against the name; no
redirects are followed; timeouts and refused connections are logged."""

from __future__ import annotations

import socket

import pytest
from standardwebhooks import Webhook

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from webhooks import net
from webhooks.enums import DeliveryStatus, EventType
from webhooks.models import WebhookEndpoint
from webhooks.services import deliver

from .conftest import (
    PUBLIC_IP,
    attempts_of,
    deliveries_of,
    emit_now,
    make_due,
    make_endpoint,
    scope_of,
)

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/manufacturer/webhooks/endpoints/"
REFUSED_URLS = [
    "https://127.0.0.1/hook",
    "https://10.20.30.40/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]:8443/hook",
    "https://localhost/hook",
    "https://mixed.example.com/hook",  # one public and one private address: refused
    "https://[::ffff:192.168.1.1]/hook",
]


@pytest.mark.parametrize(("address", "why"), [
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.9", "private"), ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("224.0.0.251", "multicast"), ("240.0.0.1", "reserved"),
    ("fe80::1%eth0", "link-local"), ("fd12:3456::1", "private"), ("100.64.0.1", "not globally routable"),
    (PUBLIC_IP, None), ("2606:2800:220:1::1", None), ("8.8.8.8", None),
])
def test_each_kind_of_non_public_address_is_refused_and_public_ones_pass(address, why):
    assert net.refusal(address) == why


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_an_endpoint_at_a_non_public_address_is_refused_with_a_400_naming_url(api_as, cast_a, dns, url):
    # given
    dns.answers["mixed.example.com"] = [PUBLIC_IP, "10.0.0.7"]
    client = api_as(cast_a.api_key_raw, kind="api_key")
    # when
    response = client.post(ENDPOINTS, {"url": url}, format="json")
    # then
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "url_refused" and list(error["fields"]) == ["url"]
    assert "public addresses" in error["fields"]["url"][0]
    with tenant_scope(scope_of(cast_a)):
        assert not WebhookEndpoint.objects.exists()


def test_only_https_to_a_resolvable_public_host_is_accepted(api_as, cast_a, dns):
    client = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    for url, message in (("http://hooks.example.com/in", "Use an https URL."),
                         ("ftp://hooks.example.com/in", "Only http and https URLs can receive webhooks."),
                         ("https://user:pw@hooks.example.com/in", "Credentials in the URL are not supported"),
                         ("https://nowhere.invalid/in", "could not be resolved")):
        response = client.post(ENDPOINTS, {"url": url}, format="json")
        assert response.status_code == 400, url
        assert message in response.json()["error"]["fields"]["url"][0], url
    created = client.post(ENDPOINTS, {"url": "https://hooks.example.com/in"}, format="json")
    assert created.status_code == 201, created.content
    # a change of URL is checked the same way
    moved = client.patch(f"{ENDPOINTS}{created.json()['id']}/", {"url": "https://10.9.8.7/in"}, format="json")
    assert moved.status_code == 400 and list(moved.json()["error"]["fields"]) == ["url"]
    assert client.get(f"{ENDPOINTS}{created.json()['id']}/").json()["url"] == "https://hooks.example.com/in"


def test_an_endpoint_stored_while_allowed_is_refused_at_send_time_and_nothing_is_sent(
        cast_a, receiver, local_delivery, django_capture_on_commit_callbacks):
    # given: registered while private targets were allowed
    make_endpoint(cast_a, receiver.url)
    local_delivery.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    # when
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    # then
    assert receiver.requests == []
    (refused,) = deliveries_of(cast_a)
    assert refused.status == DeliveryStatus.PENDING and refused.attempts == 1
    (attempt,) = attempts_of(cast_a, refused.pk)
    assert attempt.status_code is None
    assert attempt.error.startswith("refused, not sent: The host 127.0.0.1 resolves to a loopback address")
    assert refused.last_error == attempt.error


def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused_at_send_time(
        cast_a, api_as, receiver, local_delivery, dns, django_capture_on_commit_callbacks):
    # given: public when registered (plain http allowed, private targets not) ...
    local_delivery.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    answers = iter([[PUBLIC_IP], ["127.0.0.1"]])
    dns.answers["rebind.example.net"] = lambda: next(answers)
    url = f"http://rebind.example.net:{receiver.port}/hooks/dms"
    created = api_as(cast_a.api_key_raw, kind="api_key").post(ENDPOINTS, {"url": url}, format="json")
    assert created.status_code == 201, created.content
    # when: ... and loopback when the event is sent
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    # then
    assert receiver.requests == []
    (attempt,) = attempts_of(cast_a, deliveries_of(cast_a)[0].pk)
    assert "loopback address (127.0.0.1)" in attempt.error


def test_the_request_goes_to_the_checked_address_with_the_name_in_the_host_header(
        cast_a, receiver, local_delivery, dns, django_capture_on_commit_callbacks):
    # given: a name only our (fake) resolver knows; the sender could not reach it by resolving it again
    dns.answers["hooks.internal.test"] = ["127.0.0.1"]
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("hooks.internal.test", receiver.port)
    make_endpoint(cast_a, f"http://hooks.internal.test:{receiver.port}/hooks/dms?source=dms")
    dns.lookups.clear()
    # when
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    # then
    (request,) = receiver.requests
    assert request.headers["host"] == f"hooks.internal.test:{receiver.port}"
    assert request.path == "/hooks/dms?source=dms"
    assert dns.lookups == ["hooks.internal.test"]  # resolved once, at the check before the send
    assert deliveries_of(cast_a)[0].status == DeliveryStatus.SUCCEEDED


def test_a_redirect_is_not_followed_and_counts_as_a_failed_try(cast_a, receiver, local_delivery,
                                                               django_capture_on_commit_callbacks):
    receiver.statuses.append(302)
    make_endpoint(cast_a, receiver.url)
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    assert [r.path for r in receiver.requests] == ["/hooks/dms"]
    (try_1,) = attempts_of(cast_a, deliveries_of(cast_a)[0].pk)
    assert (try_1.status_code, try_1.error) == (302, "HTTP 302")
    assert deliveries_of(cast_a)[0].status == DeliveryStatus.PENDING


def test_a_slow_receiver_times_out_and_a_closed_port_is_a_connection_error(cast_a, receiver, local_delivery,
                                                                           monkeypatch,
                                                                           django_capture_on_commit_callbacks):
    # given
    local_delivery.WEBHOOK_TIMEOUT = (1.0, 0.3)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    slow = make_endpoint(cast_a, receiver.url)
    make_endpoint(cast_a, f"http://127.0.0.1:{closed_port}/nobody")
    receiver.hold_next()
    # when
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    receiver.release()
    # then
    by_endpoint = {d.endpoint_id: attempts_of(cast_a, d.pk)[0] for d in deliveries_of(cast_a)}
    timed_out = by_endpoint.pop(slow.pk)
    (refused,) = by_endpoint.values()
    assert "ReadTimeoutError" in timed_out.error and timed_out.status_code is None
    assert 250 <= timed_out.duration_ms < 5000
    assert "NewConnectionError" in refused.error or "refused" in refused.error.lower()
    assert all(d.status == DeliveryStatus.PENDING for d in deliveries_of(cast_a))
    assert deliver(scope=scope_of(cast_a), delivery_id=deliveries_of(cast_a)[0].pk) == "skipped"  # not due yet


def test_https_goes_to_the_checked_address_with_sni_and_the_certificate_checked_against_the_name(
        cast_a, tls_receiver, tls_pem, local_delivery, dns, monkeypatch, django_capture_on_commit_callbacks):
    # given: names only our resolver knows, both pointing at the local https receiver
    dns.answers.update({"hooks.tls.test": ["127.0.0.1"], "other.tls.test": ["127.0.0.1"]})
    hook = make_endpoint(cast_a, f"https://hooks.tls.test:{tls_receiver.port}/hooks/dms")
    # when: its self-signed certificate is not trusted (the public CA bundle)
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    # then: refused by the sender, nothing posted; the server was asked for the name, not the address
    (first,) = deliveries_of(cast_a)
    assert "CERTIFICATE_VERIFY_FAILED" in attempts_of(cast_a, first.pk)[0].error
    assert tls_receiver.requests == [] and tls_receiver.sni == ["hooks.tls.test"]
    # when: the certificate is trusted
    monkeypatch.setattr(net.certifi, "where", lambda: str(tls_pem))
    make_due(cast_a, first.pk)
    # then
    assert deliver(scope=scope_of(cast_a), delivery_id=first.pk) == "succeeded"
    (request,) = tls_receiver.requests
    assert request.headers["host"] == f"hooks.tls.test:{tls_receiver.port}"
    Webhook(hook.secret).verify(request.body, request.headers)
    # when: a trusted certificate for another name
    make_endpoint(cast_a, f"https://other.tls.test:{tls_receiver.port}/hooks/dms",
                  event_types=(EventType.GOODS_RECEIVED,))
    emit_now(cast_a, event_type=EventType.GOODS_RECEIVED, capture=django_capture_on_commit_callbacks)
    # then
    mismatch = [d for d in deliveries_of(cast_a) if d.endpoint.url.startswith("https://other.")][0]
    assert "Hostname mismatch" in attempts_of(cast_a, mismatch.pk)[0].error
    assert len(tls_receiver.requests) == 2  # only hooks.tls.test's copy of the GRN event arrived
