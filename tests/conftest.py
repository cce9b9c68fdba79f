"""Shared fixtures.

Tests that need Docker use the real local engine. Where none answers they are skipped
with a reason on a developer's machine, and fail in CI (CI=true), where `.ci/run` starts one:
a suite that silently skipped its end-to-end tests would pass without testing anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from click.testing import CliRunner, Result

from provision.adapters.engine import Engine, connect
from provision.adapters.engine_model import parse_image
from provision.adapters.host import Debootstrap
from provision.app import App
from provision.cli import cli
from provision.console import Console
from provision.engine import EngineTarget
from provision.process import Runner
from provision.services.base_image import BaseImageBuilder, BaseImageSpec

REPO = Path(__file__).resolve().parent.parent
BASE_IMAGE = os.environ.get("DOCKERHELLO_TEST_BASE_IMAGE", "dockerhello/python:trixie")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


ENGINE_FIXTURES = {"docker_client", "base_image", "app_name", "tls_engine", "engine_world"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the engine is marked `docker`, whether or not its module says so:
    `pytest -m "not docker"` then runs exactly the tests that need no engine."""
    for item in items:
        if ENGINE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.docker)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = connect(EngineTarget(), timeout=600)
    except Exception as exc:
        message = f"no Docker engine answers on the local socket ({exc}); run scripts/ensure-docker"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client: docker.DockerClient) -> str:
    """The registry-free base image; .ci/run builds it, this builds it where it is missing."""
    builder = BaseImageBuilder(Debootstrap(Runner()), Engine(docker_client, EngineTarget()), Console(quiet=True))
    if not builder.exists(BASE_IMAGE):
        certs = (HOST_CA_BUNDLE,) if HOST_CA_BUNDLE.is_file() else ()
        builder.build(BaseImageSpec(tag=BASE_IMAGE, ca_certs=certs))
    return BASE_IMAGE


@pytest.fixture(scope="session")
def registry_image(docker_client: docker.DockerClient, base_image: str) -> Iterator[str]:
    """A registry of the user's own to run (tests/registry/Dockerfile: Debian's, no registry
    needed to get it), built once for every test that needs one."""
    tag = "dhtest/registry:1"
    docker_client.images.build(path=str(REPO / "tests" / "registry"), tag=tag, buildargs={"BASE_IMAGE": base_image},
                               rm=True, forcerm=True)  # fmt: skip
    yield tag
    docker_client.images.remove(tag, force=True)


@dataclass
class Dockerhello:
    """Runs `dockerhello` in-process, the way a user runs it, with a given environment."""

    environ: dict[str, str]
    state_dir: Path

    def __call__(self, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None) -> Result:
        environ = {**self.environ, **(env or {})}
        app = App.create(environ, state_dir=self.state_dir)
        # click reads envvar-backed options from os.environ: give it the same environment.
        os_env: dict[str, str | None] = {k: None for k in os.environ if k not in environ}
        os_env.update(environ)
        return CliRunner().invoke(cli, list(args), obj=app, catch_exceptions=False, prog_name="dockerhello", env=os_env,
                                  input=stdin)  # fmt: skip


@pytest.fixture
def dockerhello(tmp_path: Path) -> Dockerhello:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DOCKERHELLO_"))}
    return Dockerhello(environ=environ, state_dir=tmp_path / "state")


def wait_for(condition: Callable[[], bool], timeout: float, what: str, every: float = 1.0) -> None:
    """Return once `condition()` holds; AssertionError naming `what` if it does not within `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def remove_app(client: docker.DockerClient, name: str) -> None:
    """Everything of the app on the engine: containers (record and lock included), network,
    images (a proxy built on one of them first: it is that image's child), then volumes.
    Each removal on its own: one that fails does not leave the rest behind."""
    suppress = contextlib.suppress(docker.errors.APIError)
    for container in client.containers.list(all=True, filters={"label": f"dockerhello.app={name}"}):
        with suppress:
            container.remove(force=True)
    for network in client.networks.list(names=[f"dockerhello-{name}"]):
        with suppress:
            network.remove()
    children = [i for i in client.images.list(filters={"label": "dockerhello.proxy-base"})
                if i.labels.get("dockerhello.proxy-base", "").startswith(f"{name}:")]  # fmt: skip
    for image in children:
        with suppress:
            client.images.remove(image.id or "", force=True)
    # By tag: another app's tags of the same image (the same build) are not this app's to take.
    for tag in [t for image in client.images.list(name=name) for t in parse_image(image.attrs).tags_in(name)]:
        with suppress:
            client.images.remove(tag, force=True)
    for volume in client.volumes.list(filters={"name": name}):
        with suppress:
            volume.remove(force=True)


@pytest.fixture
def app_name(docker_client: docker.DockerClient) -> Iterator[str]:
    """A unique app name whose containers, images and volumes are removed after the test."""
    name = f"dhtest-{uuid.uuid4().hex[:8]}"
    yield name
    remove_app(docker_client, name)


def app_containers(client: docker.DockerClient, app: str) -> list[str]:
    """Every container that runs the app: its proxy (named APP) and its release containers.
    Not the one that holds its release record (APP-records), never started, which stays."""
    found = client.containers.list(all=True, filters={"label": f"dockerhello.app={app}"})
    return sorted(c.name or "" for c in found if c.labels.get("dockerhello.role") in ("proxy", "release"))


def release_containers(client: docker.DockerClient, app: str) -> list[Any]:
    found = client.containers.list(all=True, filters={"label": [f"dockerhello.app={app}", "dockerhello.role=release"]})
    return [client.containers.get(c.id or "") for c in found]  # list() gives summaries; get() the full inspect


def copy_project(destination: Path, transform: Callable[[str, str], str] | None = None) -> Path:
    """Copy the deployable part of this repository (what the Dockerfile uses)."""
    destination.mkdir(parents=True, exist_ok=True)
    for relative in ("Dockerfile", ".dockerignore", "start.sh", "requirements.txt", "manage.py"):
        target = destination / relative
        target.write_bytes((REPO / relative).read_bytes())
        target.chmod((REPO / relative).stat().st_mode)
    for source in (REPO / "helloworld").glob("*.py"):
        target = destination / "helloworld" / source.name
        target.parent.mkdir(exist_ok=True)
        text = source.read_text()
        target.write_text(transform(source.name, text) if transform else text)
    return destination


STANDINS = Path(__file__).resolve().parent / "standins"


@pytest.fixture(scope="session")
def tls_engine(tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient) -> Iterator[Any]:
    """The real local engine behind TLS with client certificates, as a VM's engine is.
    It also answers on 127.0.0.2, an address its certificate does not name."""
    from tests.tls_endpoint import TlsEngineEndpoint, make_certs

    certs = make_certs(tmp_path_factory.mktemp("machine-certs"))
    endpoint = TlsEngineEndpoint(certs, hosts=("127.0.0.1", "127.0.0.2"))
    endpoint.certs = certs  # type: ignore[attr-defined]
    yield endpoint
    endpoint.close()


@dataclass
class MachineWorld:
    """Stand-in docker-machine and VBoxManage on PATH, each test with its own state."""

    environ: dict[str, str]
    calls_file: Path
    storage: Path

    def calls(self, tool: str | None = None) -> list[list[str]]:
        if not self.calls_file.exists():
            return []
        rows = [json.loads(line) for line in self.calls_file.read_text().splitlines()]
        return [row for row in rows if tool is None or row[0] == tool]

    def forget_calls(self) -> None:
        self.calls_file.unlink(missing_ok=True)

    def tool(self, *argv: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a stand-in directly, as a user of the real tool would."""
        return subprocess.run(
            [str(STANDINS / argv[0]), *argv[1:]],
            env={**self.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
        )


def make_world(tmp_path: Path, port: int = 2376, certs: Path | None = None) -> MachineWorld:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DOCKERHELLO_", "STANDIN_"))}
    tmp_path.mkdir(parents=True, exist_ok=True)
    calls = tmp_path / "calls.jsonl"
    environ.update(
        PATH=f"{STANDINS}{os.pathsep}{environ.get('PATH', '')}",
        MACHINE_STORAGE_PATH=str(tmp_path / "machine"),
        VBOX_USER_HOME=str(tmp_path / "vbox"),
        STANDIN_CALL_LOG=str(calls),
        STANDIN_DOCKER_PORT=str(port),
        SHELL="/bin/bash",
    )
    if certs is not None:
        environ["STANDIN_CERTS"] = str(certs)
    return MachineWorld(environ=environ, calls_file=calls, storage=tmp_path / "machine")


@pytest.fixture
def world(tmp_path: Path) -> MachineWorld:
    """Stand-ins without a Docker engine behind them: for machine and port commands."""
    return make_world(tmp_path / "world")


@pytest.fixture
def engine_world(tmp_path: Path, tls_engine: Any) -> MachineWorld:
    """Stand-ins whose machines' engine is the real one, over TLS."""
    return make_world(tmp_path / "world", port=tls_engine.port, certs=tls_engine.certs)


def dockerhello_in(world: MachineWorld, state_dir: Path) -> Dockerhello:
    return Dockerhello(environ=dict(world.environ), state_dir=state_dir)
