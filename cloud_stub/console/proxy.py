"""A reverse proxy that terminates TLS in front of the console (nginx, Caddy): when the operator names it as
trusted (``kiosk-cloud serve --trusted-proxy 127.0.0.1``), a request that comes from it is taken as the
proxy says it arrived: https or http (``Forwarded: proto=`` or ``X-Forwarded-Proto``) from the client's
address (``Forwarded: for=`` or ``X-Forwarded-For``). From any other peer those headers are ignored: a
client could otherwise claim https, or another address to dodge the sign-in limits.

Only the hop the trusted proxy added counts (the last one): what came before it is the client's word.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(specs: Iterable[str]) -> tuple[Network, ...]:
    """``--trusted-proxy`` values (an address or a network such as 10.0.0.0/8); ValueError naming a bad one."""
    networks = []
    for spec in specs:
        try:
            networks.append(ipaddress.ip_network(spec.strip(), strict=False))
        except ValueError:
            raise ValueError(f"--trusted-proxy: {spec!r} is not an IP address or network") from None
    return tuple(networks)


@dataclass(frozen=True)
class Hop:
    """What the trusted proxy says of the request it forwarded (None: it did not say)."""

    proto: str | None
    client: str | None


def _last(header: str | None) -> str | None:
    value = (header or "").rsplit(",", 1)[-1].strip()
    return value or None


def forwarded_hop(request: web.Request) -> Hop:
    """The last hop of ``Forwarded`` (RFC 7239), else of ``X-Forwarded-Proto``/``-For``."""
    if request.forwarded:
        last = request.forwarded[-1]
        proto, client = last.get("proto"), last.get("for")
        if client and client.startswith("["):  # "[2001:db8::1]:4711" -> the address without brackets and port
            client = client[1:].partition("]")[0]
        elif client and client.count(":") == 1:  # "192.0.2.1:4711"
            client = client.partition(":")[0]
        return Hop(proto.lower() if proto else None, client)
    proto = _last(request.headers.get("X-Forwarded-Proto"))
    return Hop(proto.lower() if proto else None, _last(request.headers.get("X-Forwarded-For")))


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text or "")
    except ValueError:  # a Unix socket's peer, an obfuscated "for=_hidden", "unknown"
        return None


def is_trusted(remote: str | None, trusted: tuple[Network, ...]) -> bool:
    address = _address(remote)
    return address is not None and any(address in network for network in trusted)


def trusted_proxies_middleware(trusted: tuple[Network, ...]) -> Middleware:
    """Rewrites the scheme and the client address of requests from a trusted proxy (``request.secure``,
    ``request.url`` and ``request.remote`` then say what the client used)."""

    @web.middleware
    async def trusted_proxies(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_trusted(request.remote, trusted):
            hop = forwarded_hop(request)
            client = _address(hop.client)
            request = request.clone(
                scheme=hop.proto if hop.proto in ("http", "https") else request.scheme,
                remote=str(client) if client is not None else str(request.remote),
            )
        return await handler(request)

    return trusted_proxies
