"""After its engine restarts, the app serves again: the proxy and the same release come back
through their restart policies. On an engine of the test's own, never the user's."""

from __future__ import annotations

import os
import time
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


def test_after_the_engine_restarts_the_same_release_serves_again(
    own_engine: OwnEngine, dockerhello: Dockerhello, tmp_path: Path, base_image: str
) -> None:
    project = tmp_path / "hello"
    project.mkdir()
    (project / "Dockerfile").write_text(DOCKERFILE)
    (project / "app.py").write_text(APP_PY)
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


def test_after_the_engine_restarts_the_database_serves_the_same_rows(
    own_engine: OwnEngine, dockerhello: Dockerhello, tmp_path: Path, base_image: str
) -> None:
    project = tmp_path / "kept"
    project.mkdir()
    (project / "Dockerfile").write_text(DOCKERFILE)
    (project / "app.py").write_text(APP_PY)
    env = {"DOCKER_HOST": own_engine.host}
    where = ("--app", "kept", "--path", str(project))
    result = dockerhello("deploy", str(project), "--app", "kept", "--publish", "0.0.0.0:18001", "--db", "postgres",
                         "--no-migrate", "--base-image", base_image, env=env)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    written = dockerhello("db", "shell", *where, env=env,
                          stdin="CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept');")  # fmt: skip
    assert written.exit_code == 0, written.stdout + written.stderr

    own_engine.restart()

    deadline = time.monotonic() + 90
    read = written
    while time.monotonic() < deadline:
        read = dockerhello("db", "shell", *where, env=env, stdin="SELECT body FROM notes;")
        if read.exit_code == 0:
            break
        time.sleep(1)
    assert read.exit_code == 0, read.stdout + read.stderr
    assert [line.strip() for line in read.stdout.splitlines()][:4] == ["body", "------", "kept", "(1 row)"]
    assert fetch(18001, own_engine.ADDRESS)[0] == 200
