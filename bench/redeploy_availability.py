"""Failed requests during a redeploy: dockerhello's health-gated proxy switch, against the
recreate that docker compose does (stop the old container, start the new one on the same
port, wait until it answers), with the same image, under the same steady load.

Load: 3 client threads, each one request at a time on a fresh connection, to 127.0.0.1 only,
for a bounded time around each redeploy.
"""

from __future__ import annotations

import http.client
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import docker  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from provision.app import App  # noqa: E402
from provision.cli import cli  # noqa: E402

BASE = os.environ.get("DOCKERHELLO_BASE_IMAGE", "dockerhello/python:trixie")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Load:
    def __init__(self, port: int, threads: int = 3) -> None:
        self.port = port
        self.ok = 0
        self.failed = 0
        self.first_failure: float | None = None
        self.last_failure: float | None = None
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def run(self) -> None:
        deadline = time.monotonic() + 300
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/", headers={"Host": f"localhost:{self.port}"})
                good = conn.getresponse().status == 200
                conn.close()
            except OSError:
                good = False
            with self.lock:
                if good:
                    self.ok += 1
                else:
                    self.failed += 1
                    now = time.monotonic()
                    self.first_failure = self.first_failure or now
                    self.last_failure = now
            if not good:
                time.sleep(0.01)  # a refused connection returns at once: do not spin

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        time.sleep(1)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(1)
        self.stop.set()
        for t in self.threads:
            t.join()

    def outage_ms(self) -> float:
        if self.first_failure is None or self.last_failure is None:
            return 0.0
        return (self.last_failure - self.first_failure) * 1000


def wait_answers(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/", headers={"Host": "localhost"})
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port}")


def recreate(client: docker.DockerClient, image: str, port: int) -> Load:
    """The baseline: one container on the port, replaced by stop + run."""
    env = {"SECRET_KEY": "bench-" + "x" * 60}
    old = client.containers.run(image, detach=True, ports={"8000/tcp": ("127.0.0.1", port)}, environment=env)
    wait_answers(port)
    try:
        with Load(port) as load:
            old.stop(timeout=30)
            old.remove()
            old = client.containers.run(image, detach=True, ports={"8000/tcp": ("127.0.0.1", port)}, environment=env)
            wait_answers(port)
        return load
    finally:
        old.remove(force=True)


def dockerhello(args: list[str], home: str) -> None:
    app = App.create({**os.environ, "DOCKERHELLO_HOME": home}, state_dir=Path(home))
    result = CliRunner().invoke(cli, ["-q", *args], obj=app, prog_name="dockerhello")
    if result.exit_code != 0:
        raise SystemExit(result.stderr)


def main() -> None:
    client = docker.from_env()
    name = f"bench-{os.getpid()}"
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        deploy = ["deploy", str(REPO), "--app", name, "--publish", str(port), "--base-image", BASE]
        try:
            dockerhello(deploy, home)
            image = f"{name}:latest"
            with Load(port) as switched:
                dockerhello(deploy, home)
            recreated = recreate(client, image, free_port())
        finally:
            dockerhello(["down", "--app", name, "--images", "--path", str(REPO)], home)
    print(f"{'strategy':<28}{'requests':>10}{'failed':>8}{'outage':>10}")
    for label, load in (("recreate (baseline)", recreated), ("dockerhello proxy switch", switched)):
        print(f"{label:<28}{load.ok + load.failed:>10}{load.failed:>8}{load.outage_ms():>8.0f}ms")
    verdict = "OK" if switched.failed == 0 else "REGRESSION"
    print(f"{verdict}: the switch failed {switched.failed} requests; recreate failed {recreated.failed}")
    sys.exit(0 if switched.failed == 0 else 1)


if __name__ == "__main__":
    main()
