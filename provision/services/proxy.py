"""The app's front door: an nginx container that owns the published port and routes to the
live release over the app's own network.

A release runs in one of two slots, fixed addresses on that network (`slots.conf`, written
once). Which slot is live is a link on the proxy's route volume, `live -> to/RELEASE.SLOT`,
which nginx reads on each request. A switch renames a new link over it: atomic, and no
reload, so no client connection is closed and none of those kept open to the releases.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from provision.adapters.engine import Engine, HeldExec
from provision.adapters.engine_model import ContainerInfo, ContainerSpec, ImageInfo, NetworkInfo, PortBinding
from provision.console import Console
from provision.errors import DeployFailed, DockerHelloError
from provision.owned import (
    APP_PORT,
    DATA_DIR,
    LABEL_APP,
    LABEL_PROXY_BASE,
    LABEL_PROXY_CONFIG,
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
from provision.services.proxy_layout import (
    LISTEN_FILE,
    LIVE_LINK,
    NO_RELEASE,
    PROXY_UID,
    SLOTS_FILE,
    old_layout,
    parse_route,
    proxy_config,
    published,
    route_target,
    slot_addresses,
    slot_of,
    uses_host_network,
)
from provision.services.proxy_scripts import PROBE, PROBE_EVERY, PROBE_HEADERS, PYTHON, SERVED, SWITCH
from provision.validators import Publish

SWITCH_SLACK = 60.0

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


@dataclass(frozen=True)
class MadeNow:
    """A running proxy as this dockerhello would make it, and the image it runs."""

    spec: ProxySpec
    bind_ip: str  # the address nginx binds, or the engine's port binding
    running_image: ImageInfo | None


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
        where the proxy is made, started or replaced here. A proxy that runs is kept as it
        is, even one an earlier dockerhello made (`outdated` says so; `proxy upgrade`)."""
        proxy = self.get(spec.app)
        network = self.engine.network(network_name(spec.app))
        legacy = old_layout(proxy, network)
        if proxy is None or legacy:
            self.ensure_image(spec.base_image)  # before any downtime a replacement costs
        moved = self._replace_old_layout(spec.app, proxy, network) if legacy else None
        if legacy:  # removed, and its network if that was old too
            proxy = self.get(spec.app)
        if legacy or network is None:
            network = self.network(spec.app)
        known = route if proxy is not None and proxy.running and moved is None else None
        if proxy is None:
            proxy = self.create(spec, bind_ip, network)
        if not proxy.running:
            self.start(proxy, spec)
        route = known or (self.route(spec.app) if moved is None else None)
        if route is None:  # a new proxy answers 502 until the first switch; a moved release serves
            route = (moved or NO_RELEASE, SLOTS[0])
            self.switch(spec.app, *route)
        release, slot = route
        return Routing(network, None, None) if release == NO_RELEASE else Routing(network, release, slot)

    def create(self, spec: ProxySpec, bind_ip: str, network: NetworkInfo) -> ContainerInfo:
        """The proxy container, created and not started, its files written to the route
        volume (which an existing proxy's nginx read when it started, and reads no more)."""
        assert network.subnet, "a network dockerhello created with a subnet"
        config = proxy_config(spec.host_network, bind_ip, spec.host_port, network.subnet, self.engine.info().cpus)
        labels = {LABEL_SLOTS: ",".join(SLOTS), LABEL_PUBLISH: f"{bind_ip}:{spec.host_port}",
                  LABEL_PROXY_CONFIG: config.digest()}  # fmt: skip
        container = self.engine.create(
            ContainerSpec(
                image=self.ensure_image(spec.base_image),
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
                command=config.command,
            )
        )
        self.engine.put_file(container, ROUTE_DIR, SLOTS_FILE, config.slots, PROXY_UID)
        self.engine.put_file(container, ROUTE_DIR, LISTEN_FILE, config.listen, PROXY_UID)
        proxy = self.engine.container(container)
        assert proxy is not None, "a container created a moment ago"
        return proxy

    def as_made_now(self, app: str, proxy: ContainerInfo) -> MadeNow:
        """What this dockerhello would make the running proxy with: the same published
        address, base image and data volume; and the image the proxy runs, read once."""
        publish = published(proxy)
        image = self.engine.image(proxy.image_id)
        base = image.labels.get(LABEL_PROXY_BASE) if image is not None else None
        host_network = uses_host_network(publish.host_port, self.engine.info())
        spec = ProxySpec(app, publish.host_ip, publish.host_port, base or None, host_network,
                         data=data_volume(app) in proxy.mounts)  # fmt: skip
        return MadeNow(spec, publish.host_ip, image)

    def outdated(self, app: str, proxy: ContainerInfo, network: NetworkInfo, made: MadeNow | None = None) -> str | None:
        """How the running proxy differs from what this dockerhello makes; None if it does not."""
        made = made or self.as_made_now(app, proxy)
        spec, image = made.spec, made.running_image
        tag = self.image_tag(spec.base_image)
        if image is None or tag not in image.tags:
            running = next(iter(image.tags), proxy.image_id[:19]) if image is not None else proxy.image_id[:19]
            return f"it runs the image {running}, not {tag}"
        config = proxy_config(spec.host_network, made.bind_ip, spec.host_port, network.subnet or "",
                              self.engine.info().cpus)  # fmt: skip
        if proxy.labels.get(LABEL_PROXY_CONFIG) != config.digest():
            return "its nginx settings differ from this dockerhello's"
        return None

    def network(self, app: str) -> NetworkInfo:
        """The app's network, created with the slots' subnet if missing."""
        name = network_name(app)
        found = self.engine.network(name)
        return found or self.engine.create_network(name, {LABEL_APP: app, LABEL_SLOTS: ",".join(SLOTS)})

    def _replace_old_layout(self, app: str, proxy: ContainerInfo | None, network: NetworkInfo | None) -> str | None:
        """An app deployed by an earlier dockerhello has a proxy that reloads nginx to switch,
        on a network where no container can have a fixed address. Both are replaced, once: the
        serving release moves into the first slot, with a moment of downtime. Its release id,
        or None when there was nothing to replace."""
        old_network = network is not None and LABEL_SLOTS not in network.labels
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

    def start(self, proxy: ContainerInfo, spec: ProxySpec) -> None:
        """Start the proxy and wait until its nginx runs; a port taken is said as such."""
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
            if current is not None and current.running and self._nginx_runs(proxy.id):
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

    def _nginx_runs(self, proxy: str) -> bool:
        """nginx -t passes in the proxy; False too when the exec finds the container gone,
        as one whose nginx exits at start is, a moment after the engine said it runs."""
        try:
            return self.engine.exec(proxy, ["nginx", "-t", "-q"])[0] == 0
        except DockerHelloError:
            return False

    # -- routing -----------------------------------------------------------------------------

    def route(self, app: str) -> tuple[str, str] | None:
        """(release, slot) the proxy routes to; None without a running proxy or a route."""
        proxy = self.get(app)
        if proxy is None or not proxy.running:
            return None
        target = self.engine.link_target(proxy.id, f"{ROUTE_DIR}/{LIVE_LINK}")
        return parse_route(target) if target is not None else None

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

    def served_inside(self, app: str, publish: Publish) -> str | None:
        """The release the proxy serves at `publish`, asked from inside it: for an address on
        the engine's host that this host cannot reach, its loopback. A proxy on a network of its
        own is asked at its own port, behind the engine's binding."""
        proxy = self.get(app)
        if proxy is None or not proxy.running:
            return None
        host, port = (publish.host_ip, publish.host_port) if proxy.network_mode == "host" else ("127.0.0.1", APP_PORT)
        try:
            exit_code, output = self.engine.exec(proxy.id, [*PYTHON, SERVED, host, str(port)])
        except DockerHelloError:  # it stopped meanwhile
            return None
        return (output.strip() or None) if exit_code == 0 else None

    def switch(self, app: str, release: str, slot: str) -> None:
        """Make `slot` live, serving `release`: in-flight requests finish where they are, the
        next ones, on connections already open too, go to `slot`."""
        with self.switch_ready(app, within=0) as switch:
            switch.to(release, slot)

    @contextmanager
    def switch_ready(self, app: str, within: float) -> Iterator[Switch]:
        """A switch of the app's route, started in the proxy now and made by `to` within
        `within` seconds: a deploy starts it beside the release, so that switching once the
        release is healthy costs a write, not an exec. Left without `to` (a failure, Ctrl-C),
        the route stays as it was."""
        proxy = self.get(app)
        if proxy is None:
            raise DockerHelloError(f"The proxy of {app} is gone")
        # Slack for the round trips around the wait: the script's own limit only ends one
        # that this process left running, should the engine not end its stdin.
        held = self.engine.exec_held(proxy.id, [*PYTHON, SWITCH, ROUTE_DIR, str(within + SWITCH_SLACK)])
        try:
            yield Switch(held)
        finally:
            held.close()

    def remove(self, app: str) -> bool:
        removed = self.engine.remove(proxy_name(app), force=True)
        self.engine.remove_network(network_name(app))
        self.engine.remove_volume(route_volume(app))
        return removed


class Switch:
    """The proxy's switch script, started and waiting for its target (`Proxy.switch_ready`)."""

    def __init__(self, held: HeldExec) -> None:
        self.held = held

    def to(self, release: str, slot: str) -> None:
        code, output = self.held.finish(f"switch {route_target(release, slot)}\n")
        if code != 0:
            raise DeployFailed(f"The proxy's route could not be switched: {output.strip() or f'exit code {code}'}")


def _probe_here(upstream: str, path: str, within: float) -> tuple[int | None, str]:
    deadline = time.monotonic() + within
    while True:
        connection = http.client.HTTPConnection(upstream, APP_PORT, timeout=3)
        try:
            connection.request("GET", path, headers=PROBE_HEADERS)
            status: int | None = connection.getresponse().status
            answer = str(status)
        except OSError as exc:
            status, answer = None, f"error {exc}"
        finally:
            connection.close()
        if status == 200 or time.monotonic() >= deadline:
            return status, answer
        time.sleep(PROBE_EVERY)
