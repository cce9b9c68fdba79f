"""Failed requests during a redeploy: dockerhello's health-gated proxy switch, against the
recreate that docker compose does (stop the old container, start the new one on the same
port, wait until it answers), with the same image, under the same steady load.

Load: 3 client threads that each send one request at a time on a fresh connection, and 3 that
each keep one connection open and send every request on it (as browsers and HTTP clients
do), to 127.0.0.1 only, for a bounded time around each redeploy. A keep-alive client here is
strict: a request that fails on its open connection is counted, not retried.
"""

from __future__ import annotations

import http.client
import os
import sys
import tempfile
import threading
import time

import docker
from common import BASE, REPO, dockerhello, free_port


class Load:
    def __init__(self, port: int, threads: int = 3, keepalive: bool = False) -> None:
        self.port = port
        self.keepalive = keepalive
        self.ok = 0
        self.failed = 0
        self.connections = 0
        self.first_failure: float | None = None
        self.last_failure: float | None = None
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def run(self) -> None:
        deadline = time.monotonic() + 300
        conn: http.client.HTTPConnection | None = None
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                    conn.connect()
                    with self.lock:
                        self.connections += 1
                conn.request("GET", "/", headers={"Host": f"localhost:{self.port}"})
                response = conn.getresponse()
                response.read()
                good = response.status == 200
                if not self.keepalive or response.will_close:
                    conn.close()
                    conn = None
            except OSError:
                good = False
                if conn is not None:
                    conn.close()
                conn = None
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


class Loads:
    """Fresh-connection clients and keep-alive clients, at once."""

    def __init__(self, port: int) -> None:
        self.fresh = Load(port)
        self.kept = Load(port, keepalive=True)

    def __enter__(self) -> Loads:
        self.fresh.__enter__()
        self.kept.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.fresh.__exit__()
        self.kept.__exit__()


def recreate(client: docker.DockerClient, image: str, port: int) -> Loads:
    """The baseline: one container on the port, replaced by stop + run."""
    env = {"SECRET_KEY": "bench-" + "x" * 60}
    old = client.containers.run(image, detach=True, ports={"8000/tcp": ("127.0.0.1", port)}, environment=env)
    wait_answers(port)
    try:
        with Loads(port) as loads:
            old.stop(timeout=30)
            old.remove()
            old = client.containers.run(image, detach=True, ports={"8000/tcp": ("127.0.0.1", port)}, environment=env)
            wait_answers(port)
        return loads
    finally:
        old.remove(force=True)


def main() -> None:
    client = docker.from_env()
    name = f"bench-{os.getpid()}"
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        deploy = ["deploy", str(REPO), "--app", name, "--publish", str(port), "--base-image", BASE]
        try:
            dockerhello(deploy, home)
            image = f"{name}:latest"
            with Loads(port) as switched:
                dockerhello(deploy, home)
            recreated = recreate(client, image, free_port())
        finally:
            dockerhello(["down", "--app", name, "--images", "--path", str(REPO)], home)
    print(f"{'strategy':<28}{'clients':<12}{'requests':>10}{'failed':>8}{'outage':>10}{'connections':>13}")
    for label, loads in (("recreate (baseline)", recreated), ("dockerhello proxy switch", switched)):
        for kind, load in (("fresh", loads.fresh), ("keep-alive", loads.kept)):
            print(f"{label:<28}{kind:<12}{load.ok + load.failed:>10}{load.failed:>8}{load.outage_ms():>8.0f}ms"
                  f"{load.connections:>13}")  # fmt: skip
    failed = switched.fresh.failed + switched.kept.failed
    verdict = "OK" if failed == 0 else "REGRESSION"
    print(f"{verdict}: the switch failed {failed} requests "
          f"(keep-alive clients opened {switched.kept.connections} connections for 3 clients); "
          f"recreate failed {recreated.fresh.failed + recreated.kept.failed}")  # fmt: skip
    sys.exit(0 if failed == 0 else 1)


if __name__ == "__main__":
    main()
