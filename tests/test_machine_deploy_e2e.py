"""`dockerhello deploy` to a machine: over real TLS (client certificate required) to the real
engine, as docker-machine's env describes it, with the stand-ins on PATH."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import docker
import pytest

from provision.adapters.docker_machine import parse_env
from tests.conftest import REPO, Dockerhello, MachineWorld, dockerhello_in, free_port, release_containers

pytestmark = pytest.mark.docker


@pytest.fixture
def dh(engine_world: MachineWorld, tmp_path: Path) -> Dockerhello:
    result = dockerhello_in(engine_world, tmp_path / "state")("machine", "create", "dev")
    assert result.exit_code == 0, result.stderr
    return dockerhello_in(engine_world, tmp_path / "state")


def get(port: int) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        return bytes(response.read())


def test_deploy_to_a_machine_over_tls_serves_hello_world(
    dh: Dockerhello, tls_engine: Any, docker_client: docker.DockerClient, base_image: str, app_name: str
) -> None:
    port = free_port()
    served_before = tls_engine.served
    result = dh(
        "deploy", str(REPO), "--machine", "dev", "--app", app_name, "--publish", str(port), "--base-image", base_image
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"http://127.0.0.1:{port}/\n"  # the VM's address
    assert (
        f"Deploying {app_name} to the Docker engine at tcp://127.0.0.1:{tls_engine.port} (machine dev)" in result.stderr
    )
    assert f"To reach it at http://localhost:{port}: dockerhello forward-port {port} --machine dev" in result.stderr
    assert get(port) == b"Hello, World!"
    assert tls_engine.served > served_before  # it went through the TLS endpoint
    proxy = docker_client.containers.get(app_name)
    # Inside the VM the app listens on every interface, for VirtualBox's NAT.
    assert (proxy.labels["dockerhello.publish"], proxy.attrs["HostConfig"]["NetworkMode"]) == (
        f"0.0.0.0:{port}",
        "host",
    )
    [release] = release_containers(docker_client, app_name)
    assert "ALLOWED_HOSTS=localhost,127.0.0.1,[::1],127.0.0.1" in release.attrs["Config"]["Env"]
    assert "DOCKER_HOST" not in os.environ  # the user's environment was not changed


def test_deploy_after_eval_of_dockerhello_env(dh: Dockerhello, tls_engine: Any, base_image: str, app_name: str) -> None:
    shell_code = dh("env", "dev").stdout
    variables = parse_env(shell_code)
    assert variables["DOCKER_HOST"] == f"tcp://127.0.0.1:{tls_engine.port}"
    port = free_port()
    result = dh(
        "deploy", str(REPO), "--app", app_name, "--publish", str(port), "--base-image", base_image, env=variables
    )
    assert result.exit_code == 0, result.stderr
    assert "(machine dev)" in result.stderr
    assert get(port) == b"Hello, World!"


def test_deploy_to_a_stopped_machine(dh: Dockerhello, engine_world: MachineWorld) -> None:
    engine_world.tool("docker-machine", "stop", "dev")
    result = dh("deploy", str(REPO), "--machine", "dev")
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        'Error: Machine "dev" is not running',
        "Hint: Start it with `dockerhello machine start dev`.",
    ]


def test_an_unreachable_machine_engine_after_eval_names_machine_start(dh: Dockerhello, tls_engine: Any) -> None:
    port = free_port()  # nothing listens there
    env = {"DOCKER_TLS_VERIFY": "1", "DOCKER_HOST": f"tcp://127.0.0.1:{port}",
           "DOCKER_CERT_PATH": str(tls_engine.certs), "DOCKER_MACHINE_NAME": "dev"}  # fmt: skip
    result = dh("deploy", str(REPO), env=env)
    assert result.exit_code == 3
    assert result.stderr.splitlines()[1:] == [
        f"Error: Cannot reach the Docker engine at tcp://127.0.0.1:{port} (machine dev): connection refused",
        "Hint: Is the machine running? Start it with `dockerhello machine start dev`, then load its environment "
        'again with `eval "$(dockerhello env dev)"`.',
    ]


def test_a_certificate_that_no_longer_matches_the_ip_names_regenerate_certs(dh: Dockerhello, tls_engine: Any) -> None:
    # The VM's address changed after `eval "$(dockerhello env)"`: its certificate names the old one.
    env = {"DOCKER_TLS_VERIFY": "1", "DOCKER_HOST": f"tcp://127.0.0.2:{tls_engine.port}",
           "DOCKER_CERT_PATH": str(tls_engine.certs), "DOCKER_MACHINE_NAME": "dev"}  # fmt: skip
    result = dh("deploy", str(REPO), env=env)
    assert result.exit_code == 3
    assert result.stderr.splitlines()[1:] == [
        f"Error: The TLS certificate of the Docker engine at tcp://127.0.0.2:{tls_engine.port} (machine dev) does not "
        "match it: certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.2'.",
        "Hint: The machine's IP has probably changed since its certificates were made: run `docker-machine "
        "regenerate-certs -f dev` (it restarts the engine; containers come back through their restart policy).",
    ]


def test_the_machine_ca_is_used_even_with_requests_ca_bundle_set(
    dh: Dockerhello, tls_engine: Any, tmp_path: Path
) -> None:
    # Users behind TLS-intercepting proxies set REQUESTS_CA_BUNDLE; requests would let it
    # replace the machine's CA (docker/docker-py#2433).
    other = tmp_path / "other-ca.pem"
    other.write_text((tls_engine.certs / "server.pem").read_text())
    from provision.adapters.engine import connect
    from provision.engine import EngineTarget

    os.environ["REQUESTS_CA_BUNDLE"] = str(other)
    try:
        target = EngineTarget.from_environ(parse_env(dh("env", "dev").stdout))
        assert connect(target).ping() is True
    finally:
        del os.environ["REQUESTS_CA_BUNDLE"]


def test_redeploy_and_rollback_on_a_machine(
    dh: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str, tmp_path: Path
) -> None:
    from tests.test_operate_e2e import fetch, variant

    port = free_port()
    common = ("--machine", "dev", "--app", app_name)
    for text in ("Hello, World!", "Hello again, World!"):
        project = variant(tmp_path, text.split(",")[0].replace(" ", "-"), text)
        result = dh("deploy", str(project), *common, "--publish", str(port), "--base-image", base_image)
        assert result.exit_code == 0, result.stderr
    assert fetch(port)[1] == b"Hello again, World!"
    assert dh("rollback", *common).exit_code == 0
    assert fetch(port)[1] == b"Hello, World!"
    status = json.loads(dh("status", *common, "--json").stdout)
    # The health Docker reports: its own first check of the release comes within an interval
    # (5 s) of the start; the rollback, which ran the check itself, may return before that.
    deadline = time.monotonic() + 15
    while status["health"] == "starting" and time.monotonic() < deadline:
        time.sleep(0.5)
        status = json.loads(dh("status", *common, "--json").stdout)
    assert (status["machine"], status["health"], status["url"]) == ("dev", "healthy", f"http://127.0.0.1:{port}/")
    assert len(release_containers(docker_client, app_name)) == 1


def test_a_project_init_made_deploys_to_a_machine_with_postgres_its_migrations_and_static_files(
    dh: Dockerhello, tls_engine: Any, docker_client: docker.DockerClient, base_image: str, app_name: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    from tests.test_init import startproject

    site = startproject(tmp_path)
    assert dh("init", str(site), "--app", app_name, "--db", "postgres").exit_code == 0
    port = free_port()
    result = dh("deploy", str(site), "--machine", "dev", "--publish", str(port), "--base-image", base_image)
    assert result.exit_code == 0, result.stderr
    assert f"Starting the database {app_name}-db" in result.stderr
    assert "Applying auth.0001_initial... OK" in result.stderr  # the one-off ran on the machine's engine
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=5) as response:
        assert response.status == 200 and b"Log in | Django site admin" in response.read()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/admin/css/base.css", timeout=5) as response:
        assert response.status == 200 and response.headers["Cache-Control"] == "max-age=60, public"
    created = dh("run", "--machine", "dev", "--app", app_name, "--path", str(site), "--",
                 "python", "manage.py", "shell", "-c", "print('tables', __import__('django.db').db.connection.introspection.table_names()[:1])")  # fmt: skip
    assert created.exit_code == 0, created.stderr
    assert "tables ['auth_group']" in created.stdout
    dump = tmp_path / "machine.dump"  # pg_dump's bytes, streamed over the machine's TLS connection
    backup = dh("db", "backup", str(dump), "--machine", "dev", "--app", app_name, "--path", str(site))
    assert backup.exit_code == 0, backup.stderr
    assert dump.read_bytes().startswith(b"PGDMP") and b"auth_group" in dump.read_bytes()
