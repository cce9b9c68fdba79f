"""Deploy: build a release, run it beside the one serving, switch only once it is healthy.

1. Under a per-app lock, check the published port before anything is built or stopped.
2. Build the image APP:RELEASE (and APP:latest) while the current release keeps serving.
3. Run the release as container APP-RELEASE on the app's network, hardened, no port of its own.
4. Wait until Docker calls it healthy and GET / answers 200 from the proxy's side.
5. Point the proxy at it (nginx graceful reload), check the published URL answers with the
   new release, let the old one drain, then stop and remove it.

A failure at any step before 5 (build error, exit at start, unhealthy, timeout, Ctrl-C)
removes the new container and leaves the proxy and the serving release untouched.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from provision.adapters.host import Git
from provision.console import Console
from provision.defaults import BASE_REPOSITORY, DEFAULT_SUITE, base_image_tag
from provision.engine import EngineTarget
from provision.errors import BaseImageUnavailable, BuildFailed, DeployFailed, DockerHelloError
from provision.project import Project, Publish
from provision.secret_store import SecretStore
from provision.services.proxy import (
    LABEL_APP,
    LABEL_ROLE,
    Proxy,
    ProxySpec,
    network_name,
    proxy_name,
    release_containers,
)
from provision.services.releases import Release, ReleaseState, ReleaseStore, new_release_id
from provision.settings import DeploySettings, Hardening

LABEL_RELEASE = "dockerhello.release"
LABEL_GIT = "dockerhello.git"
# Gunicorn's graceful timeout (25 s in start.sh) must fit inside this.
STOP_TIMEOUT = 30
LOG_LINES = 30


@dataclass(frozen=True)
class DeployOptions:
    publish: Publish = field(default_factory=Publish)
    base_image: str | None = None
    health_timeout: float = 120.0
    # Engine-side address to bind; a machine target binds all of the VM's interfaces.
    bind_ip: str | None = None
    environment: tuple[tuple[str, str], ...] = ()
    hardening: Hardening = field(default_factory=lambda: DeploySettings().hardening)
    keep: int = 5  # release images kept
    wait_for_lock: bool = True
    drain: float = 2.0  # seconds the old release keeps its in-flight requests after the switch

    @classmethod
    def from_settings(cls, settings: DeploySettings, wait_for_lock: bool = True) -> DeployOptions:
        return cls(
            publish=settings.publish,
            base_image=settings.base_image,
            health_timeout=settings.health_timeout,
            environment=settings.environment(),
            hardening=settings.hardening,
            keep=settings.keep,
            wait_for_lock=wait_for_lock,
        )


@dataclass(frozen=True)
class DeployResult:
    app: str
    release: str
    image: str
    container_id: str
    url: str


def release_header(host: str, port: int) -> str | None:
    """The release the published URL serves, from the proxy's X-Dockerhello-Release."""
    conn = http.client.HTTPConnection(host, port, timeout=3)
    try:
        conn.request("GET", "/", headers={"Host": f"localhost:{port}"})
        response = conn.getresponse()
        response.read()
        return response.getheader("X-Dockerhello-Release")
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
        git: Git,
        state_dir: Path,
        served_release: Callable[[str, int], str | None] = release_header,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.target = target
        self.console = console
        self.secrets = secrets
        self.git = git
        self.state_dir = state_dir
        self.served_release = served_release
        self.sleep = sleep
        self.proxy = Proxy(client, console)

    def for_target(self, options: DeployOptions) -> DeployOptions:
        """Options adjusted to the engine. Inside a docker-machine VM the app listens on all
        the VM's interfaces, because VirtualBox's NAT forwards to the guest's address, not its
        loopback (the VM is reachable only from this host); the VM's IP joins ALLOWED_HOSTS so
        that http://VM-IP:PORT works as well as a forwarded http://localhost:PORT."""
        if not self.target.machine or any(name == "ALLOWED_HOSTS" for name, _ in options.environment):
            return options
        hosts = f"localhost,127.0.0.1,[::1],{self.target.hostname}"
        return replace(options, bind_ip="0.0.0.0", environment=(*options.environment, ("ALLOWED_HOSTS", hosts)))

    def store(self, app: str) -> ReleaseStore:
        return ReleaseStore(self.state_dir, app, self.target.host, self.console.warn)

    # -- entry points -------------------------------------------------------------------

    def deploy(self, project: Project, options: DeployOptions) -> DeployResult:
        options = self.for_target(options)
        store = self.store(project.app)
        self.secrets.secret_key(project.app)  # a damaged key stops the deploy before the build, not after
        with store.lock(options.wait_for_lock, self.console.info):
            self.check_port(project.app, options)
            self.check_limits(options.hardening)
            commit = self.git.commit(project.path)
            release_id = new_release_id(commit)
            image = f"{project.app}:{release_id}"
            release = Release(release_id, image, commit, _now(), ReleaseState.BUILDING)
            store.add(release)
            try:
                try:
                    built_on = self.build(project, image, options.base_image, release)
                except BaseImageUnavailable as unavailable:
                    fallback = (
                        self.registry_free_base() if unavailable.takes_base_arg and not options.base_image else None
                    )
                    if fallback is None:
                        raise
                    self.console.warn(
                        f"the Dockerfile's base image cannot be pulled: building on {fallback}, which `dockerhello "
                        "base build` made (--base-image or DOCKERHELLO_BASE_IMAGE chooses another)"
                    )
                    options = replace(options, base_image=fallback)
                    built_on = self.build(project, image, fallback, release)
            except BaseException as exc:
                store.mark(release_id, ReleaseState.FAILED, f"build: {_reason(exc)}")
                raise
            return self._release(project.app, release, options, store, proxy_base=built_on)

    def rollback(self, app: str, release_id: str | None, options: DeployOptions) -> DeployResult:
        options = self.for_target(options)
        store = self.store(app)
        with store.lock(options.wait_for_lock, self.console.info):
            if release_id:
                release = store.find(release_id)
            else:
                found = store.previous_healthy()
                if found is None:
                    raise DockerHelloError(
                        f"{app} has no earlier healthy release to go back to",
                        hint="`dockerhello releases` lists what there is.",
                    )
                release = found
            if release.state is ReleaseState.ACTIVE:
                raise DockerHelloError(f"Release {release.id} is the one serving already")
            try:
                self.client.images.get(release.image)
            except docker.errors.ImageNotFound:
                raise DockerHelloError(
                    f"The image of release {release.id} ({release.image}) is no longer on the engine",
                    hint="It was pruned; deploy that commit again instead.",
                ) from None
            self.console.step(f"Rolling {app} back to release {release.id}")
            self.check_port(app, options)
            return self._release(app, release, options, store, rollback=True)

    def serving_options(self, app: str, health_timeout: float) -> DeployOptions:
        """The run settings of the release that serves, read back from the engine, for a
        rollback to run under: its published address, the app's variables (secrets from env
        files included, which dockerhello never stores) and its hardening."""
        proxy = self.proxy.get(app)
        if proxy is None:
            raise DockerHelloError(f"{app} is not deployed on the {self.target.describe()}")
        publish = self.proxy.published(proxy)
        serving = self.proxy.current_release(app)
        container = next(
            (c for c in release_containers(self.client, app) if c.labels.get(LABEL_RELEASE) == serving), None
        )
        if container is None:
            self.console.warn("no serving release to copy settings from: rolling back with the defaults")
            return DeployOptions(publish=publish, health_timeout=health_timeout)
        image_env = set(self.client.images.get(container.attrs["Image"]).attrs["Config"].get("Env") or [])
        environment = tuple(
            (name, value)
            for name, _, value in (e.partition("=") for e in container.attrs["Config"].get("Env") or [])
            if f"{name}={value}" not in image_env and name != "SECRET_KEY"
        )
        host = container.attrs["HostConfig"]
        hardening = Hardening(
            read_only=bool(host.get("ReadonlyRootfs")),
            drop_capabilities=host.get("CapDrop") == ["ALL"],
            no_new_privileges="no-new-privileges:true" in (host.get("SecurityOpt") or []),
            allow_root=container.attrs["Config"].get("User") in ("", "root", "0", "0:0"),
            memory=int(host["Memory"]) if host.get("Memory") else None,
            cpus=host["NanoCpus"] / 1e9 if host.get("NanoCpus") else None,
        )
        return DeployOptions(
            publish=publish, health_timeout=health_timeout, environment=environment, hardening=hardening
        )

    # -- checks and build ---------------------------------------------------------------

    def check_port(self, app: str, options: DeployOptions) -> None:
        """Find a taken published port before anything is built or stopped."""
        publish = options.publish
        proxy = self.proxy.get(app)
        if proxy is not None and proxy.labels.get(LABEL_ROLE) == "proxy":
            bound = self.proxy.published(proxy)
            if bound.host_port != publish.host_port:
                raise DockerHelloError(
                    f"{app} is published on port {bound.host_port}, not {publish.host_port}",
                    hint=f"Deploy with --publish {bound}, or `dockerhello down --app {app}` first to move it.",
                )
            return
        for container in self.client.containers.list():
            if container.name == app:  # a container of an earlier dockerhello, replaced below
                continue
            for bindings in (container.attrs["HostConfig"].get("PortBindings") or {}).values():
                for binding in bindings or []:
                    if str(binding.get("HostPort")) == str(publish.host_port):
                        raise DeployFailed(
                            f"Port {publish} is already published by container {container.name}",
                            hint="Stop it, or publish elsewhere with --publish, e.g. --publish 127.0.0.1:8001.",
                        )
        if self.target.is_local:
            with socket.socket() as probe:
                try:
                    probe.bind((publish.host_ip, publish.host_port))
                except OSError:
                    if proxy is None:  # else: the single container of an earlier deploy, replaced later
                        raise DeployFailed(
                            f"Port {publish} is already in use on this host",
                            hint="Stop what listens there (`ss -ltnp 'sport = :PORT'` shows it), or publish "
                            "elsewhere with --publish, e.g. --publish 127.0.0.1:8001.",
                        ) from None

    def registry_free_base(self) -> str | None:
        """A base image `dockerhello base build` made, the default suite's first."""
        tags = sorted(tag for image in self.client.images.list(name=BASE_REPOSITORY) for tag in image.tags)
        preferred = base_image_tag(DEFAULT_SUITE)
        return preferred if preferred in tags else (tags[0] if tags else None)

    def check_limits(self, hardening: Hardening) -> None:
        """Limits the engine would refuse, found before the build rather than after it."""
        info = self.client.info()
        cpus, memory = int(info.get("NCPU") or 0), int(info.get("MemTotal") or 0)
        if hardening.cpus and cpus and hardening.cpus > cpus:
            raise DeployFailed(
                f"--cpus {hardening.cpus:g} is more than the {cpus} CPUs of the {self.target.describe()}",
                hint=f"Give at most --cpus {cpus}, or --cpus 0 for no limit.",
            )
        if hardening.memory and memory and hardening.memory > memory:
            raise DeployFailed(
                f"--memory {hardening.memory / 2**20:.0f} MB is more than the {memory / 2**20:.0f} MB of the "
                f"{self.target.describe()}",
                hint='Give less, or --memory "" for no limit.',
            )

    def build(self, project: Project, image: str, base_image: str | None, release: Release) -> str | None:
        """Build the release's image; returns the image its last stage was built FROM."""
        self.console.step(f"Building {image} from {project.path}")
        buildargs = {"BASE_IMAGE": base_image} if base_image else None
        if base_image:
            self._require_local_image(base_image)
        recent: list[str] = []
        current_step = ""
        build_args: dict[str, str] = {}  # ARG defaults seen, to name a base image given by one
        last_from: str | None = None
        labels = {LABEL_APP: project.app, LABEL_RELEASE: release.id, LABEL_GIT: release.git or ""}
        for chunk in self._build_stream(project, image, buildargs, labels):
            if "stream" in chunk:
                text = chunk["stream"]
                self.console.stream(text)
                for line in text.splitlines():
                    if line.startswith("Step "):
                        current_step = line
                        build_args.update(parse_arg_step(line))
                        if " : FROM " in line:
                            last_from = expand_args(
                                line.split(" : FROM ", 1)[1].split()[0], {**build_args, **(buildargs or {})}
                            )
                    if line.strip():
                        recent = [*recent[-(LOG_LINES - 1) :], line]
            elif "status" in chunk:  # base image pull progress
                self.console.stream(f"{chunk['status']} {chunk.get('progress', '')}".rstrip() + "\n")
            elif "error" in chunk:
                build_args.update(buildargs or {})
                raise self._build_error(chunk["error"].strip(), current_step, build_args, recent)
        self.client.images.get(image).tag(project.app, "latest")
        return last_from

    def _build_stream(
        self, project: Project, image: str, buildargs: dict[str, str] | None, labels: dict[str, str]
    ) -> Iterator[dict[str, Any]]:
        # The low-level API streams as the build goes; images.build() only returns at the end.
        return self.client.api.build(
            path=str(project.path),
            tag=image,
            buildargs=buildargs,
            rm=True,
            forcerm=True,  # no intermediate containers left behind by a failed step
            decode=True,
            labels=labels,
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
            written = step.split(" : FROM ", 1)[1].split()[0]
            unavailable = BaseImageUnavailable(
                f"Cannot pull the base image {expand_args(written, build_args)}: {error}",
                hint="No registry is reachable from this engine. Build a base image from Debian packages with "
                "`dockerhello base build` and deploy with `--base-image dockerhello/python:trixie` (or set "
                "DOCKERHELLO_BASE_IMAGE).",
            )
            unavailable.takes_base_arg = "BASE_IMAGE" in written
            return unavailable
        return BuildFailed(
            f"The image did not build: {error}",
            hint="The build output above shows the failing step; fix it and deploy again.",
            details=recent[-10:],
        )

    # -- run, gate, switch ------------------------------------------------------------------

    def _release(
        self,
        app: str,
        release: Release,
        options: DeployOptions,
        store: ReleaseStore,
        rollback: bool = False,
        proxy_base: str | None = None,
    ) -> DeployResult:
        bind_ip = options.bind_ip or options.publish.host_ip
        first = self.proxy.get(app) is None
        self.proxy.ensure(
            ProxySpec(
                app, options.publish.host_ip, options.publish.host_port, self._proxy_base(options, release, proxy_base)
            ),
            bind_ip,
        )
        name = f"{app}-{release.id}"
        self._remove_if_exists(name)  # left by a deploy that was killed
        self.console.step(f"Starting release {release.id} as container {name}")
        container: Container | None = None
        try:
            container = self._create(name, release, app, options)
            self._start(container)
            self.wait_healthy(app, container, options)
            self.console.step(f"Switching {app} to release {release.id}")
            self.proxy.switch(app, name, release.id)
            self._confirm_served(app, release.id, options)
        except BaseException as exc:
            if container is not None:
                self._discard(container)
            if not rollback:
                store.mark(release.id, ReleaseState.FAILED, _reason(exc))
            serving = self.proxy.current_release(app)
            if serving:
                self.console.info(f"Release {serving} is still serving; the failed container was removed.")
            elif first:
                self.proxy.remove(app)  # a first deploy that failed leaves nothing behind
            raise
        store.mark(release.id, ReleaseState.ACTIVE, "rolled back to" if rollback else "")
        self._retire_others(app, keep=name, drain=options.drain)
        self._prune_images(app, store, options.keep)
        host = "localhost" if self.target.is_local else self.target.hostname
        return DeployResult(
            app, release.id, release.image, container.id or "", f"http://{host}:{options.publish.host_port}/"
        )

    def _proxy_base(self, options: DeployOptions, release: Release, built_on: str | None) -> str:
        """The proxy is built on the app's base image, which the build just used and so is on
        the engine, where a registry image may not be; else on the release's own image."""
        for candidate in (options.base_image, built_on):
            if candidate:
                try:
                    self.client.images.get(candidate)
                    return candidate
                except docker.errors.ImageNotFound:  # e.g. FROM naming an earlier build stage
                    continue
        return release.image

    def _create(self, name: str, release: Release, app: str, options: DeployOptions) -> Container:
        # The low-level API: the high-level create() does not take stop_timeout, which makes
        # a plain `docker stop` wait for Gunicorn's graceful shutdown too.
        api = self.client.api
        hardening = options.hardening
        image_user = (self.client.images.get(release.image).attrs.get("Config") or {}).get("User") or ""
        user = None
        if image_user in ("", "root", "0", "0:0") and not hardening.allow_root:
            user = "10001:10001"
        host_config = api.create_host_config(
            restart_policy={"Name": "unless-stopped"},
            network_mode=network_name(app),
            read_only=hardening.read_only,
            tmpfs={"/tmp": "rw,nosuid,nodev,size=64m"} if hardening.read_only else None,
            cap_drop=["ALL"] if hardening.drop_capabilities else None,
            security_opt=["no-new-privileges:true"] if hardening.no_new_privileges else None,
            mem_limit=hardening.memory,
            nano_cpus=int(hardening.cpus * 1e9) if hardening.cpus else None,
            pids_limit=512,
        )
        created = api.create_container(
            release.image,
            name=name,
            user=user,
            environment={"SECRET_KEY": self.secrets.secret_key(app), **dict(options.environment)},
            host_config=host_config,
            labels={LABEL_APP: app, LABEL_ROLE: "release", LABEL_RELEASE: release.id},
            stop_signal="SIGTERM",
            stop_timeout=STOP_TIMEOUT,
        )
        return self.client.containers.get(created["Id"])

    def _start(self, container: Container) -> None:
        try:
            container.start()
        except docker.errors.APIError as exc:
            raise DeployFailed(f"The container did not start: {exc.explanation or exc}") from None

    def wait_healthy(self, app: str, container: Container, options: DeployOptions) -> None:
        self.console.step(f"Waiting for {container.name} to be healthy (up to {options.health_timeout:.0f} s)")
        deadline = time.monotonic() + options.health_timeout
        answer = ""
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
            if health in (None, "healthy"):
                status, answer = self.proxy.probe(app, container.name or "")
                if status == 200:
                    return
            if time.monotonic() > deadline:
                raise DeployFailed(
                    f"The container was not healthy after {options.health_timeout:.0f} s "
                    f"(health: {health or 'no HEALTHCHECK'}; GET / answered: {answer or 'nothing yet'})",
                    hint="Raise --health-timeout if the app is slow to start; its last log lines are below.",
                    details=self.last_logs(container),
                )
            self.sleep(0.5)

    def _confirm_served(self, app: str, release: str, options: DeployOptions) -> None:
        """The published URL answers with the new release: the switch reached the user."""
        host = self.target.hostname if not self.target.is_local else options.publish.host_ip
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        deadline = time.monotonic() + 10
        seen = None
        while time.monotonic() < deadline:
            seen = self.served_release(host, options.publish.host_port)
            if seen == release:
                return
            self.sleep(0.2)
        raise DeployFailed(
            f"After the switch, {host}:{options.publish.host_port} serves release {seen or 'nothing'}, not {release}",
            hint=f"Look at the proxy: `docker logs {proxy_name(app)}`.",
        )

    def _retire_others(self, app: str, keep: str, drain: float) -> None:
        others = [c for c in release_containers(self.client, app) if c.name != keep]
        if not others:
            return
        self.sleep(drain)  # requests the old release already accepted finish; nginx sends it no new ones
        for container in others:
            self.console.info(f"Stopping the previous release {container.name}")
            try:
                container.stop(timeout=STOP_TIMEOUT)
                container.remove()
            except docker.errors.NotFound:
                pass

    def _prune_images(self, app: str, store: ReleaseStore, keep: int) -> None:
        kept = store.images_to_keep(keep)
        for release in store.load():
            if release.image in kept:
                continue
            try:
                self.client.images.remove(release.image)
            except docker.errors.ImageNotFound:
                pass
            except docker.errors.APIError as exc:
                self.console.warn(f"could not prune {release.image}: {exc.explanation or exc}")

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


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, DockerHelloError):
        return exc.message
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return str(exc) or type(exc).__name__
