"""The network edge of webhooks: which URLs we may call (the SSRF guard), and one POST to a checked address.

No Django models here. `check_url` parses the URL, resolves its host once and refuses it if any resolved address
is loopback, private, link-local, multicast, reserved, unspecified or otherwise not globally routable (IPv4-mapped
IPv6 addresses are judged by their IPv4 address), unless private targets are allowed (tests, local setups).

DNS rebinding: `post` connects to the very address `check_url` approved (the host name goes only into the Host
header and, for https, into SNI and certificate verification), so a name that resolves to a public address for the
check and to 127.0.0.1 a moment later cannot steer the request. The check runs at create/update and again right
before every send. Environment proxies are not used (urllib3 directly, not requests): a proxy would resolve the
name again on its side.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from urllib3.exceptions import HTTPError

EXCERPT_BYTES = 2048  # read at most this much of a response body; the log keeps 500 characters
SCHEMES = ("http", "https")


class UrlRefused(ValueError):
    """The URL may not be called; the message says why (shown to the user and in the delivery log)."""


class SendFailed(Exception):
    """The request did not get an HTTP response (connection, TLS, timeout, protocol error)."""


@dataclass(frozen=True)
class Target:
    """A URL after the check: where to connect (`address`, `port`) and what to say (`host_header`, `path`)."""

    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    path: str  # path and query
    host_header: str
    address: str  # the checked IP address the connection goes to


@dataclass(frozen=True)
class Reply:
    status_code: int
    excerpt: str


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, in resolver order. Tests replace this to simulate DNS answers."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal(address: str) -> str | None:
    """Why `address` may not be a webhook target, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone index
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for attribute, label in (("is_unspecified", "unspecified"), ("is_loopback", "loopback"),
                             ("is_link_local", "link-local"), ("is_multicast", "multicast"),
                             ("is_reserved", "reserved"), ("is_private", "private")):
        if getattr(ip, attribute):
            return label
    if not ip.is_global:
        return "not globally routable"
    return None


def check_url(url: str, *, allow_private: bool, allow_http: bool) -> Target:
    """Parse, resolve and vet `url`. Raises UrlRefused with a message fit for the user."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"Not a valid URL: {exc}.") from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UrlRefused("Only http and https URLs can receive webhooks.")
    if scheme == "http" and not allow_http:
        raise UrlRefused("Use an https URL.")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("Credentials in the URL are not supported; verify the webhook signature instead.")
    if not parts.hostname:
        raise UrlRefused("The URL has no host.")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise UrlRefused("The host name is not valid.") from exc
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise UrlRefused(f"The host {host} could not be resolved.") from exc
    if not addresses:
        raise UrlRefused(f"The host {host} could not be resolved.")
    if not allow_private:
        for address in addresses:
            why = refusal(address)
            if why is not None:
                raise UrlRefused(f"The host {host} resolves to a {why} address ({address}); "
                                 "webhooks are only sent to public addresses.")
    literal = f"[{host}]" if ":" in host else host
    host_header = f"{literal}:{parts.port}" if parts.port else literal
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=scheme, host=host, port=port, path=path, host_header=host_header, address=addresses[0])


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: tuple[float, float]) -> Reply:
    """POST `body` to the target's checked address; no redirects followed, no retries. Raises SendFailed."""
    connect, read = timeout
    limits = urllib3.Timeout(connect=connect, read=read)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address, target.port, timeout=limits, retries=False, maxsize=1, cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(), server_hostname=target.host)  # SNI and certificate checked against the name
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, timeout=limits, retries=False, maxsize=1)
    try:
        response = pool.urlopen("POST", target.path, body=body, headers={**headers, "Host": target.host_header},
                                redirect=False, retries=False, preload_content=False, assert_same_host=False)
        try:
            raw = response.read(EXCERPT_BYTES)
        finally:
            response.release_conn()
        return Reply(status_code=response.status, excerpt=raw.decode("utf-8", errors="replace")[:500])
    except (HTTPError, OSError) as exc:
        raise SendFailed(_describe(exc)) from exc
    finally:
        pool.close()


def _describe(exc: BaseException) -> str:
    """A short, secret-free description of a transport error."""
    reason = getattr(exc, "reason", None)
    detail = str(reason or exc) or type(exc).__name__
    return f"{type(exc).__name__}: {detail}"[:500]
