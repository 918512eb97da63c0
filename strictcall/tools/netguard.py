"""Which addresses a server-side tool may reach.

The server sits inside a network its users are outside of: a URL from a request (a page the
browser opens, an MCP `server_url`) must not become a way in. Loopback, private, link-local and
other non-global addresses are refused unless the operator allowed them.

The check resolves the name and looks at every address it resolves to. A name can resolve
differently a moment later (DNS rebinding); docs/tools.md says so.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class BlockedAddress(ValueError):
    """A URL the policy refuses (the message says why)."""


def check_url_syntax(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or BlockedAddress."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedAddress(f"invalid URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise BlockedAddress(f"only http and https URLs are allowed, not {url!r}")
    if not parts.hostname:
        raise BlockedAddress(f"the URL {url!r} has no host")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_url(url: str, *, allow_private: bool) -> None:
    """Raise BlockedAddress unless `url` is http(s) and (when required) resolves only to
    public addresses."""
    _, host, port = check_url_syntax(url)
    if allow_private:
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise BlockedAddress(f"cannot resolve {host!r}: {exc}") from None
    for info in infos:
        address = str(info[4][0])
        if not _is_public(address):
            raise BlockedAddress(
                f"{host!r} resolves to {address}, a private or local address, which this "
                "server does not reach on a request's behalf"
            )
