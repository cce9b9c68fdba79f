"""The app's front door: an nginx container that owns the published port and routes to the
active release container over the app's own network.

Switching a release is a rewrite of the route on the proxy's volume, `nginx -t`, then
`nginx -s reload`: nginx's graceful reload lets old workers finish their requests while new
ones already use the new route, so a switch drops no request.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from provision.adapters.engine import Engine
from provision.adapters.engine_model import ContainerInfo, ContainerSpec, PortBinding
from provision.console import Console
from provision.errors import DeployFailed, DockerHelloError
from provision.owned import (
    APP_PORT,
    LABEL_APP,
    LABEL_PROXY_BASE,
    LABEL_RELEASE,
    LABEL_ROLE,
    ROLE_PROXY,
    ROLE_RELEASE,
    ROUTE_DIR,
    app_labels,
    network_name,
    proxy_name,
    route_volume,
)
from provision.validators import Publish

PROXY_UID = 10001
ROUTE_FILE = "route.conf"


def route_conf(upstream: str | None, release: str) -> str:
    target = f"http://{upstream}:{APP_PORT}" if upstream else "http://127.0.0.1:9"  # nothing yet: 502
    return f'set $upstream "{target}";\nset $release "{release}";\n'


def routed_release(route: str) -> str | None:
    """The release a route file sends requests to; None before the first switch."""
    for line in route.splitlines():
        if line.startswith("set $release "):
            release = line.split('"')[1]
            return None if release == "none" else release
    return None


def published(proxy: ContainerInfo) -> Publish:
    """The address the proxy publishes the app on."""
    binding = next((b for b in proxy.port_bindings if b.container_port == f"{APP_PORT}/tcp"), None)
    if binding is None:
        return Publish("0.0.0.0", APP_PORT)
    return Publish(binding.host_ip or "0.0.0.0", binding.host_port or APP_PORT)


def _context() -> bytes:
    """The proxy image's build context: its Dockerfile and nginx.conf, from this package."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in ("Dockerfile", "nginx.conf"):
            data = resources.files("provision.proxy").joinpath(name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass(frozen=True)
class ProxySpec:
    app: str
    host_ip: str
    host_port: int
    base_image: str | None


class Proxy:
    def __init__(self, engine: Engine, console: Console, sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine = engine
        self.console = console
        self.sleep = sleep

    # -- image, network, container --------------------------------------------------------

    def image_tag(self, base_image: str | None) -> str:
        """Tagged by what it is made of, so a changed config or base builds a new image."""
        digest = hashlib.sha256()
        for name in ("Dockerfile", "nginx.conf"):
            digest.update(resources.files("provision.proxy").joinpath(name).read_bytes())
        digest.update((base_image or "").encode())
        return f"dockerhello/proxy:{digest.hexdigest()[:12]}"

    def ensure_image(self, base_image: str | None) -> str:
        tag = self.image_tag(base_image)
        if self.engine.image(tag) is not None:
            return tag
        self.console.step(f"Building the proxy image {tag} (nginx from Debian's packages)")
        labels = {LABEL_ROLE: ROLE_PROXY, LABEL_PROXY_BASE: base_image or ""}
        buildargs = {"BASE_IMAGE": base_image} if base_image else None
        for event in self.engine.build(tag, labels, buildargs, context=_context()):
            if event.kind == "error":
                raise DeployFailed(
                    f"The proxy image did not build: {event.text}",
                    hint="It installs nginx with apt from the base image: the engine needs to reach a Debian "
                    "mirror, and the base image must be Debian-based.",
                )
            self.console.stream(event.text)
        return tag

    def get(self, app: str) -> ContainerInfo | None:
        return self.engine.container(proxy_name(app))

    def releases(self, app: str) -> list[ContainerInfo]:
        """The app's release containers."""
        return self.engine.containers({LABEL_APP: app, LABEL_ROLE: ROLE_RELEASE})

    def serving(self, app: str) -> ContainerInfo | None:
        """The release container the proxy routes to, if any: the one rule for "serving"."""
        routed = self.current_release(app)
        if routed is None:
            return None
        return next((c for c in self.releases(app) if c.labels.get(LABEL_RELEASE) == routed), None)

    def ensure(self, spec: ProxySpec, bind_ip: str) -> ContainerInfo:
        """The running proxy for `spec.app`, created (routing nowhere yet) if missing."""
        self.engine.ensure_network(network_name(spec.app), {LABEL_APP: spec.app})
        proxy = self.get(spec.app)
        if proxy is None:
            container = self.engine.create(
                ContainerSpec(
                    image=self.ensure_image(spec.base_image),
                    name=proxy_name(spec.app),
                    labels=app_labels(spec.app, ROLE_PROXY),
                    network=network_name(spec.app),
                    read_only=True,
                    tmpfs={"/tmp": "rw,nosuid,size=16m"},
                    cap_drop=("ALL",),
                    no_new_privileges=True,
                    memory=64 * 1024**2,
                    publish=PortBinding(f"{APP_PORT}/tcp", bind_ip, spec.host_port),
                    volumes={route_volume(spec.app): ROUTE_DIR},
                )
            )
            if not self.engine.has_file(container, f"{ROUTE_DIR}/{ROUTE_FILE}"):
                self.engine.put_file(container, ROUTE_DIR, ROUTE_FILE, route_conf(None, "none"), PROXY_UID)
            proxy = self.engine.container(container)
            assert proxy is not None, "a container created a moment ago"
        if not proxy.running:
            self._start(proxy, spec)
        return proxy

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
            self.sleep(0.2)
        raise DeployFailed("The proxy did not start", details=self.engine.logs(proxy.id, 20))

    # -- routing -----------------------------------------------------------------------------

    def current_release(self, app: str) -> str | None:
        proxy = self.get(app)
        if proxy is None or not proxy.running:
            return None
        code, output = self.engine.exec(proxy.id, ["cat", f"{ROUTE_DIR}/{ROUTE_FILE}"])
        return routed_release(output) if code == 0 else None

    def probe(self, app: str, upstream: str, path: str = "/") -> tuple[int | None, str]:
        """GET http://UPSTREAM:8000/PATH from inside the proxy: the network path it will use."""
        proxy = self.get(app)
        if proxy is None:
            return None, "no proxy"
        code = (
            "import sys, urllib.request as u\n"
            "try:\n"
            f"    q = u.Request('http://{upstream}:{APP_PORT}{path}', headers={{'Host': 'localhost'}})\n"
            "    r = u.urlopen(q, timeout=3)\n"
            "    print(r.status)\n"
            "except u.HTTPError as e:\n"
            "    print(e.code)\n"
            "except Exception as e:\n"
            "    print('error', e)\n"
        )
        exit_code, output = self.engine.exec(proxy.id, ["python3", "-c", code])
        first = output.strip().split(maxsplit=1)
        if exit_code == 0 and first and first[0].isdigit():
            return int(first[0]), output.strip()
        return None, output.strip()

    def switch(self, app: str, upstream: str, release: str) -> None:
        """Point the proxy at `upstream`; on a config nginx rejects, the old route stays."""
        proxy = self.get(app)
        if proxy is None:
            raise DockerHelloError(f"The proxy of {app} is gone")
        code, previous = self.engine.exec(proxy.id, ["cat", f"{ROUTE_DIR}/{ROUTE_FILE}"])
        self.engine.put_file(proxy.id, ROUTE_DIR, ROUTE_FILE, route_conf(upstream, release), PROXY_UID)
        test_code, test_output = self.engine.exec(proxy.id, ["nginx", "-t", "-q"])
        if test_code != 0:
            if code == 0:
                self.engine.put_file(proxy.id, ROUTE_DIR, ROUTE_FILE, previous, PROXY_UID)
            raise DeployFailed(f"The proxy refused the new route: {test_output.strip()}")
        before = self._accepting_workers(proxy.id)
        reload_code, reload_output = self.engine.exec(proxy.id, ["nginx", "-s", "reload"])
        if reload_code != 0:
            raise DeployFailed(f"The proxy did not reload: {reload_output.strip()}")
        # `nginx -s reload` only signals the master, which then starts new workers and tells
        # the old ones to stop accepting. Until it has, an old worker may still take a new
        # connection and route it the old way: wait for that moment to pass.
        deadline = time.monotonic() + 30
        while before & self._accepting_workers(proxy.id):
            if time.monotonic() > deadline:
                raise DeployFailed(
                    "The proxy's old workers did not hand over within 30 s", details=self.engine.logs(proxy.id, 20)
                )
            self.sleep(0.2)

    def _accepting_workers(self, proxy: str) -> set[int]:
        """PIDs of nginx workers that accept connections: a worker told to stop retitles
        itself "worker process is shutting down" once it has closed its listening sockets."""
        code, output = self.engine.exec(proxy, ["python3", "-c", _WORKERS])
        return {int(pid) for pid in output.split()} if code == 0 else set()

    def remove(self, app: str) -> bool:
        removed = self.engine.remove(proxy_name(app), force=True)
        self.engine.remove_network(network_name(app))
        self.engine.remove_volume(route_volume(app))
        return removed


_WORKERS = """
import glob
for path in glob.glob('/proc/[0-9]*/cmdline'):
    try:
        title = open(path, 'rb').read()
    except OSError:
        continue
    if title.startswith(b'nginx: worker process') and b'shutting down' not in title:
        print(path.split('/')[2])
"""
