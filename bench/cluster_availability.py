"""Failed requests on a Swarm of three engines: during a rolling update (`deploy --cluster`,
start-first, one task at a time), with 3 replicas and with 1, and during a drain of a node
(`cluster drain`), against the baseline of the same 1-replica service updated stop-first
(`docker service update --update-order stop-first`, Swarm's default), under the same load.

The cluster is the tests' (`tests/swarm_cluster.py`): three dockerd in network namespaces
on one bridge, TLS, listed as machines by the stand-in docker-machine. Load: 3 clients on fresh
connections and 3 on kept-alive ones, against node 1's port 8000 (the node `forward-port`
would point at); the drain takes node 2. Needs root (network namespaces), a Docker engine on
this host and the base image: `sudo .venv/bin/python bench/cluster_availability.py`.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import docker
from common import BASE, REPO, copy_project

from tests.conftest import dockerhello_in, make_world
from tests.load import Load
from tests.swarm_cluster import SwarmCluster


def report(what: str, load: Load, seconds: float) -> None:
    failures = ", ".join(f"{kind} {n}" for kind, n in load.failures.items()) or "none"
    failed = sum(load.failures.values())
    print(f"{what:<44} {load.requests:>7} requests  {failed:>5} failed ({failures})  {seconds:5.1f} s")


def update_status(client: docker.DockerClient) -> dict[str, str]:
    service = client.api.inspect_service("hello-web")  # type: ignore[no-untyped-call]
    return dict(service.get("UpdateStatus") or {})


def main() -> int:
    host = docker.from_env()
    cluster = SwarmCluster()
    work = Path(tempfile.mkdtemp(prefix="dh-cluster-bench-"))
    try:
        cluster.start()
        cluster.nodes[0].load(host, BASE)
        world = make_world(work / "world", port=2376, certs=cluster.certs)
        world.environ["STANDIN_MACHINE_IP"] = ",".join(n.address for n in cluster.nodes)
        dh = dockerhello_in(world, work / "state")
        project = copy_project(work / "project")
        run = dh("cluster", "create", "web", "--nodes", "3")
        assert run.exit_code == 0, run.stderr
        deploy = ("deploy", str(project), "--cluster", "web", "--app", "hello", "--base-image", BASE)
        started = time.monotonic()
        run = dh(*deploy)
        assert run.exit_code == 0, run.stderr
        print(f"first deploy (build, images to 2 nodes, 3 replicas): {time.monotonic() - started:.1f} s")
        print(next((line for line in run.stderr.splitlines() if line.startswith("Images sent")), ""))
        node1 = cluster.nodes[0].address
        views = project / "helloworld" / "views.py"

        views.write_text(views.read_text().replace("Hello, World!", "Hello, Swarm!"))
        with Load(node1, 8000) as load:
            started = time.monotonic()
            run = dh(*deploy)
            seconds = time.monotonic() - started
            time.sleep(3)
        assert run.exit_code == 0, run.stderr
        print(next((line for line in run.stderr.splitlines() if line.startswith("Images sent")), ""))
        report("rolling update, start-first (dockerhello)", load, seconds)

        # One replica: what a single container's redeploy is, with and without start-first.
        views.write_text(views.read_text().replace("Hello, Swarm!", "Hello, one!"))
        with Load(node1, 8000) as load:
            started = time.monotonic()
            run = dh(*deploy, "--replicas", "1")
            seconds = time.monotonic() - started
            time.sleep(3)
        assert run.exit_code == 0, run.stderr
        report("1 replica, start-first (dockerhello)", load, seconds)

        client = cluster.nodes[0].client()
        service = client.services.get("hello-web")  # type: ignore[no-untyped-call]
        before = update_status(client).get("StartedAt")
        with Load(node1, 8000) as load:
            started = time.monotonic()
            service.update(update_config={"Order": "stop-first", "Parallelism": 1}, force_update=1)
            while True:
                update = update_status(client)
                if update.get("StartedAt") != before and update.get("State") == "completed":
                    break
                time.sleep(0.5)
            seconds = time.monotonic() - started
            time.sleep(3)
        report("baseline: 1 replica, stop-first", load, seconds)
        run = dh(*deploy, "--replicas", "3")  # back to dockerhello's update settings, 3 replicas
        assert run.exit_code == 0, run.stderr

        with Load(node1, 8000) as load:
            started = time.monotonic()
            run = dh("cluster", "drain", "web", "web-2")
            seconds = time.monotonic() - started
            time.sleep(3)
        assert run.exit_code == 0, run.stderr
        report("drain of web-2 (its replica moves)", load, seconds)
        client.close()
    finally:
        cluster.close()
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a timeout's kill still takes the cluster down
    if os.geteuid() != 0:
        sys.exit("needs root: network namespaces and a bridge")
    sys.path.insert(0, str(REPO))
    sys.exit(main())
