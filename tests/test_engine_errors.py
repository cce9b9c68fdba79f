"""Every engine error reaches the user as one `Error:` line with its cause, whichever command
met it: something that is not a Docker engine, TLS material that cannot be used, an engine
that refuses a request (in its own words), a resource limit it refuses.

The engine here is a small HTTP server that answers as the Docker API does where the tests
need it to, and fails where they need it to fail: a real engine cannot be made to fail on
demand in the middle of `down` or `prune`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from provision.adapters.engine.client import Engine
from provision.engine import EngineTarget
from tests.conftest import Dockerhello


class FakeEngine(BaseHTTPRequestHandler):
    """/_ping and /version as Engine 20.10 answers; everything else a 500 in the engine's form."""

    docker = True
    info = False  # True: /info answers too, as Engine 20.10 does on a 2-CPU host
    seen: list[str]  # the paths asked, in order (a list per server)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def _answer(self) -> None:
        path = self.path.split("?")[0]
        self.seen.append(path)
        if not self.docker:
            self._send(404, b"<html><body><h1>404 Not Found</h1><p>nginx</p></body></html>", "text/html")
        elif path.endswith("/_ping"):
            self._send(200, b"OK", "text/plain")
        elif path.endswith("/version"):
            self._send(200, json.dumps({"ApiVersion": "1.41", "Version": "20.10.24"}).encode(), "application/json")
        elif self.info and path.endswith("/info"):
            facts = {"NCPU": 2, "MemTotal": 4 << 30, "OperatingSystem": "Debian GNU/Linux 13 (trixie)"}
            self._send(200, json.dumps(facts).encode(), "application/json")
        else:
            body = json.dumps({"message": "write /var/lib/docker/tmp: no space left on device"}).encode()
            self._send(500, body, "application/json")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serve(docker: bool, info: bool = False, seen: list[str] | None = None) -> Iterator[str]:
    handler = type("Handler", (FakeEngine,), {"docker": docker, "info": info, "seen": [] if seen is None else seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def failing_engine() -> Iterator[str]:
    yield from serve(docker=True)


@pytest.fixture
def web_server() -> Iterator[str]:
    yield from serve(docker=False)


@pytest.mark.parametrize(
    "argv",
    [
        ("status", "--app", "web"),
        ("logs", "--app", "web"),
        ("down", "--app", "web"),
        ("prune", "--app", "web"),
        ("rollback", "--app", "web"),
    ],
)
def test_an_engine_that_refuses_is_quoted_in_one_line(
    dockerhello: Dockerhello, failing_engine: str, argv: tuple[str, ...]
) -> None:
    result = dockerhello(*argv, env={"DOCKER_HOST": failing_engine})
    assert "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        f"Error: The Docker engine at {failing_engine} refused: write /var/lib/docker/tmp: no space left on device",
        "Hint: That is the engine's own message; `dockerhello --debug` shows more.",
    ]
    assert result.exit_code == 1


def test_something_that_is_not_docker_is_named_as_such(dockerhello: Dockerhello, web_server: str) -> None:
    result = dockerhello("status", "--app", "web", env={"DOCKER_HOST": web_server})
    assert result.stderr.splitlines() == [
        f"Error: What answers at {web_server} is not a Docker engine (HTTP 404 for /version)",
        "Hint: Check DOCKER_HOST: it must name a Docker engine's socket or TCP address.",
    ]
    assert "<html>" not in result.output
    assert result.exit_code == 3


def test_garbage_certificates_are_named_not_blamed_on_the_engine(
    dockerhello: Dockerhello, web_server: str, tmp_path: Path
) -> None:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("this is not a certificate\n")
    env = {"DOCKER_HOST": web_server, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)}
    result = dockerhello("status", "--app", "web", env=env)
    lines = result.stderr.splitlines()
    assert lines[0].startswith(
        f"Error: The TLS certificates in {tmp_path} cannot be used for the Docker engine at {web_server}: "
    )
    assert lines[1] == "Hint: Check DOCKER_CERT_PATH: it must hold ca.pem, cert.pem and key.pem for this engine."
    assert result.exit_code == 3


def test_missing_certificates(dockerhello: Dockerhello, web_server: str, tmp_path: Path) -> None:
    env = {"DOCKER_HOST": web_server, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path / "none")}
    result = dockerhello("status", "--app", "web", env=env)
    assert result.stderr.splitlines()[0].startswith(f"Error: Cannot use the TLS certificates in {tmp_path / 'none'}: ")
    assert result.exit_code == 3


def test_a_refused_resource_limit_says_which_option_to_change() -> None:
    import docker.errors
    import requests

    from provision.adapters.engine import translate
    from provision.engine import EngineTarget
    from provision.errors import ExitCode

    response = requests.Response()
    response.status_code = 400
    said = "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
    error = translate(EngineTarget(), docker.errors.APIError("400", response=response, explanation=said))
    assert error.message == f"The Docker engine at unix:///var/run/docker.sock refused the resource limits: {said}"
    assert error.hint is not None and error.hint.startswith("Change --memory or --cpus")
    assert error.exit_code is ExitCode.DEPLOY_FAILED


# What engines said when a container's command could not be started: Engine 28 (runc 1.2),
# Engine 19.03 (runc 1.0-rc, as on boot2docker VMs), and the exit status `docker run` gives each.
REFUSED_COMMANDS = [
    ('failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: '
     'exec: "nosuchcmd": executable file not found in $PATH: unknown',
     'Error: The command "nosuchcmd" is not in the image: executable file not found in $PATH', 127),
    ('failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: '
     'exec: "/nonexistent/x": stat /nonexistent/x: no such file or directory: unknown',
     'Error: The command "/nonexistent/x" is not in the image: no such file or directory', 127),
    ('failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: '
     'exec: "/etc/hosts": permission denied: unknown',
     'Error: The command "/etc/hosts" cannot be run in the container: permission denied', 126),
    ('OCI runtime create failed: container_linux.go:349: starting container process caused '
     '"exec: \\"latex\\": executable file not found in $PATH": unknown',
     'Error: The command "latex" is not in the image: executable file not found in $PATH', 127),
    ('OCI runtime create failed: container_linux.go:348: starting container process caused '
     '"exec: \\"/entrypoint.sh\\": permission denied": unknown',
     'Error: The command "/entrypoint.sh" cannot be run in the container: permission denied', 126),
]  # fmt: skip


@pytest.mark.parametrize(("said", "line", "status"), REFUSED_COMMANDS)
def test_a_command_the_engine_cannot_start_exits_as_docker_run_does(said: str, line: str, status: int) -> None:
    import docker.errors
    import requests

    from provision.adapters.engine import translate
    from provision.engine import EngineTarget

    response = requests.Response()
    response.status_code = 400
    error = translate(EngineTarget(), docker.errors.APIError("400", response=response, explanation=said))
    assert (f"Error: {error.message}", int(error.exit_code)) == (line, status)
    assert error.hint is not None


def test_other_refusals_to_start_are_quoted() -> None:
    """A mount or a network that fails at the start is the engine's own words, exit 1."""
    import docker.errors
    import requests

    from provision.adapters.engine import translate
    from provision.engine import EngineTarget

    response = requests.Response()
    response.status_code = 500
    said = ("failed to create task for container: failed to create shim task: OCI runtime create failed: error mounting "
            '"/srv/x" to rootfs at "/data": no such file or directory: unknown')  # fmt: skip
    error = translate(EngineTarget(), docker.errors.APIError("500", response=response, explanation=said))
    assert error.message == f"The Docker engine at unix:///var/run/docker.sock refused: {said}"
    assert int(error.exit_code) == 1


def test_the_engine_version_is_asked_once() -> None:
    """The API version negotiation's /version answer is also what info() reports: asking it
    again would cost every command a round trip, over a machine's TLS one of the slower ones."""
    seen: list[str] = []
    server = serve(docker=True, info=True, seen=seen)
    try:
        engine = Engine.connect(EngineTarget(host=next(server)))
        info = engine.info()
        assert (info.version, info.api_version, info.cpus) == ("20.10.24", "1.41", 2)
        engine.info()
    finally:
        next(server, None)  # shuts the server down
    assert seen == ["/version", "/v1.41/info"]
