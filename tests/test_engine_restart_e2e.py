"""On an engine of the test's own, never the user's, reached as another host's: a deploy
published on that host's loopback, and, after the engine restarts, the app serving again (the
proxy and the same release come back through their restart policies)."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from provision.adapters.engine import Engine
from provision.console import Console
from provision.engine import EngineTarget
from provision.services.database import POSTGRES_IMAGE
from provision.services.proxy import Proxy
from tests.conftest import Dockerhello
from tests.own_engine import OwnEngine
from tests.test_init import startproject
from tests.test_operate_e2e import fetch

pytestmark = pytest.mark.docker

# An app that needs no package index: the engine of our own reaches none.
APP_PY = """\
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"Hello, World!"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("0.0.0.0", 8000), Hello).serve_forever()
"""
CREATE_USER = "from django.contrib.auth.models import User; User.objects.create_user('kept')"
COUNT_USERS = "from django.contrib.auth.models import User; print('users', User.objects.count())"
DOCKERFILE = """\
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}
COPY app.py /app.py
USER 10001:10001
HEALTHCHECK --interval=2s --timeout=2s --retries=3 CMD ["python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/', timeout=2)"]
CMD ["python3", "/app.py"]
"""


@pytest.fixture(scope="module")
def own_engine(docker_client: docker.DockerClient, base_image: str) -> Iterator[OwnEngine]:
    if os.geteuid() != 0:
        pytest.skip("starting a dockerd of the tests' own needs root")
    engine = OwnEngine()
    try:
        engine.start()
        # The proxy image is built where a Debian mirror is reachable, then loaded with the base.
        here = Engine(docker_client, EngineTarget())
        proxy_image = Proxy(here, Console(quiet=True)).ensure_image(base_image)
        database_image = POSTGRES_IMAGE.ensure(here, Console(quiet=True), base_image)
        engine.load(docker_client, base_image, proxy_image, database_image)
        yield engine
    finally:
        engine.close()


def hello_project(tmp_path: Path) -> Path:
    """APP_PY with its DOCKERFILE: a project that needs no package index."""
    project = tmp_path / "hello"
    project.mkdir()
    (project / "Dockerfile").write_text(DOCKERFILE)
    (project / "app.py").write_text(APP_PY)
    return project


def test_on_a_remote_engine_a_loopback_publish_deploys_and_says_how_to_reach_it(
    own_engine: OwnEngine, dockerhello: Dockerhello, tmp_path: Path, base_image: str
) -> None:
    project = hello_project(tmp_path)
    env = {"DOCKER_HOST": own_engine.host}  # another host's engine, as this host reaches it
    result = dockerhello("deploy", str(project), "--app", "looped", "--publish", "18002", "--base-image", base_image,
                         env=env)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "http://127.0.0.1:18002/\n"  # on that host
    assert result.stderr.splitlines()[-2:-1] == [(
        f"Warning: looped is published on 127.0.0.1:18002 of the engine's host {own_engine.ADDRESS}, which only "
        f"that host reaches: `ssh -N -L 18002:127.0.0.1:18002 USER@{own_engine.ADDRESS}` brings it here; "
        "--publish 0.0.0.0:18002 opens it to the network")]  # fmt: skip
    with pytest.raises(OSError):
        fetch(18002, own_engine.ADDRESS)  # from this host: not open to the network
    there = subprocess.run(["ip", "netns", "exec", own_engine.netns, "python3", "-c",
                            "import urllib.request as u; print(u.urlopen('http://127.0.0.1:18002/', timeout=5).read())"],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert there.stdout == "b'Hello, World!'\n", there.stderr
    status = dockerhello("status", "--app", "looped", env=env)
    assert "\nURL        http://127.0.0.1:18002/\n" in status.stdout
    assert dockerhello("down", "--app", "looped", env=env).exit_code == 0


def test_after_the_engine_restarts_the_same_release_serves_again(
    own_engine: OwnEngine, dockerhello: Dockerhello, tmp_path: Path, base_image: str
) -> None:
    project = hello_project(tmp_path)
    port = 18000
    env = {"DOCKER_HOST": own_engine.host}
    result = dockerhello("deploy", str(project), "--app", "restarted", "--publish", f"0.0.0.0:{port}",
                         "--base-image", base_image, env=env)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"http://{own_engine.ADDRESS}:{port}/\n"
    status, body, release = fetch(port, own_engine.ADDRESS)
    assert (status, body) == (200, b"Hello, World!")

    own_engine.restart()

    deadline = time.monotonic() + 90
    answer: tuple[int, bytes, str | None] | str = "nothing"
    while time.monotonic() < deadline:
        try:
            answer = fetch(port, own_engine.ADDRESS)
            if answer[0] == 200:
                break
        except OSError as exc:
            answer = repr(exc)
        time.sleep(1)
    assert answer == (200, b"Hello, World!", release)


def test_after_the_engine_restarts_a_django_project_on_postgres_has_its_rows(
    own_engine: OwnEngine, dockerhello: Dockerhello, docker_client: docker.DockerClient, tmp_path: Path,
    base_image: str,
) -> None:  # fmt: skip
    site = startproject(tmp_path)
    assert dockerhello("init", str(site), "--app", "kept", "--db", "postgres").exit_code == 0
    # The engine of our own reaches no package index: the project's image is built here, as
    # init wrote it, and loaded there, where the project deployed is that image.
    tag = f"dhtest-prebuilt-{uuid.uuid4().hex[:8]}:1"
    docker_client.images.build(path=str(site), buildargs={"BASE_IMAGE": base_image}, tag=tag, rm=True)
    try:
        own_engine.load(docker_client, tag)
    finally:
        docker_client.images.remove(tag, force=True)
    (site / "Dockerfile").write_text(f"ARG BASE_IMAGE\nFROM {tag}\n")
    env = {"DOCKER_HOST": own_engine.host}
    result = dockerhello("deploy", str(site), "--publish", "0.0.0.0:18001", "--base-image", base_image, env=env)
    assert result.exit_code == 0, result.stderr
    assert "Applying auth.0001_initial... OK" in result.stderr  # into the server on that engine
    run = ("run", "--path", str(site), "--", "python", "manage.py", "shell", "-c")
    created = dockerhello(*run, CREATE_USER, env=env)
    assert created.exit_code == 0, created.stdout + created.stderr

    own_engine.restart()

    deadline = time.monotonic() + 90
    counted = created
    while time.monotonic() < deadline:
        counted = dockerhello(*run, COUNT_USERS, env=env)
        if counted.exit_code == 0:
            break
        time.sleep(1)
    assert "users 1" in counted.stdout.splitlines(), counted.stdout + counted.stderr
    request = urllib.request.Request(f"http://{own_engine.ADDRESS}:18001/admin/login/", headers={"Host": "localhost"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200 and b"Log in | Django site admin" in response.read()
