"""Where a release's app listens, read from the kernel's socket tables inside its container:
what tells "the app is up but bound where the proxy cannot reach it" (Gunicorn's own default
is 127.0.0.1:8000, the classic Docker pitfall) from "the app is still starting".
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

# Run by the release's own /bin/sh: each listening socket's local address, as the kernel writes
# it, with the shell's builtins only (a slim image has no ss, no netstat, sometimes no cat).
LISTENING = (
    'for table in /proc/net/tcp /proc/net/tcp6; do [ -r "$table" ] || continue; '
    'while read -r _ local _ state _; do [ "$state" = 0A ] && echo "$local"; done < "$table"; done; true'
)


@dataclass(frozen=True)
class Listener:
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int

    @property
    def loopback_only(self) -> bool:
        return self.address.is_loopback

    def __str__(self) -> str:
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{host}:{self.port}"


def parse_listening(text: str) -> tuple[Listener, ...]:
    """LISTENING's output: `HEX_ADDRESS:HEX_PORT` a line, the address in 32-bit words of the
    host's byte order (little-endian on x86 and ARM: 0100007F is 127.0.0.1). Lines that are not
    such an address (a shell's complaint) are skipped."""
    found: list[Listener] = []
    for line in text.split():
        address, _, port = line.partition(":")
        if len(address) not in (8, 32) or len(port) != 4:
            continue
        try:
            packed = b"".join(bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, len(address), 8))
            found.append(Listener(ipaddress.ip_address(packed), int(port, 16)))
        except ValueError:
            continue
    return tuple(dict.fromkeys(found))


def only_on_loopback(listeners: tuple[Listener, ...], port: int) -> tuple[Listener, ...]:
    """The listeners on `port`, where all of them are on loopback addresses (none where any
    listens on an address the proxy reaches, or none listens there at all)."""
    on_port = tuple(listener for listener in listeners if listener.port == port)
    return on_port if on_port and all(listener.loopback_only for listener in on_port) else ()


def other_ports(listeners: tuple[Listener, ...], port: int) -> list[int]:
    """The ports the app listens on instead, where nothing listens on `port`: on addresses the
    proxy reaches only, since Docker's embedded DNS listens in every container on a user-defined
    network, at 127.0.0.11 and a random port."""
    if any(listener.port == port for listener in listeners):
        return []
    return sorted({listener.port for listener in listeners if not listener.loopback_only})
