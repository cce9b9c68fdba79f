"""The Swarm parsers, on output recorded from Engine 20.10 (tests/data/swarm): a manager's and a
worker's `docker info`, the nodes of a 3-node Swarm, a service after Swarm rolled it back, its
tasks, and the proxy's global service."""

from __future__ import annotations

import json
from typing import Any

from provision.adapters.swarm_model import (
    parse_join_tokens,
    parse_node,
    parse_service,
    parse_swarm_state,
    parse_task,
)
from provision.services.cluster import check_managers
from tests.conftest import REPO

DATA = REPO / "tests" / "data" / "swarm"


def recorded(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def test_a_manager_and_a_worker_say_what_they_are() -> None:
    manager = parse_swarm_state({"Swarm": recorded("info-swarm-manager.json")})
    assert (manager.local_state, manager.is_manager, manager.node_address) == ("active", True, "192.168.77.11")
    assert manager.cluster_id and manager.managers == ("192.168.77.11:2377",)
    worker = parse_swarm_state({"Swarm": recorded("info-swarm-worker.json")})
    assert (worker.local_state, worker.is_manager, worker.cluster_id) == ("active", False, None)
    assert worker.node_id == "4kkog2ol24drfzko9kqrg7yda"
    alone = parse_swarm_state({"Swarm": {"NodeID": "", "LocalNodeState": "inactive", "RemoteManagers": None}})
    assert (alone.local_state, alone.node_id, alone.managers) == ("inactive", "", ())


def test_nodes_and_tokens() -> None:
    nodes = sorted((parse_node(n) for n in recorded("nodes.json")), key=lambda n: n.address)
    assert [(n.address, n.role, n.state, n.availability, n.leader) for n in nodes] == [
        ("192.168.77.11", "manager", "ready", "active", True),
        ("192.168.77.12", "worker", "ready", "active", False),
        ("192.168.77.13", "worker", "ready", "active", False),
    ]
    assert nodes[0].reachability == "reachable" and nodes[1].reachability is None
    assert nodes[0].engine_version == "20.10.24+dfsg1" and nodes[0].version > 0
    tokens = parse_join_tokens(recorded("inspect-swarm.json"))
    assert (tokens.worker, tokens.manager) == ("SWMTKN-1-recorded-worker-token", "SWMTKN-1-recorded-manager-token")


def test_a_service_that_swarm_rolled_back() -> None:
    service = parse_service(recorded("inspect-service.json"))
    assert (service.name, service.replicas) == ("hello-web", 3)
    assert service.update is not None and service.update.state == "rollback_completed"
    assert service.image.startswith("sha256:")  # an image ID: no registry is asked for it
    assert service.labels["dockerhello.release"] == "20261202-184519"  # the release it went back to
    assert [(name.startswith("hello-secret-key-"), file) for _, name, file in service.secrets] == [(True, "secret_key")]
    assert service.published_port is None
    proxy = parse_service(recorded("inspect-service-proxy.json"))
    assert (proxy.name, proxy.replicas, proxy.published_port) == ("hello", None, 8000)


def test_tasks() -> None:
    tasks = [parse_task(t) for t in recorded("tasks.json")]
    running = [t for t in tasks if t.desired == "running"]
    assert len(running) == 3 and {t.state for t in running} == {"running"}
    assert all(t.container_id and t.node_id and t.slot for t in running)
    # An unhealthy task is stopped by Swarm: it ends "complete", and the service rolls back.
    assert any(t.desired == "shutdown" and t.state == "complete" for t in tasks)
    assert {t.labels.get("dockerhello.app") for t in tasks} == {"hello"}


def test_managers_must_be_odd_and_no_more_than_the_nodes() -> None:
    assert check_managers(3, 3) == 3
    for bad, nodes in ((2, 3), (4, 5), (0, 1), (3, 2)):
        try:
            check_managers(bad, nodes)
        except Exception as exc:
            assert "manager" in str(exc.args[0])
        else:
            raise AssertionError(f"{bad} managers of {nodes} nodes were allowed")


def test_a_service_log_line_is_headed_by_its_node_and_task() -> None:
    from provision.adapters.engine.swarm import parse_log_line

    line = "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1 Booting worker\n"
    assert parse_log_line(line) == ("n1", "t1", "Booting worker\n")
    assert parse_log_line("no details here\n") == ("", "", "no details here\n")
