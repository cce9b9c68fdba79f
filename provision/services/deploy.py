"""Build the project's image and swap the app's container for one running it.

The sequence keeps the app as available as one published port allows:

1. build the image while the previous container keeps serving;
2. create the new container (not started) as `APP.next`;
3. stop the previous container `APP`, keeping it;
4. start `APP.next` and wait until Docker calls it healthy and `/` answers 200;
5. success: remove the previous container and rename `APP.next` to `APP`;
   failure or Ctrl-C: remove `APP.next` and start the previous container again.

Either way no stray container is left, and a failure leaves what served before serving.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.models.containers import Container

from provision.console import Console
from provision.engine import EngineTarget, unreachable
from provision.errors import BaseImageUnavailable, BuildFailed, DeployFailed, DockerHelloError
from provision.project import Project, Publish
from provision.secret_store import SecretStore

CONTAINER_PORT = 8000
LABEL_APP = "dockerhello.app"
# Gunicorn's graceful timeout (25 s in start.sh) must fit inside this.
STOP_TIMEOUT = 30
LOG_LINES = 30

Probe = Callable[[str, int, str], int | None]


@dataclass(frozen=True)
class DeployOptions:
    publish: Publish = field(default_factory=Publish)
    base_image: str | None = None
    health_timeout: float = 120.0
    # Engine-side host IP to bind; a machine target binds all interfaces inside the VM so
    # that VirtualBox's NAT can reach it, while the host-side rule stays on 127.0.0.1.
    bind_ip: str | None = None
    environment: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DeployResult:
    app: str
    image: str
    container_id: str
    url: str


def options_for(target: EngineTarget, options: DeployOptions) -> DeployOptions:
    """Adjust options to the engine. Inside a docker-machine VM the container listens on all
    the VM's interfaces, because VirtualBox's NAT forwards to the guest's address, not its
    loopback (the VM is reachable only from this host); the VM's IP joins ALLOWED_HOSTS so
    that http://VM-IP:PORT works as well as a forwarded http://localhost:PORT."""
    if not target.machine:
        return options
    hosts = f"localhost,127.0.0.1,[::1],{target.hostname}"
    return replace(options, bind_ip="0.0.0.0", environment=(*options.environment, ("ALLOWED_HOSTS", hosts)))


def http_probe(host: str, port: int, path: str) -> int | None:
    """Status of GET http://host:port/path sent as a browser on localhost would, or None."""
    conn = http.client.HTTPConnection(host, port, timeout=3)
    try:
        conn.request("GET", path, headers={"Host": f"localhost:{port}"})
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


class Deployer:
    def __init__(
        self,
        client: docker.DockerClient,
        target: EngineTarget,
        console: Console,
        secrets: SecretStore,
        probe: Probe = http_probe,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.target = target
        self.console = console
        self.secrets = secrets
        self.probe = probe
        self.sleep = sleep

    # -- the whole deploy -------------------------------------------------------------

    def deploy(self, project: Project, options: DeployOptions) -> DeployResult:
        image = f"{project.app}:latest"
        try:
            self.build(project, image, options.base_image)
            container = self.replace(project.app, image, options)
        except (requests.exceptions.ConnectionError, docker.errors.DockerException) as exc:
            if isinstance(exc, docker.errors.APIError):
                raise DockerHelloError(f"The Docker engine refused: {exc.explanation or exc}") from exc
            raise unreachable(self.target, exc) from exc
        host = "localhost" if self.target.is_local else self.target.hostname
        url = f"http://{host}:{options.publish.host_port}/"
        return DeployResult(project.app, image, container.id or "", url)

    # -- build ------------------------------------------------------------------------

    def build(self, project: Project, image: str, base_image: str | None) -> str:
        self.console.step(f"Building image {image} from {project.path}")
        buildargs = {"BASE_IMAGE": base_image} if base_image else None
        if base_image:
            self._require_local_image(base_image)
        recent: list[str] = []
        current_step = ""
        # ARG defaults seen so far, to name the base image when FROM uses a build argument.
        build_args: dict[str, str] = {}
        image_id = ""
        for chunk in self._build_stream(project, image, buildargs):
            if "stream" in chunk:
                text = chunk["stream"]
                self.console.stream(text)
                for line in text.splitlines():
                    if line.startswith("Step "):
                        current_step = line
                        build_args.update(parse_arg_step(line))
                    if line.strip():
                        recent = [*recent[-(LOG_LINES - 1) :], line]
            elif "status" in chunk:  # base image pull progress
                self.console.stream(f"{chunk['status']} {chunk.get('progress', '')}".rstrip() + "\n")
            elif "aux" in chunk:
                image_id = chunk["aux"].get("ID", image_id)
            elif "error" in chunk:
                raise self._build_error(
                    chunk["error"].strip(), current_step, {**build_args, **(buildargs or {})}, recent
                )
        return image_id

    def _build_stream(self, project: Project, image: str, buildargs: dict[str, str] | None) -> Iterator[dict[str, Any]]:
        # The low-level API streams as the build goes; images.build() only returns at the end.
        return self.client.api.build(
            path=str(project.path),
            tag=image,
            buildargs=buildargs,
            rm=True,
            forcerm=True,  # no intermediate containers left behind by a failed step
            decode=True,
            labels={LABEL_APP: project.app},
        )

    def _require_local_image(self, base_image: str) -> None:
        try:
            self.client.images.get(base_image)
        except docker.errors.ImageNotFound:
            raise BaseImageUnavailable(
                f"Base image {base_image} is not on the {self.target.describe()}",
                hint="Build one without a registry with `dockerhello base build`, or name an image "
                "that `docker images` lists.",
            ) from None

    def _build_error(self, error: str, step: str, build_args: dict[str, str], recent: list[str]) -> BuildFailed:
        if " : FROM " in step and any(
            marker in error
            for marker in ("pull access denied", "no such host", "manifest unknown", "not found", "dial tcp", "timeout")
        ):
            base = expand_args(step.split(" : FROM ", 1)[1].split()[0], build_args)
            return BaseImageUnavailable(
                f"Cannot pull the base image {base}: {error}",
                hint="No registry is reachable from this engine. Build a base image from Debian "
                "packages with `dockerhello base build` and deploy with `--base-image "
                "dockerhello/python:trixie` (or set DOCKERHELLO_BASE_IMAGE).",
            )
        return BuildFailed(
            f"The image did not build: {error}",
            hint="The build output above shows the failing step; fix it and deploy again.",
            details=recent[-10:],
        )

    # -- run and switch ---------------------------------------------------------------

    def replace(self, app: str, image: str, options: DeployOptions) -> Container:
        next_name = f"{app}.next"
        self._remove_if_exists(next_name)  # left by a deploy that was killed
        previous = self._get(app)
        was_running = previous is not None and previous.status == "running"

        self.console.step(f"Starting container {app} on {options.publish}")
        new = self._create(next_name, image, app, options)
        try:
            if previous is not None and was_running:
                self.console.info(f"Stopping the previous container {previous.short_id}")
                previous.stop(timeout=STOP_TIMEOUT)
            self._start(new, options.publish)
            self.wait_healthy(new, options)
        except BaseException:
            self._discard(new)
            if previous is not None and was_running:
                self._restore(previous, options)
            raise
        if previous is not None:
            previous.remove(force=True)
        new.rename(app)
        new.reload()
        return new

    def _create(self, name: str, image: str, app: str, options: DeployOptions) -> Container:
        # The low-level API: the high-level create() does not take stop_timeout, which makes
        # a plain `docker stop` wait for Gunicorn's graceful shutdown too.
        api = self.client.api
        host_config = api.create_host_config(
            port_bindings={CONTAINER_PORT: (options.bind_ip or options.publish.host_ip, options.publish.host_port)},
            restart_policy={"Name": "unless-stopped"},
        )
        created = api.create_container(
            image,
            name=name,
            environment={"SECRET_KEY": self.secrets.secret_key(app), **dict(options.environment)},
            ports=[CONTAINER_PORT],
            host_config=host_config,
            labels={LABEL_APP: app},
            stop_signal="SIGTERM",
            stop_timeout=STOP_TIMEOUT,
        )
        return self.client.containers.get(created["Id"])

    def _restore(self, previous: Container, options: DeployOptions) -> None:
        """Bring the previous container back, and wait until it serves again before the
        failure is reported, so that "the previous release serves" is true when we say it."""
        self.console.step(f"Restarting the previous container {previous.short_id}")
        try:
            previous.start()
            self.wait_healthy(previous, options)
        except DockerHelloError as exc:
            self.console.warn(f"the previous container did not come back: {exc.message}")
        except docker.errors.APIError as exc:
            self.console.warn(f"the previous container did not come back: {exc.explanation or exc}")
        else:
            self.console.info("The previous container serves again.")

    def _start(self, container: Container, publish: Publish) -> None:
        try:
            container.start()
        except docker.errors.APIError as exc:
            text = str(exc.explanation or exc)
            if "port is already allocated" in text or "address already in use" in text:
                raise DeployFailed(
                    f"Port {publish} is already in use on the {self.target.describe()}",
                    hint="Stop what listens there, or publish elsewhere with --publish, e.g. --publish 127.0.0.1:8001.",
                ) from None
            raise DeployFailed(f"The container did not start: {text}") from None

    def wait_healthy(self, container: Container, options: DeployOptions) -> None:
        self.console.step(f"Waiting for {container.name} to be healthy (up to {options.health_timeout:.0f} s)")
        deadline = time.monotonic() + options.health_timeout
        host, port = self.target.hostname, options.publish.host_port
        if options.publish.host_ip not in ("0.0.0.0", "::") and self.target.is_local:
            host = options.publish.host_ip
        while True:
            container.reload()
            state = container.attrs["State"]
            if state["Status"] in ("exited", "dead") or state.get("Restarting") or container.attrs.get("RestartCount"):
                raise DeployFailed(
                    f"The container exited at start (exit code {state.get('ExitCode')})",
                    hint="Its last log lines are below; fix the cause and deploy again.",
                    details=self.last_logs(container),
                )
            health = (state.get("Health") or {}).get("Status")  # None: the image has no HEALTHCHECK
            if health == "unhealthy":
                raise DeployFailed(
                    "The container is unhealthy: " + _last_health_output(state),
                    hint="Its last log lines are below.",
                    details=self.last_logs(container),
                )
            if health in (None, "healthy") and self.probe(host, port, "/") == 200:
                return
            if time.monotonic() > deadline:
                raise DeployFailed(
                    f"The container was not healthy after {options.health_timeout:.0f} s "
                    f"(health: {health or 'no HEALTHCHECK'}, GET / on {host}:{port} did not answer 200)",
                    hint="Raise --health-timeout if the app is slow to start; its last log lines are below.",
                    details=self.last_logs(container),
                )
            self.sleep(0.5)

    def last_logs(self, container: Container) -> list[str]:
        try:
            raw = container.logs(tail=LOG_LINES)
        except docker.errors.APIError:
            return []
        return raw.decode("utf-8", errors="replace").splitlines()

    def _get(self, name: str) -> Container | None:
        try:
            return self.client.containers.get(name)
        except docker.errors.NotFound:
            return None

    def _remove_if_exists(self, name: str) -> None:
        container = self._get(name)
        if container is not None:
            container.remove(force=True)

    def _discard(self, container: Container) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


def parse_arg_step(line: str) -> dict[str, str]:
    """`Step 1/14 : ARG BASE_IMAGE=python:3.12-slim` -> {"BASE_IMAGE": "python:3.12-slim"}."""
    match = re.match(r"^Step \d+/\d+ : ARG ([A-Za-z_][A-Za-z0-9_]*)=(\S+)", line)
    return {match.group(1): match.group(2).strip("\"'")} if match else {}


def expand_args(text: str, args: dict[str, str]) -> str:
    """Expand `$NAME` and `${NAME}` the way the builder does in a FROM line."""
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: args.get(m.group(1), m.group(0)), text)


def _last_health_output(state: dict[str, Any]) -> str:
    log = (state.get("Health") or {}).get("Log") or []
    return (log[-1].get("Output") or "").strip() if log else "no health check output"
