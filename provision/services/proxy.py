"""The app's front door: an nginx container that owns the published port and routes to the
live release over the app's own network.

A release runs in one of two slots, fixed addresses on that network (`slots.conf`, written
once). Which slot is live is a link on the proxy's route volume, `live -> to/RELEASE.SLOT`,
which nginx reads on each request. A switch renames a new link over it: atomic, and no
reload, so no client connection is closed and none of those kept open to the releases.
"""

from __future__ import annotations

import http.client
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass

from provision.adapters.engine import Engine
from provision.adapters.engine_model import ContainerInfo, ContainerSpec, EngineInfo, NetworkInfo, PortBinding
from provision.console import Console
from provision.errors import DeployFailed, DockerHelloError
from provision.owned import (
    APP_PORT,
    DATA_DIR,
    LABEL_APP,
    LABEL_PUBLISH,
    LABEL_RELEASE,
    LABEL_ROLE,
    LABEL_SLOTS,
    ROLE_PROXY,
    ROLE_RELEASE,
    ROUTE_DIR,
    SLOTS,
    app_labels,
    data_volume,
    network_name,
    proxy_name,
    route_volume,
)
from provision.services.packaged_image import PackagedImage
from provision.services.proxy_scripts import PROBE, PROBE_EVERY, PYTHON, SWITCH
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


PROXY_IMAGE = PackagedImage("provision.proxy", ("Dockerfile", "nginx.conf"), "dockerhello/proxy", ROLE_PROXY,
                           "the proxy image", "nginx")  # fmt: skip


@dataclass(frozen=True)
class Routing:
    """What a deploy needs of the app's plumbing, read once: its network and the live route."""

    network: NetworkInfo
    release: str | None  # the release the proxy routes to; None before the first switch
    slot: str | None  # its slot

    def address(self, slot: str) -> str:
        return slot_addresses(self.network.subnet or "")[slot]


@dataclass(frozen=True)
class ProxySpec:
    app: str
    host_ip: str
    host_port: int
    base_image: str | None
    host_network: bool = False
    data: bool = False  # the app has a data volume: its uploads are served from it


class Proxy:
    def __init__(self, engine: Engine, console: Console, sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine = engine
        self.console = console
        self.sleep = sleep

    # -- image, network, container --------------------------------------------------------

    def image_tag(self, base_image: str | None) -> str:
        return PROXY_IMAGE.tag(base_image)

    def ensure_image(self, base_image: str | None) -> str:
        return PROXY_IMAGE.ensure(self.engine, self.console, base_image)

    def get(self, app: str) -> ContainerInfo | None:
        return self.engine.container(proxy_name(app))

    def releases(self, app: str) -> list[ContainerInfo]:
        """The app's release containers."""
        return self.engine.containers({LABEL_APP: app, LABEL_ROLE: ROLE_RELEASE})

    def serving(self, app: str) -> ContainerInfo | None:
        """The release container the proxy routes to, if any: the one rule for "serving"."""
        return self.routed_container(app, self.route(app))

    def routed_container(self, app: str, route: tuple[str, str] | None) -> ContainerInfo | None:
        """The release container `route` (read by `route`) points at, if any."""
        if route is None or route[0] == NO_RELEASE:
            return None
        return next((c for c in self.releases(app) if c.labels.get(LABEL_RELEASE) == route[0]), None)

    def ensure(self, spec: ProxySpec, bind_ip: str, route: tuple[str, str] | None = None) -> Routing:
        """The running proxy for `spec.app`, created (routing nowhere yet) if missing, and
        where it routes. `route`: where it routed when the caller read it under the app's
        deploy lock, which no other deploy moves it under; read again where not given, or
        where the proxy is made, started or replaced here."""
        image = self.ensure_image(spec.base_image)  # before any downtime a replacement costs
        moved = self._replace_old_layout(spec.app)
        network = self.network(spec.app)
        proxy = self.get(spec.app)
        known = route if proxy is not None and proxy.running and moved is None else None
        if proxy is None:
            labels = {LABEL_SLOTS: ",".join(SLOTS), LABEL_PUBLISH: f"{bind_ip}:{spec.host_port}"}
            container = self.engine.create(
                ContainerSpec(
                    image=image,
                    name=proxy_name(spec.app),
                    labels=app_labels(spec.app, ROLE_PROXY, **labels),
                    network="host" if spec.host_network else network_name(spec.app),
                    read_only=True,
                    tmpfs={"/tmp": "rw,nosuid,size=16m"},
                    cap_drop=("ALL",),
                    no_new_privileges=True,
                    memory=64 * 1024**2,
                    publish=None if spec.host_network else PortBinding(f"{APP_PORT}/tcp", bind_ip, spec.host_port),
                    volumes={route_volume(spec.app): ROUTE_DIR},
                    read_only_volumes={data_volume(spec.app): DATA_DIR} if spec.data else {},
                    command=nginx_command(self.engine.info().cpus),
                )
            )
            assert network.subnet, "a network dockerhello created with a subnet"
            self.engine.put_file(container, ROUTE_DIR, SLOTS_FILE, slots_conf(network.subnet), PROXY_UID)
            listen = f"{bind_ip}:{spec.host_port}" if spec.host_network else str(APP_PORT)
            self.engine.put_file(container, ROUTE_DIR, LISTEN_FILE, f"listen {listen};\n", PROXY_UID)
            proxy = self.engine.container(container)
            assert proxy is not None, "a container created a moment ago"
        if not proxy.running:
            self._start(proxy, spec)
        route = known or (self.route(spec.app) if moved is None else None)
        if route is None:  # a new proxy answers 502 until the first switch; a moved release serves
            route = (moved or NO_RELEASE, SLOTS[0])
            self.switch(spec.app, *route)
        release, slot = route
        return Routing(network, None, None) if release == NO_RELEASE else Routing(network, release, slot)

    def network(self, app: str) -> NetworkInfo:
        """The app's network, created with the slots' subnet if missing."""
        name = network_name(app)
        found = self.engine.network(name)
        return found or self.engine.create_network(name, {LABEL_APP: app, LABEL_SLOTS: ",".join(SLOTS)})

    def _replace_old_layout(self, app: str) -> str | None:
        """An app deployed by an earlier dockerhello has a proxy that reloads nginx to switch,
        on a network where no container can have a fixed address. Both are replaced, once: the
        serving release moves into the first slot, with a moment of downtime. Its release id,
        or None when there was nothing to replace."""
        network = self.engine.network(network_name(app))
        proxy = self.get(app)
        old_network = network is not None and LABEL_SLOTS not in network.labels
        old_proxy = proxy is not None and LABEL_SLOTS not in proxy.labels
        if not (old_network or old_proxy):
            return None
        serving = self._legacy_serving(app, proxy) if proxy is not None and proxy.running else None
        releases = self.releases(app)
        if proxy is not None or releases:  # else: only a network a create left half-made
            self.console.warn(
                f"{app} was deployed by an earlier dockerhello: replacing its proxy and network once "
                "(a moment of downtime), so that later switches need no reload"
            )
        self.engine.remove(proxy_name(app), force=True)
        self.engine.remove_volume(route_volume(app))
        if old_network:
            for container in releases:
                self.engine.disconnect_network(network_name(app), container.id)
            self.engine.remove_network(network_name(app))
        if serving is None:
            return None
        network = self.network(app)
        for container in releases:  # the first slot's address must be free for it
            if container.id != serving.id and slot_of(network, container) == SLOTS[0]:
                self.engine.remove(container.id, force=True)
        if old_network:
            self.engine.connect_network(network.name, serving.id, slot_addresses(network.subnet or "")[SLOTS[0]])
        return serving.labels.get(LABEL_RELEASE)

    def _legacy_serving(self, app: str, proxy: ContainerInfo) -> ContainerInfo | None:
        code, route = self.engine.exec(proxy.id, ["cat", f"{ROUTE_DIR}/route.conf"])
        line = next((line for line in route.splitlines() if line.startswith("set $release ")), "") if code == 0 else ""
        routed = line.split('"')[1] if line.count('"') >= 2 else None
        return next((c for c in self.releases(app) if c.running and c.labels.get(LABEL_RELEASE) == routed), None)

    def _start(self, proxy: ContainerInfo, spec: ProxySpec) -> None:
        try:
            self.engine.start(proxy.id)
        except DockerHelloError as exc:
            if "port is already allocated" in exc.message or "address already in use" in exc.message:
                raise DeployFailed(
                    f"Port {spec.host_ip}:{spec.host_port} is already in use",
                    hint="Stop what listens there, or publish elsewhere with --publish, e.g. --publish 127.0.0.1:8001.",
                ) from None
            raise
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            current = self.engine.container(proxy.id)
            if current is not None and current.running and self.engine.exec(proxy.id, ["nginx", "-t", "-q"])[0] == 0:
                return
            if current is not None and current.exited:
                break
            self.sleep(0.2)
        logs = self.engine.logs(proxy.id, 20)
        if any("Address already in use" in line for line in logs):  # on the host network, nginx binds it
            raise DeployFailed(
                f"Port {spec.host_ip}:{spec.host_port} is already in use",
                hint="Stop what listens there, or publish elsewhere with --publish, e.g. --publish 127.0.0.1:8001.",
            )
        raise DeployFailed("The proxy did not start", details=logs)

    # -- routing -----------------------------------------------------------------------------

    def route(self, app: str) -> tuple[str, str] | None:
        """(release, slot) the proxy routes to; None without a running proxy or a route."""
        proxy = self.get(app)
        if proxy is None or not proxy.running:
            return None
        code, output = self.engine.exec(proxy.id, ["readlink", f"{ROUTE_DIR}/{LIVE_LINK}"])
        return parse_route(output) if code == 0 else None

    def current_release(self, app: str) -> str | None:
        route = self.route(app)
        return route[0] if route is not None and route[0] != NO_RELEASE else None

    def probe(self, app: str, upstream: str, path: str = "/", within: float = 0.0) -> tuple[int | None, str]:
        """GET http://UPSTREAM:8000/PATH from inside the proxy, UPSTREAM a slot's address: the
        network path requests will take. Tried again every PROBE_EVERY seconds for up to
        `within` seconds until it answers 200: one exec then sees a starting app come up the
        moment it does, where an exec per try would see it a round trip and a Python start later."""
        proxy = self.get(app)
        if proxy is None:
            return None, "no proxy"
        if proxy.network_mode == "host" and self.engine.target.is_local:
            return _probe_here(upstream, path, within)  # this host's network is the proxy's: no exec needed
        url = f"http://{upstream}:{APP_PORT}{path}"
        exit_code, output = self.engine.exec(proxy.id, [*PYTHON, PROBE, url, str(within), str(PROBE_EVERY)])
        first = output.strip().split(maxsplit=1)
        if exit_code == 0 and first and first[0].isdigit():
            return int(first[0]), output.strip()
        return None, output.strip()

    def switch(self, app: str, release: str, slot: str) -> None:
        """Make `slot` live, serving `release`: in-flight requests finish where they are, the
        next ones, on connections already open too, go to `slot`."""
        proxy = self.get(app)
        if proxy is None:
            raise DockerHelloError(f"The proxy of {app} is gone")
        code, output = self.engine.exec(proxy.id, [*PYTHON, SWITCH, ROUTE_DIR, route_target(release, slot)])
        if code != 0:
            raise DeployFailed(f"The proxy's route could not be switched: {output.strip()}")

    def remove(self, app: str) -> bool:
        removed = self.engine.remove(proxy_name(app), force=True)
        self.engine.remove_network(network_name(app))
        self.engine.remove_volume(route_volume(app))
        return removed


def _probe_here(upstream: str, path: str, within: float) -> tuple[int | None, str]:
    deadline = time.monotonic() + within
    while True:
        connection = http.client.HTTPConnection(upstream, APP_PORT, timeout=3)
        try:
            connection.request("GET", path, headers={"Host": "localhost"})
            status: int | None = connection.getresponse().status
            answer = str(status)
        except OSError as exc:
            status, answer = None, f"error {exc}"
        finally:
            connection.close()
        if status == 200 or time.monotonic() >= deadline:
            return status, answer
        time.sleep(PROBE_EVERY)
