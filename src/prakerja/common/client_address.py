"""The address of the person behind a request, for rate limits and the audit trail.

Behind the documented nginx every request comes from 127.0.0.1: the visitor's address is in
X-Forwarded-For, which nginx extends with the address it was reached from. Anyone can send that
header, so it is read from the right, as far as the hops are proxies we run
(PRAKERJA_TRUSTED_PROXIES): the right-most hop that is not one of them is the visitor. A request
that did not come through a trusted proxy is taken at its connecting address, whatever its headers
claim. Many people can share one address (carrier-grade NAT): limits key first on what they protect
(an email, a NIK, an account), and per address only as a ceiling (docs/operations.md)."""

import functools
import ipaddress

from django.http import HttpRequest

from prakerja.config import env

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.cache
def trusted_proxies(setting: str) -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(item.strip(), strict=False)
        for item in setting.split(",")
        if item.strip()
    )


def _address(hop: str) -> Address | None:
    """One X-Forwarded-For hop: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443`."""
    text = hop.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket (::ffff:1.2.3.4) is that IPv4 client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_address_of(remote_addr: str, forwarded_for: str, proxies: tuple[Network, ...]) -> str:
    """The visitor's address from the connecting address and the X-Forwarded-For header."""
    connecting = _address(remote_addr)
    if connecting is None:
        return remote_addr or "unknown"

    def trusted(address: Address) -> bool:
        return any(address in network for network in proxies)

    if not trusted(connecting):
        return str(connecting)
    current = connecting
    for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
        address = _address(hop)
        if address is None:
            # A hop no proxy of ours would write: the proxy that passed it on is as far as the
            # chain can be believed.
            return str(current)
        current = address
        if not trusted(address):
            return str(address)
    return str(current)


def client_address(request: HttpRequest) -> str:
    return client_address_of(
        str(request.META.get("REMOTE_ADDR") or ""),
        str(request.META.get("HTTP_X_FORWARDED_FOR") or ""),
        trusted_proxies(env.get("PRAKERJA_TRUSTED_PROXIES")),
    )
