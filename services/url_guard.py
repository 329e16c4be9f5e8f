"""Where outbound webhooks may connect (no SSRF): http(s) URLs without userinfo whose host resolves only to
public addresses, unless an admin allowed that host (Settings → Webhooks, "Allowed internal hosts").

`check` resolves the name once and returns the address to connect to, so the connection goes to the very
address that was checked: a DNS answer that changes between the check and the connection (rebinding)
cannot redirect it."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext as _

from services import ServiceError

MAX_URL = 2000


class UrlRefused(ServiceError):
    """The URL may not be called; the message says why, in the user's language."""

    def __init__(self, message: str, retry: bool = False) -> None:
        super().__init__(message, 422)
        self.retry = retry  # a name that does not resolve now may resolve later; a refused address will not


@dataclass(frozen=True)
class Target:
    """A checked URL: the address to connect to, and the name to send as Host and SNI."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def normalise_host(host: str) -> str:
    """A host as compared with the allowlist: lower case, without brackets or a trailing dot."""
    return (host or "").strip().strip("[]").rstrip(".").lower()


def forbidden(address: str) -> bool:
    """Whether an address is loopback, link-local, private, multicast, reserved, unspecified or otherwise
    not globally routable (an IPv4-mapped IPv6 address is judged by the IPv4 address it maps)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d reaches a.b.c.d
            return forbidden(str(ip.ipv4_mapped))
        inner = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None and forbidden(str(inner)):
            return True
        if ip.is_site_local:
            return True
    return (ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an acceptable URL, or UrlRefused."""
    url = (url or "").strip()
    if not url:
        raise UrlRefused(_("Enter the URL to send events to."))
    if len(url) > MAX_URL:
        raise UrlRefused(_("The URL is too long (at most %(max)d characters).", max=MAX_URL))
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UrlRefused(_("The URL must not contain spaces or control characters."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused(_("This is not a valid URL.")) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise UrlRefused(_("Only http:// and https:// URLs can receive webhooks."))
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise UrlRefused(_("The URL must not contain a user name or password."))
    host = normalise_host(parts.hostname or "")
    if not host:
        raise UrlRefused(_("The URL has no host name."))
    scheme = parts.scheme.lower()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), path


def resolve(host: str, port: int) -> list[str]:
    """Every address the name resolves to (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        raise UrlRefused(_("The host name %(host)s cannot be resolved.", host=host), retry=True) from None
    addresses = []
    for info in infos:
        if info[4][0] not in addresses:
            addresses.append(info[4][0])
    if not addresses:
        raise UrlRefused(_("The host name %(host)s cannot be resolved.", host=host))
    return addresses


def check(url: str, allowed_hosts: set[str]) -> Target:
    """The Target to connect to, or UrlRefused. Every address the host resolves to must be public (one
    private answer among public ones is refused too), unless the host is on the admin's allowlist."""
    scheme, host, port, path = parse(url)
    addresses = resolve(host, port)
    if host not in allowed_hosts:
        for address in addresses:
            if forbidden(address):
                raise UrlRefused(_("%(host)s resolves to an internal address (%(address)s): webhooks may only "
                                   "call public addresses unless an administrator allows this host.",
                                   host=host, address=address.split("%", 1)[0]))
    return Target(scheme, host, port, path, addresses[0])
