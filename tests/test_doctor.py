"""`dockerhello doctor`: each check, its fix per OS, and the exit status."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import docker
import pytest

from provision.adapters.docker_machine import DockerMachine
from provision.adapters.engine import Engine
from provision.adapters.engine_model import parse_time
from provision.adapters.vboxmanage import VBoxManage
from provision.process import Runner
from provision.services.doctor import Check, Doctor, HostPlatform, Status
from tests.conftest import Dockerhello, MachineWorld, dockerhello_in


def doctor(
    environ: dict[str, str], tmp_path: Path, cpu_flags: str = "fpu vmx sse", **kwargs: object
) -> dict[str, Check]:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {cpu_flags}\n")
    runner = Runner(environ)
    checks = Doctor(
        DockerMachine(runner), VBoxManage(runner), Engine.connect, environ, cpuinfo=cpuinfo,
        port_is_free=lambda ip, port, proto: True, **kwargs,  # type: ignore[arg-type]
    ).run()  # fmt: skip
    return {check.name: check for check in checks}


def test_all_present(world: MachineWorld, tmp_path: Path, docker_client: object) -> None:
    checks = doctor(world.environ, tmp_path)
    assert checks["docker-machine"] == Check(
        "docker-machine", Status.OK, "docker-machine version 0.16.2, build bd45ab13"
    )
    assert checks["VBoxManage"].detail == (
        "VirtualBox 6.1.50r161033 (host-only networks limited to 192.168.56.0/21: dockerhello's default "
        "192.168.56.1/24 fits)"
    )
    assert checks["hardware virtualisation"].status is Status.OK
    assert checks["engine for the next deploy"].status is Status.OK
    assert checks["engine for the next deploy"].detail.startswith(
        "Docker engine at unix:///var/run/docker.sock: Docker "
    )


def test_old_virtualbox_fails(world: MachineWorld, tmp_path: Path) -> None:
    checks = doctor({**world.environ, "STANDIN_VBOX_VERSION": "4.3.14r95030"}, tmp_path)
    assert checks["VBoxManage"].status is Status.FAIL
    assert checks["VBoxManage"].detail == "4.3.14r95030: docker-machine needs 5 or later"


def test_no_vmx_flag(world: MachineWorld, tmp_path: Path) -> None:
    check = doctor(world.environ, tmp_path, cpu_flags="fpu sse")["hardware virtualisation"]
    assert check.status is Status.WARN
    assert check.detail == "no vmx/svm flag in /proc/cpuinfo: VirtualBox cannot start 64-bit VMs here"


@pytest.mark.parametrize(
    ("system", "machine_fix", "vbox_fix"),
    [
        ("Linux", "put a release of GitLab's maintained fork", "https://www.virtualbox.org/wiki/Linux_Downloads"),
        ("Darwin", "brew install docker-machine", "brew install --cask virtualbox"),
        ("Windows", "choco install docker-machine", "choco install virtualbox"),
    ],
)
def test_fixes_per_os(tmp_path: Path, system: str, machine_fix: str, vbox_fix: str) -> None:
    checks = doctor({"PATH": str(tmp_path)}, tmp_path, host=HostPlatform(system, "x86_64"))
    assert machine_fix in (checks["docker-machine"].fix or "")
    assert "https://gitlab.com/gitlab-org/ci-cd/docker-machine/-/releases" in (checks["docker-machine"].fix or "")
    assert vbox_fix in (checks["VBoxManage"].fix or "")
    # Not needed by a deploy to the local engine: a warning, not a failure.
    assert checks["docker-machine"].status is Status.WARN


def test_apple_silicon_points_to_colima(tmp_path: Path) -> None:
    check = doctor({"PATH": str(tmp_path)}, tmp_path, host=HostPlatform("Darwin", "arm64"))["VBoxManage"]
    assert check.detail == "VirtualBox cannot run boot2docker VMs on Apple Silicon"
    assert "colima" in (check.fix or "")


def test_missing_tools_block_a_deploy_to_a_machine(tmp_path: Path) -> None:
    environ = {"PATH": str(tmp_path), "DOCKER_MACHINE_NAME": "dev", "DOCKER_HOST": "tcp://127.0.0.1:1"}
    checks = doctor(environ, tmp_path)
    assert checks["docker-machine"].status is Status.FAIL and checks["docker-machine"].blocks_deploy


@pytest.fixture
def dh(world: MachineWorld, tmp_path: Path) -> Dockerhello:
    return dockerhello_in(world, tmp_path / "state")


def test_doctor_cli_passes_with_an_engine(dh: Dockerhello, docker_client: object) -> None:
    result = dh("doctor")
    assert result.exit_code == 0, result.stdout
    assert "[  ok] engine for the next deploy  Docker engine at unix:///var/run/docker.sock" in result.stdout
    rows = json.loads(dh("doctor", "--json").stdout)
    assert [row["name"] for row in rows] == [
        "docker-machine", "VBoxManage", "hardware virtualisation", "engine for the next deploy", "port 8000", "base image",
    ]  # fmt: skip


def test_doctor_cli_fails_without_an_engine(dh: Dockerhello, tmp_path: Path) -> None:
    result = dh("doctor", env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert (
        f"[fail] engine for the next deploy  Cannot reach the Docker engine at unix://{tmp_path}/none.sock: no such socket"
        in lines
    )
    assert "[skip] base image                  python:3.12-slim: no engine to look in" in lines


def test_a_configured_base_image_that_is_missing_blocks(dh: Dockerhello, docker_client: object) -> None:
    result = dh("doctor", env={"DOCKERHELLO_BASE_IMAGE": "dhtest/absent:1"})
    assert result.exit_code == 1
    assert (
        "[fail] base image                  DOCKERHELLO_BASE_IMAGE=dhtest/absent:1 is not on the engine"
        in result.stdout
    )


@pytest.mark.parametrize(
    ("tag", "fix"),
    [
        (None, "`sudo dockerhello base build --tag {tag} --rebuild` makes it again from Debian's current packages "
               "(with the --suite it was made with)."),
        ("dhtest/registry-base-{pid}:1", "`dockerhello deploy --pull` builds on its registry's newer version "
                                          "(`docker pull {tag}` fetches it)."),
    ],
    ids=["made by base build", "from a registry"],
)  # fmt: skip
def test_a_base_image_older_than_a_month_is_a_warning_with_the_way_to_a_newer_one(
    world: MachineWorld, tmp_path: Path, docker_client: docker.DockerClient, base_image: str, tag: str | None, fix: str
) -> None:
    image = docker_client.images.get(base_image)
    created = parse_time(str(image.attrs["Created"]))
    assert created is not None
    if tag:  # an image from a registry: the same image under a tag outside dockerhello/python
        tag = tag.format(pid=os.getpid())
        image.tag(tag)
    else:
        tag = base_image
    try:
        environ = {**world.environ, "DOCKERHELLO_BASE_IMAGE": tag}
        fresh = doctor(environ, tmp_path, now=lambda: created + timedelta(days=29))["base image"]
        old = doctor(environ, tmp_path, now=lambda: created + timedelta(days=45, hours=1))["base image"]
    finally:
        if tag != base_image:
            docker_client.images.remove(tag)
    assert fresh == Check("base image", Status.OK, f"{tag} is on the engine")
    assert old == Check("base image", Status.WARN, f"{tag} is on the engine, made 45 days ago", fix.format(tag=tag))
