"""Which Host and Origin headers the server answers (spec J2).

DNS rebinding: a page on evil.example re-points its name at 127.0.0.1, and the
browser then treats this server as evil.example's own. The Host header still
says evil.example, so only known names are answered. An IP address literal
cannot be rebound, so when the server listens beyond loopback (reached by
whatever address the LAN uses) any IP literal is accepted as Host.

Cross-site requests: a page elsewhere can open a websocket here, or post a
form, and the browser adds the Origin it came from. Such requests are refused
unless the Origin is this server itself (same host and port as the Host
header) or one the operator allowed (a reverse proxy's public name, say).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from core.settings import Settings

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
_WILDCARD_BINDS = {"0.0.0.0", "::", ""}


def split_host(value: str) -> tuple[str, str]:
    """(hostname, port) of a Host header or URL netloc; brackets of IPv6 removed, lower-case."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        return name, rest.removeprefix(":")
    if value.count(":") > 1:  # a bare IPv6 address without a port
        return value, ""
    name, _, port = value.partition(":")
    return name.rstrip("."), port


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def machine_names() -> set[str]:
    """This machine's host name and fully qualified name, as a LAN would call it."""
    names = set()
    for lookup in (socket.gethostname, socket.getfqdn):
        try:
            name = lookup().strip().lower()
        except OSError:
            continue
        if name:
            names.add(name)
    return names


@dataclass
class HostPolicy:
    hosts: set[str] = field(default_factory=lambda: set(DEFAULT_HOSTS))
    origins: set[str] = field(default_factory=set)
    any_ip: bool = False  # beyond loopback: any IP literal is a valid Host
    any_host: bool = False  # ALLOWED_HOSTS=*: the operator checks Host elsewhere (a proxy)
    any_origin: bool = False  # ALLOWED_ORIGINS=*: cross-site requests allowed (not advised)

    @classmethod
    def from_settings(cls, settings: Settings, exposed: bool | None = None) -> HostPolicy:
        exposed = (not settings.is_loopback) if exposed is None else exposed
        hosts = set(DEFAULT_HOSTS)
        bind = settings.host.strip().lower()
        if bind not in _WILDCARD_BINDS:
            hosts.add(split_host(bind)[0] if not is_ip(bind) else bind)
        if exposed:
            hosts |= machine_names()
        extra = [h.strip().lower() for h in settings.allowed_hosts if h.strip()]
        hosts |= {split_host(h)[0] for h in extra if h != "*"}
        origins = {o.strip().lower().rstrip("/") for o in settings.allowed_origins if o.strip() and o != "*"}
        return cls(hosts=hosts, origins=origins, any_ip=exposed, any_host="*" in extra,
                   any_origin="*" in settings.allowed_origins)

    def widen_for_exposure(self) -> None:
        """The server turned out to listen beyond loopback: the LAN's names and addresses are its own too."""
        self.any_ip = True
        self.hosts |= machine_names()

    def host_allowed(self, host_header: str | None) -> bool:
        if not host_header:
            return False  # HTTP/1.1 requires it; browsers always send it
        name, _ = split_host(host_header)
        if not name or any(c in name for c in "/\\@ \t"):
            return False
        return self.any_host or name in self.hosts or (self.any_ip and is_ip(name))

    def origin_allowed(self, origin: str, host_header: str | None) -> bool:
        """Same host and port as the request (any scheme: a TLS proxy changes it), or an allowed origin."""
        origin = origin.strip().lower().rstrip("/")
        if self.any_origin or origin in self.origins:
            return True
        if origin == "null" or not host_header:
            return False
        try:
            parts = urlsplit(origin)
            origin_port = str(parts.port or "")
        except ValueError:  # a port that is not a number
            return False
        if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
            return False
        host_name, host_port = split_host(host_header)
        default = "443" if parts.scheme == "https" else "80"
        return parts.hostname.rstrip(".") == host_name and (origin_port or default) == (host_port or default)
