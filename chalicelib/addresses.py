"""Which network addresses count as public: the one rule for webhook URLs, checked when the settings
load (a literal address) and again at every delivery (each address the host resolves to)."""

from __future__ import annotations

import ipaddress

NAT64 = ipaddress.ip_network("64:ff9b::/96")


def public(address: str) -> bool:
    """Globally routable, and so is any IPv4 address it carries (IPv4-mapped, 6to4, NAT64: Python's
    ``is_global`` calls those global whatever IPv4 address they lead to). Raises ``ValueError`` for
    something that is not an address."""
    ip = ipaddress.ip_address(address)
    if not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return inner.is_global
    return True
