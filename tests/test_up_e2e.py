"""`dockerhello up`: machine, port forward and deploy in one command, safe to repeat."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.app import App
from provision.cli import cli
from tests.conftest import REPO, MachineWorld, dockerhello_in, free_port

pytestmark = pytest.mark.docker


def get(port: int) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        return bytes(response.read())


def test_up_creates_the_machine_forwards_the_port_and_deploys(
    engine_world: MachineWorld, tmp_path: Path, base_image: str, app_name: str
) -> None:
    dh = dockerhello_in(engine_world, tmp_path / "state")
    port = free_port()
    args = ("up", str(REPO), "--app", app_name, "--port", str(port), "--base-image", base_image, "--machine", "dev")
    result = dh(*args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"http://localhost:{port}/\n"
    assert "Up on machine dev." in result.stderr
    assert next(c for c in engine_world.calls("docker-machine") if c[1] == "create")[-1] == "dev"
    assert [
        "VBoxManage",
        "controlvm",
        "dev",
        "natpf1",
        f"tcp-port{port},tcp,127.0.0.1,{port},,{port}",
    ] in engine_world.calls("VBoxManage")
    assert get(port) == b"Hello, World!"

    engine_world.forget_calls()
    again = dh(*args)
    assert again.exit_code == 0, again.stderr
    assert 'Machine "dev" already exists and is running.' in again.stderr
    assert not any(c[1] == "create" for c in engine_world.calls("docker-machine"))
    assert not any(c[1] in ("controlvm", "modifyvm") for c in engine_world.calls("VBoxManage"))
    assert get(port) == b"Hello, World!"


def test_up_without_virtualbox_deploys_locally_and_says_so(
    world: MachineWorld, tmp_path: Path, base_image: str, app_name: str
) -> None:
    environ = {**world.environ, "PATH": os.environ["PATH"]}  # no stand-ins: no VirtualBox here
    opened: list[str] = []

    def open_url(url: str) -> bool:
        opened.append(url)
        return True

    app = App(environ=environ, state_dir=tmp_path / "state", open_url=open_url)
    port = free_port()
    result = CliRunner().invoke(
        cli, ["up", str(REPO), "--app", app_name, "--port", str(port), "--base-image", base_image, "--open"],
        obj=app, prog_name="dockerhello",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(
        "Warning: docker-machine and VirtualBox are not both installed here (`dockerhello doctor` says how): "
        "deploying to the local engine instead, the Docker engine at unix:///var/run/docker.sock."
    )
    assert result.stdout == f"http://localhost:{port}/\n"
    assert opened == [f"http://localhost:{port}/"]
    assert get(port) == b"Hello, World!"
