"""The app's front door: an nginx container that owns the published port and routes to the
active release container over the app's own network.

Switching a release is a rewrite of the route on the proxy's volume, `nginx -t`, then
`nginx -s reload`: nginx's graceful reload lets old workers finish their requests while new
ones already use the new route, so a switch drops no request.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import tarfile
import time
from dataclasses import dataclass
from importlib import resources

import docker
import docker.errors
from docker.models.containers import Container

from provision.console import Console
from provision.errors import DeployFailed, DockerHelloError
from provision.project import Publish

LABEL_APP = "dockerhello.app"
LABEL_ROLE = "dockerhello.role"
ROUTE_DIR = "/var/lib/dockerhello-proxy"
PROXY_PORT = 8000


def proxy_name(app: str) -> str:
    """The proxy carries the app's own name: it is what serves the app's URL."""
    return app


def network_name(app: str) -> str:
    return f"dockerhello-{app}"


def route_conf(upstream: str | None, release: str) -> str:
    target = f"http://{upstream}:8000" if upstream else "http://127.0.0.1:9"  # nothing yet: 502
    return f'set $upstream "{target}";\nset $release "{release}";\n'


def _tar(name: str, content: str) -> bytes:
    data = content.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        info.uid = info.gid = 10001
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def release_containers(client: docker.DockerClient, app: str) -> list[Container]:
    """The app's release containers, fully inspected (list() gives summaries without State)."""
    found = client.containers.list(all=True, filters={"label": [f"{LABEL_APP}={app}", f"{LABEL_ROLE}=release"]})
    return [client.containers.get(c.id or "") for c in found]


@dataclass(frozen=True)
class ProxySpec:
    app: str
    host_ip: str
    host_port: int
    base_image: str | None


class Proxy:
    def __init__(self, client: docker.DockerClient, console: Console) -> None:
        self.client = client
        self.console = console

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
        try:
            self.client.images.get(tag)
            return tag
        except docker.errors.ImageNotFound:
            pass
        self.console.step(f"Building the proxy image {tag} (nginx from Debian's packages)")
        context = io.BytesIO()
        with tarfile.open(fileobj=context, mode="w") as tar:
            for name in ("Dockerfile", "nginx.conf"):
                data = resources.files("provision.proxy").joinpath(name).read_bytes()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        context.seek(0)
        stream = self.client.api.build(
            fileobj=context,
            custom_context=True,
            tag=tag,
            buildargs={"BASE_IMAGE": base_image} if base_image else None,
            labels={LABEL_ROLE: "proxy", "dockerhello.proxy-base": base_image or ""},
            rm=True,
            forcerm=True,
            decode=True,
        )
        for chunk in stream:
            if "stream" in chunk:
                self.console.stream(chunk["stream"])
            elif "error" in chunk:
                raise DeployFailed(
                    f"The proxy image did not build: {chunk['error'].strip()}",
                    hint="It installs nginx with apt from the base image: the engine needs to reach a Debian "
                    "mirror, and the base image must be Debian-based.",
                )
        return tag

    def ensure_network(self, app: str) -> None:
        name = network_name(app)
        if not self.client.networks.list(names=[name]):
            self.client.networks.create(name, driver="bridge", labels={LABEL_APP: app})

    def get(self, app: str) -> Container | None:
        try:
            return self.client.containers.get(proxy_name(app))
        except docker.errors.NotFound:
            return None

    def published(self, proxy: Container) -> Publish:
        """The address the proxy publishes the app on."""
        bindings = (proxy.attrs["HostConfig"].get("PortBindings") or {}).get(f"{PROXY_PORT}/tcp") or [{}]
        return Publish(bindings[0].get("HostIp") or "0.0.0.0", int(bindings[0].get("HostPort") or PROXY_PORT))

    def ensure(self, spec: ProxySpec, bind_ip: str) -> Container:
        """The running proxy for `spec.app`, created (routing nowhere yet) if missing."""
        self.ensure_network(spec.app)
        proxy = self.get(spec.app)
        if proxy is None:
            image = self.ensure_image(spec.base_image)
            api = self.client.api
            created = api.create_container(
                image,
                name=proxy_name(spec.app),
                ports=[PROXY_PORT],
                labels={LABEL_APP: spec.app, LABEL_ROLE: "proxy"},
                host_config=api.create_host_config(
                    port_bindings={PROXY_PORT: (bind_ip, spec.host_port)},
                    restart_policy={"Name": "unless-stopped"},
                    network_mode=network_name(spec.app),
                    read_only=True,
                    tmpfs={"/tmp": "rw,nosuid,size=16m"},
                    cap_drop=["ALL"],
                    security_opt=["no-new-privileges:true"],
                    mem_limit="64m",
                    binds={f"{proxy_name(spec.app)}-route": {"bind": ROUTE_DIR, "mode": "rw"}},
                ),
            )
            proxy = self.client.containers.get(created["Id"])
            if not self._has_route(proxy):
                proxy.put_archive(ROUTE_DIR, _tar("route.conf", route_conf(None, "none")))
        if proxy.status != "running":
            self._start(proxy, spec)
        return proxy

    def _has_route(self, proxy: Container) -> bool:
        try:
            proxy.get_archive(f"{ROUTE_DIR}/route.conf")
        except docker.errors.NotFound:
            return False
        return True

    def _start(self, proxy: Container, spec: ProxySpec) -> None:
        try:
            proxy.start()
        except docker.errors.APIError as exc:
            text = str(exc.explanation or exc)
            if "port is already allocated" in text or "address already in use" in text:
                raise DeployFailed(
                    f"Port {spec.host_ip}:{spec.host_port} is already in use",
                    hint="Stop what listens there, or publish elsewhere with --publish, e.g. --publish 127.0.0.1:8001.",
                ) from None
            raise
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            proxy.reload()
            if proxy.status == "running" and self._exec(proxy, ["nginx", "-t", "-q"])[0] == 0:
                return
            self._sleep()
        raise DeployFailed("The proxy did not start", details=_logs(proxy))

    # -- routing -----------------------------------------------------------------------------

    def current_release(self, app: str) -> str | None:
        proxy = self.get(app)
        if proxy is None or proxy.status != "running":
            return None
        code, output = self._exec(proxy, ["cat", f"{ROUTE_DIR}/route.conf"])
        if code != 0:
            return None
        for line in output.splitlines():
            if line.startswith("set $release "):
                release = line.split('"')[1]
                return None if release == "none" else release
        return None

    def probe(self, app: str, upstream: str, path: str = "/") -> tuple[int | None, str]:
        """GET http://UPSTREAM:8000/PATH from inside the proxy: the network path it will use."""
        proxy = self.get(app)
        if proxy is None:
            return None, "no proxy"
        code = (
            "import sys, urllib.request as u\n"
            "try:\n"
            f"    q = u.Request('http://{upstream}:8000{path}', headers={{'Host': 'localhost'}})\n"
            "    r = u.urlopen(q, timeout=3)\n"
            "    print(r.status)\n"
            "except u.HTTPError as e:\n"
            "    print(e.code)\n"
            "except Exception as e:\n"
            "    print('error', e)\n"
        )
        exit_code, output = self._exec(proxy, ["python3", "-c", code])
        first = output.strip().split(maxsplit=1)
        if exit_code == 0 and first and first[0].isdigit():
            return int(first[0]), output.strip()
        return None, output.strip()

    def switch(self, app: str, upstream: str, release: str) -> None:
        """Point the proxy at `upstream`; on a config nginx rejects, the old route stays."""
        proxy = self.get(app)
        if proxy is None:
            raise DockerHelloError(f"The proxy of {app} is gone")
        code, previous = self._exec(proxy, ["cat", f"{ROUTE_DIR}/route.conf"])
        proxy.put_archive(ROUTE_DIR, _tar("route.conf", route_conf(upstream, release)))
        test_code, test_output = self._exec(proxy, ["nginx", "-t", "-q"])
        if test_code != 0:
            if code == 0:
                proxy.put_archive(ROUTE_DIR, _tar("route.conf", previous))
            raise DeployFailed(f"The proxy refused the new route: {test_output.strip()}")
        before = self._accepting_workers(proxy)
        reload_code, reload_output = self._exec(proxy, ["nginx", "-s", "reload"])
        if reload_code != 0:
            raise DeployFailed(f"The proxy did not reload: {reload_output.strip()}")
        # `nginx -s reload` only signals the master, which then starts new workers and tells
        # the old ones to stop accepting. Until it has, an old worker may still take a new
        # connection and route it the old way: wait for that moment to pass.
        deadline = time.monotonic() + 30
        while before & self._accepting_workers(proxy):
            if time.monotonic() > deadline:
                raise DeployFailed("The proxy's old workers did not hand over within 30 s", details=_logs(proxy))
            self._sleep()

    def _accepting_workers(self, proxy: Container) -> set[int]:
        """PIDs of nginx workers that accept connections: a worker told to stop retitles
        itself "worker process is shutting down" once it has closed its listening sockets."""
        code, output = self._exec(proxy, ["python3", "-c", _WORKERS])
        return {int(pid) for pid in output.split()} if code == 0 else set()

    def _exec(self, container: Container, argv: list[str]) -> tuple[int, str]:
        result = container.exec_run(argv, demux=False)
        output = result.output if isinstance(result.output, bytes) else b""
        return int(result.exit_code or 0), output.decode(errors="replace")

    def remove(self, app: str) -> bool:
        proxy = self.get(app)
        removed = False
        if proxy is not None:
            proxy.remove(force=True)
            removed = True
        for network in self.client.networks.list(names=[network_name(app)]):
            network.remove()
        with contextlib.suppress(docker.errors.NotFound):
            self.client.volumes.get(f"{proxy_name(app)}-route").remove(force=True)
        return removed

    @staticmethod
    def _sleep() -> None:
        time.sleep(0.2)


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


def _logs(container: Container) -> list[str]:
    try:
        return container.logs(tail=20).decode(errors="replace").splitlines()
    except docker.errors.APIError:
        return []
