"""`dockerhello up`: machine, port forward and deploy in one command, safe to repeat."""

from __future__ import annotations

import os
import urllib.request
import uuid
from pathlib import Path

import docker
import pytest
from click.testing import CliRunner

from provision.app import App
from provision.cli import cli
from tests.conftest import (
    REPO,
    MachineWorld,
    copy_project,
    dockerhello_in,
    free_port,
    release_containers,
    remove_app,
)

pytestmark = pytest.mark.docker


def get(port: int) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        return bytes(response.read())


def test_up_creates_the_machine_forwards_the_port_and_deploys(
    engine_world: MachineWorld, tmp_path: Path, base_image: str, app_name: str
) -> None:
    dh = dockerhello_in(engine_world, tmp_path / "state")
    port = free_port()
    args = ("up", str(REPO), "--app", app_name, "--publish", str(port), "--base-image", base_image, "--machine", "dev")
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

    app = App.create(environ, state_dir=tmp_path / "state", open_url=open_url)
    port = free_port()
    result = CliRunner().invoke(
        cli, ["up", str(REPO), "--app", app_name, "--publish", str(port), "--base-image", base_image, "--open"],
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


def test_up_and_deploy_give_the_container_the_same_settings(
    world: MachineWorld, tmp_path: Path, base_image: str, docker_client: docker.DockerClient
) -> None:
    """Every setting, from the project's file, a variable and a flag, reaches the release
    container the same way whether `deploy` or `up` (on the local engine here) ran."""
    project = copy_project(tmp_path / "project")
    (project / "prod.env").write_text("FROM_ENV_FILE=file-value\n")
    (project / "dockerhello.toml").write_text(
        f'base_image = "{base_image}"\nhealth_timeout = 90\nkeep = 2\nmemory = "300m"\ncpus = 0.5\n'
        "read_only = false\ndrop_capabilities = false\nno_new_privileges = false\nallow_root = true\n"
        'env_file = "prod.env"\n[env]\nFROM_TABLE = "table-value"\n'
    )
    environ = {**world.environ, "PATH": os.environ["PATH"], "DOCKERHELLO_ENV": "FROM_VARIABLE=variable-value"}

    def layers(image: str) -> list[str]:
        return list(docker_client.images.get(image).attrs["RootFS"]["Layers"])

    seen = {}
    for command in ("deploy", "up"):
        app = f"dhsame-{command}-{uuid.uuid4().hex[:6]}"
        argv = [command, str(project), "--app", app, "--publish", str(free_port()), "--env", "FROM_FLAG=flag-value"]
        try:
            result = CliRunner().invoke(
                cli, argv, obj=App.create(environ, state_dir=tmp_path / "state"), prog_name="dockerhello",
                env={**environ, "DOCKERHELLO_ENV": "FROM_VARIABLE=variable-value"},
            )  # fmt: skip
            assert result.exit_code == 0, result.stderr
            (container,) = release_containers(docker_client, app)
            host, config = container.attrs["HostConfig"], container.attrs["Config"]
            env = dict(item.partition("=")[::2] for item in config["Env"])
            seen[command] = {
                "env": {k: v for k, v in env.items() if k.startswith("FROM_")},
                "memory": host["Memory"], "cpus": host["NanoCpus"], "read_only": host["ReadonlyRootfs"],
                "cap_drop": host["CapDrop"], "security_opt": host["SecurityOpt"], "user": config["User"],
                "on base": layers(config["Image"])[: len(layers(base_image))] == layers(base_image),
            }  # fmt: skip
        finally:
            remove_app(docker_client, app)
    assert seen["deploy"] == seen["up"]
    # The file's table, then its env_file, then --env (the flag replaces the variable), as the
    # README's order says; built on the file's base image.
    assert seen["deploy"]["on base"] is True
    assert seen["deploy"]["env"] == {"FROM_TABLE": "table-value", "FROM_ENV_FILE": "file-value",
                                     "FROM_FLAG": "flag-value"}  # fmt: skip
    assert (seen["deploy"]["memory"], seen["deploy"]["cpus"]) == (300 * 1024**2, 500_000_000)
    # allow_root: no UID imposed, so the image's own USER stands.
    assert (seen["deploy"]["read_only"], seen["deploy"]["cap_drop"], seen["deploy"]["security_opt"]) == (
        False, None, None)  # fmt: skip
    assert seen["deploy"]["user"] == "10001:10001"
