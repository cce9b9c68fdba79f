"""What an app's proxy is made of, as pure functions of its settings: the two slots and their
addresses, the files nginx reads from the route volume when it starts (`slots.conf`,
`listen.conf`), its command, and the `live` link's target; and how to read them back from the
engine's description of a proxy, a network or a release."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

from provision.adapters.engine_model import ContainerInfo, EngineInfo, NetworkInfo
from provision.owned import APP_PORT, LABEL_PUBLISH, LABEL_SLOTS, SLOTS
from provision.validators import Publish

PROXY_UID = 10001
SLOTS_FILE = "slots.conf"
LISTEN_FILE = "listen.conf"
LIVE_LINK = "live"
NO_RELEASE = "none"
# Gunicorn closes an idle kept-alive connection after start.sh's --keep-alive (75 s): nginx
# must let go first, or it may send a request on a closing connection. It lets go after 1 s
# idle: a connection under load is never idle that long, and once a switch has taken the
# traffic from a release, nginx has closed its connections before the drain (2 s) ends, so
# that its Gunicorn stops at once, not after the 2 s it keeps open connections when stopping.
UPSTREAM_KEEPALIVE = 16
UPSTREAM_IDLE = "1s"
# An nginx worker proxies a request in about a sixth of the CPU time Gunicorn spends serving it
# (measured by bench/throughput.py), and every worker shares the engine's CPUs with the
# release's: one worker per 4 CPUs leaves the rest to the app. On 2 CPUs, 1 worker served a
# median 2.5% more than `auto` (2) over 7 alternating pairs of rounds (-0.3% to +13%), with the
# same p99: a small gain, but never a loss.
CPUS_PER_NGINX_WORKER = 4


def nginx_workers(cpus: int) -> int:
    return max(1, cpus // CPUS_PER_NGINX_WORKER)


def nginx_command(cpus: int) -> tuple[str, ...]:
    return ("nginx", "-g", f"daemon off; worker_processes {nginx_workers(cpus)};")


def slot_addresses(subnet: str) -> dict[str, str]:
    """The slots' addresses: the last ones of the subnet, far from the engine's own picks,
    which start at its beginning."""
    network = ipaddress.ip_network(subnet, strict=False)
    last = int(network.broadcast_address)
    return {slot: str(ipaddress.ip_address(last - len(SLOTS) + index)) for index, slot in enumerate(SLOTS)}


def slots_conf(subnet: str) -> str:
    return "".join(
        f"upstream {slot} {{\n    server {address}:{APP_PORT};\n    keepalive {UPSTREAM_KEEPALIVE};\n"
        f"    keepalive_timeout {UPSTREAM_IDLE};\n}}\n"
        for slot, address in slot_addresses(subnet).items()
    )


def route_target(release: str, slot: str) -> str:
    return f"{release}.{slot}"


@dataclass(frozen=True)
class ProxyConfig:
    """What a proxy is made with besides its image: its files on the route volume, which nginx
    reads when it starts, and its command. Its digest labels the proxy, to tell one an earlier
    dockerhello made."""

    slots: str
    listen: str
    command: tuple[str, ...]

    def digest(self) -> str:
        return hashlib.sha256("\0".join((self.slots, self.listen, *self.command)).encode()).hexdigest()[:12]


def proxy_config(host_network: bool, bind_ip: str, host_port: int, subnet: str, cpus: int) -> ProxyConfig:
    """nginx binds the published address itself on the host's network, else its own port."""
    listen = f"{bind_ip}:{host_port}" if host_network else str(APP_PORT)
    return ProxyConfig(slots_conf(subnet), f"listen {listen};\n", nginx_command(cpus))


def old_layout(proxy: ContainerInfo | None, network: NetworkInfo | None) -> bool:
    """A proxy or network of a dockerhello that switched by reloading nginx (no slots)."""
    return (network is not None and LABEL_SLOTS not in network.labels) or (
        proxy is not None and LABEL_SLOTS not in proxy.labels
    )


def parse_route(link: str) -> tuple[str, str] | None:
    """(release, slot) of the `live` link's target `to/RELEASE.SLOT`; None if it is not one."""
    release, _, slot = link.strip().rpartition("/")[2].rpartition(".")
    return (release, slot) if release and slot in SLOTS else None


def slot_of(network: NetworkInfo, container: ContainerInfo) -> str | None:
    """The slot `container` holds on `network`, by its address; None if none."""
    address = container.addresses.get(network.name)
    return next((slot for slot, ip in slot_addresses(network.subnet or "").items() if ip == address), None)


def other_slot(slot: str | None) -> str:
    """The slot a new release starts in: the one that is not live."""
    return SLOTS[1] if slot == SLOTS[0] else SLOTS[0]


def published(proxy: ContainerInfo) -> Publish:
    """The address the proxy serves the app on: its label, else (a proxy of an earlier
    dockerhello) its port binding."""
    label = proxy.labels.get(LABEL_PUBLISH, "")
    host_ip, _, port = label.rpartition(":")
    if host_ip and port.isdigit():
        return Publish(host_ip, int(port))
    binding = next((b for b in proxy.port_bindings if b.container_port == f"{APP_PORT}/tcp"), None)
    if binding is None:
        return Publish("0.0.0.0", APP_PORT)
    return Publish(binding.host_ip or "0.0.0.0", binding.host_port or APP_PORT)


def uses_host_network(host_port: int, info: EngineInfo) -> bool:
    """The proxy listens on the host's network itself, so that no request crosses Docker's
    userland proxy (which copies every byte of a connection to a published port from this
    host's loopback); except below port 1024, which nginx's unprivileged user cannot bind
    there, and where the engine's host network is not the user's host."""
    return host_port >= 1024 and info.host_network_is_host
