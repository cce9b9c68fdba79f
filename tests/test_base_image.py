"""`dockerhello base build`'s refusals, before anything is installed. (The build itself runs in
every CI run that starts without the base image, through scripts/setup, and the end-to-end
tests deploy on what it made.)"""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from provision.adapters.engine import Engine
from provision.adapters.host import Debootstrap
from provision.console import Console
from provision.engine import EngineTarget
from provision.errors import DockerHelloError, ToolNotFound
from provision.process import Runner
from provision.services.base_image import BaseImageBuilder, BaseImageSpec

pytestmark = pytest.mark.docker

SPEC = BaseImageSpec(tag="dhtest/never-built:1")


def test_without_root_it_says_to_use_sudo(docker_client: docker.DockerClient) -> None:
    builder = BaseImageBuilder(
        Debootstrap(Runner()), Engine(docker_client, EngineTarget()), Console(quiet=True), is_root=lambda: False
    )
    if builder.debootstrap.runner.which("debootstrap") is None:
        pytest.fail("debootstrap is not installed: scripts/setup installs it")
    with pytest.raises(DockerHelloError) as raised:
        builder.build(SPEC)
    assert (raised.value.message, raised.value.hint) == (
        "debootstrap needs root to build the base image's filesystem",
        "Run it with sudo: `sudo dockerhello base build`.",
    )


def test_without_debootstrap_it_says_how_to_install_it(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    builder = BaseImageBuilder(
        Debootstrap(Runner({"PATH": str(tmp_path)})),
        Engine(docker_client, EngineTarget()),
        Console(quiet=True),
        is_root=lambda: True,
    )
    with pytest.raises(ToolNotFound) as raised:
        builder.build(SPEC)
    assert (raised.value.message, raised.value.hint) == (
        "debootstrap not found on PATH",
        "Install it: `sudo apt-get install debootstrap`.",
    )


def test_a_missing_ca_certificate_file_is_named(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    builder = BaseImageBuilder(
        Debootstrap(Runner()), Engine(docker_client, EngineTarget()), Console(quiet=True), is_root=lambda: True
    )
    with pytest.raises(DockerHelloError) as raised:
        builder.build(BaseImageSpec(tag=SPEC.tag, ca_certs=(tmp_path / "proxy-ca.pem",)))
    assert raised.value.message == f"CA certificate file {tmp_path / 'proxy-ca.pem'} does not exist"


def test_an_existing_image_is_not_built_again(docker_client: docker.DockerClient, base_image: str) -> None:
    # No debootstrap on this PATH: reaching it would fail the test.
    builder = BaseImageBuilder(
        Debootstrap(Runner({"PATH": "/nonexistent"})), Engine(docker_client, EngineTarget()), Console(quiet=True)
    )
    assert builder.build(BaseImageSpec(tag=base_image)) is False
