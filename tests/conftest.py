"""Shared fixtures.

Tests that need Docker use the real local engine. Where none answers they are skipped
with a reason on a developer's machine, and fail in CI (CI=true), where `.ci/run` starts one:
a suite that silently skipped its end-to-end tests would pass without testing anything.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest
from click.testing import CliRunner, Result

from provision.app import App
from provision.cli import cli
from provision.console import Console
from provision.engine import EngineTarget, connect
from provision.process import Runner
from provision.services.base_image import BaseImageBuilder, BaseImageSpec

REPO = Path(__file__).resolve().parent.parent
BASE_IMAGE = os.environ.get("DOCKERHELLO_TEST_BASE_IMAGE", "dockerhello/python:trixie")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


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
    builder = BaseImageBuilder(Runner(), docker_client, Console(quiet=True))
    if not builder.exists(BASE_IMAGE):
        certs = (HOST_CA_BUNDLE,) if HOST_CA_BUNDLE.is_file() else ()
        builder.build(BaseImageSpec(tag=BASE_IMAGE, ca_certs=certs))
    return BASE_IMAGE


@dataclass
class Dockerhello:
    """Runs `dockerhello` in-process, the way a user runs it, with a given environment."""

    environ: dict[str, str]
    state_dir: Path

    def __call__(self, *args: str, env: Mapping[str, str] | None = None) -> Result:
        environ = {**self.environ, **(env or {})}
        app = App(environ=environ, state_dir=self.state_dir)
        # click reads envvar-backed options from os.environ: give it the same environment.
        os_env: dict[str, str | None] = {k: None for k in os.environ if k not in environ}
        os_env.update(environ)
        return CliRunner().invoke(cli, list(args), obj=app, catch_exceptions=False, prog_name="dockerhello", env=os_env)


@pytest.fixture
def dockerhello(tmp_path: Path) -> Dockerhello:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DOCKERHELLO_"))}
    return Dockerhello(environ=environ, state_dir=tmp_path / "state")


@pytest.fixture
def app_name(docker_client: docker.DockerClient) -> Iterator[str]:
    """A unique app name whose containers and images are removed after the test."""
    name = f"dhtest-{uuid.uuid4().hex[:8]}"
    yield name
    for container in docker_client.containers.list(all=True, filters={"label": f"dockerhello.app={name}"}):
        container.remove(force=True)
    for image in docker_client.images.list(name=name):
        docker_client.images.remove(image.id or "", force=True)


def app_containers(client: docker.DockerClient, app: str) -> list[str]:
    return sorted(c.name or "" for c in client.containers.list(all=True, filters={"label": f"dockerhello.app={app}"}))


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
