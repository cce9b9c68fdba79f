"""Joining machines into a Swarm, on fake engines that keep a Swarm's membership as Swarm does:
managers until there are --managers of them, a join cut short undone on the node and in the
Swarm, a machine of another Swarm refused, and the record written as nodes join."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from provision.adapters.swarm_model import ACTIVE, INACTIVE, JoinTokens, NodeInfo, SwarmState
from provision.console import Console
from provision.engine import EngineTarget
from provision.errors import DockerHelloError
from provision.services.cluster import Cluster, ClusterRecords


@dataclass
class Swarm:
    nodes: dict[str, NodeInfo] = field(default_factory=dict)


class FakeEngine:
    def __init__(self, name: str, address: str) -> None:
        self.name, self.address = name, address
        self.swarm: Swarm | None = None
        self.state = INACTIVE
        self.fail_join: BaseException | None = None
        self.calls: list[str] = []

    def swarm_state(self) -> SwarmState:
        node_id = f"id-{self.name}" if self.state != INACTIVE else ""
        manager = self.swarm is not None and self.swarm.nodes.get(node_id, None) is not None and (
            self.swarm.nodes[node_id].role == "manager")  # fmt: skip
        return SwarmState(self.state, node_id, self.address, manager, "", None, ())

    def swarm_init(self, address: str) -> str:
        self.calls.append(f"init {address}")
        self.swarm, self.state = Swarm(), ACTIVE
        self.swarm.nodes[f"id-{self.name}"] = node(self.name, "manager")
        return f"id-{self.name}"

    def swarm_join(self, manager: str, token: str, address: str) -> None:
        self.calls.append(f"join {manager} {token} {address}")
        founder = FOUNDERS[manager]
        assert founder.swarm is not None
        self.state = "pending"
        founder.swarm.nodes[f"id-{self.name}"] = node(self.name, "manager" if token == "M" else "worker")
        if self.fail_join is not None:
            raise self.fail_join
        self.swarm, self.state = founder.swarm, ACTIVE

    def swarm_leave(self) -> None:
        self.calls.append("leave")
        self.swarm, self.state = None, INACTIVE

    def join_tokens(self) -> JoinTokens:
        return JoinTokens(worker="W", manager="M")

    def nodes(self) -> list[NodeInfo]:
        assert self.swarm is not None
        return list(self.swarm.nodes.values())

    def update_node(
        self, info: NodeInfo, availability: str | None = None, labels: dict[str, str] | None = None
    ) -> None:
        assert self.swarm is not None
        self.swarm.nodes[info.id] = NodeInfo(info.id, info.version + 1, info.hostname, info.address, info.role,
                                             availability or info.availability, info.state, None, False, "",
                                             {**info.labels, **(labels or {})})  # fmt: skip

    def remove_node(self, node_id: str) -> None:
        assert self.swarm is not None
        self.swarm.nodes.pop(node_id, None)


FOUNDERS: dict[str, FakeEngine] = {}


def node(name: str, role: str) -> NodeInfo:
    return NodeInfo(f"id-{name}", 1, "vm", name, role, "active", "ready", None, False, "20.10", {})


class FakeMachines:
    def __init__(self, engines: dict[str, FakeEngine]) -> None:
        self.engines = engines

    def engine_target(self, name: str) -> EngineTarget:
        return EngineTarget(host=f"tcp://{self.engines[name].address}:2376", machine=name)

    def ip(self, name: str) -> str:
        return self.engines[name].address


def make(tmp_path: Path, names: list[str]) -> tuple[Cluster, dict[str, FakeEngine]]:
    engines = {name: FakeEngine(name, f"10.0.0.{i + 1}") for i, name in enumerate(names)}
    FOUNDERS.clear()
    FOUNDERS.update({engine.address: engine for engine in engines.values()})
    machines = FakeMachines(engines)
    by_host = {machines.engine_target(n).host: e for n, e in engines.items()}
    connect: Any = lambda target: by_host[target.host]  # noqa: E731
    cluster = Cluster(machines, machines, connect, ClusterRecords(tmp_path), Console(quiet=True))  # type: ignore[arg-type]
    return cluster, engines


def test_the_first_founds_managers_join_until_there_are_enough_then_workers(tmp_path: Path) -> None:
    cluster, engines = make(tmp_path, ["a", "b", "c", "d", "e"])
    record = cluster.join("web", ["a", "b", "c", "d", "e"], managers=3)
    assert record.machines == ("a", "b", "c", "d", "e")
    assert engines["a"].calls == ["init 10.0.0.1"]
    assert [engines[n].calls for n in "bcde"] == [["join 10.0.0.1 M 10.0.0.2"], ["join 10.0.0.1 M 10.0.0.3"],
                                                  ["join 10.0.0.1 W 10.0.0.4"], ["join 10.0.0.1 W 10.0.0.5"]]  # fmt: skip
    roles = {n.labels["dockerhello.machine"]: n.role for n in engines["a"].nodes()}
    assert roles == {"a": "manager", "b": "manager", "c": "manager", "d": "worker", "e": "worker"}
    again = cluster.join("web", ["a", "b", "c", "d", "e"])  # safe to run twice: nothing joins again
    assert again == record and all(len(engines[n].calls) == 1 for n in "abcde")


@pytest.mark.parametrize("cut", [DockerHelloError("timeout joining"), KeyboardInterrupt()])
def test_a_join_cut_short_leaves_no_node_half_joined(tmp_path: Path, cut: BaseException) -> None:
    cluster, engines = make(tmp_path, ["a", "b", "c"])
    engines["c"].fail_join = cut
    with pytest.raises(type(cut)):
        cluster.join("web", ["a", "b", "c"])
    assert engines["c"].calls[-1] == "leave" and engines["c"].state == INACTIVE
    assert sorted(n.id for n in engines["a"].nodes()) == ["id-a", "id-b"]  # the Swarm forgot it
    assert ClusterRecords(tmp_path).load("web").machines == ("a", "b")  # type: ignore[union-attr]
    engines["c"].fail_join = None
    assert cluster.join("web", ["c"]).machines == ("a", "b", "c")


def test_a_machine_of_another_swarm_is_refused(tmp_path: Path) -> None:
    cluster, engines = make(tmp_path, ["a", "b"])
    engines["b"].swarm_init("10.0.0.2")
    with pytest.raises(DockerHelloError, match="Machine b is a node of another Swarm"):
        cluster.join("web", ["a", "b"])
    assert engines["b"].calls == ["init 10.0.0.2"]  # left as it was


def test_a_machine_may_be_in_one_cluster_only(tmp_path: Path) -> None:
    cluster, _ = make(tmp_path, ["a", "b"])
    cluster.join("web", ["a"])
    with pytest.raises(DockerHelloError, match="Machine a is a node of the cluster web already"):
        cluster.join("api", ["a", "b"])
