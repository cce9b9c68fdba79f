"""A Docker Swarm made of docker-machine machines: its membership, the nodes' availability,
and finding its managers again.

Swarm is the truth about the cluster (who is a node, its role, its state); dockerhello keeps
only the cluster's name and its machines, in order, in the state directory
(`clusters/NAME.json`), so that a command given the name knows which engines to ask. The
first machine founded the Swarm; each node carries the label `dockerhello.machine` with the
machine it is, so that nodes are named as the user named the machines.

Each machine joins through its own engine, over TLS with its certificates, advertising its
own address. A join that fails or is interrupted is undone on that node (it leaves, and a
manager forgets it), so no node is left half-joined; nodes already in the Swarm are left as
they are, which makes `cluster create` and `cluster join` safe to run again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from provision.adapters.docker_machine import DockerMachine
from provision.adapters.engine import Engine
from provision.adapters.swarm_model import ACTIVE, INACTIVE, NodeInfo
from provision.console import Console
from provision.engine import EngineTarget
from provision.errors import DockerHelloError
from provision.owned import LABEL_APP
from provision.services.machines import Machines, MachineSpec

LABEL_MACHINE = "dockerhello.machine"  # on a node: the docker-machine machine it is
LABEL_CLUSTER = "dockerhello.cluster"


def check_managers(managers: int, nodes: int) -> int:
    """Swarm's managers keep the cluster's state by Raft, which needs a majority of them up.
    An even count tolerates no more failures than the odd count below it (2 tolerate none, as
    1 does; 4 tolerate one, as 3 do) while giving one more manager to lose: refused."""
    if managers < 1 or managers % 2 == 0:
        raise DockerHelloError(
            f"--managers {managers}: a Swarm needs an odd number of managers",
            hint="Raft needs a majority of managers up: 2 survive no failure (like 1) and 4 survive one "
            "(like 3), with one more machine that can break it. Use 1 (no failure survived) or 3 (one).",
        )
    if managers > nodes:
        raise DockerHelloError(
            f"--managers {managers} is more than the cluster's {nodes} machines",
            hint="Give the cluster more machines (--nodes, or `cluster join`), or fewer managers.",
        )
    return managers


@dataclass(frozen=True)
class ClusterRecord:
    name: str
    machines: tuple[str, ...]  # in the order they joined; the first founded the Swarm
    managers: int


class ClusterRecords:
    """The clusters this host made, one JSON file each, written whole or not at all."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "clusters"

    def load(self, name: str) -> ClusterRecord | None:
        path = self.directory / f"{name}.json"
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return ClusterRecord(name, tuple(data["machines"]), int(data["managers"]))

    def all(self) -> list[ClusterRecord]:
        if not self.directory.is_dir():
            return []
        return [r for p in sorted(self.directory.glob("*.json")) if (r := self.load(p.stem)) is not None]

    def save(self, record: ClusterRecord) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{record.name}.json"
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps({"machines": list(record.machines), "managers": record.managers}) + "\n")
        os.replace(partial, path)

    def remove(self, name: str) -> None:
        (self.directory / f"{name}.json").unlink(missing_ok=True)


@dataclass(frozen=True)
class Member:
    """A machine of the cluster and its engine."""

    machine: str
    address: str  # the machine's IP: what the node advertises, where its published ports are
    engine: Engine


@dataclass(frozen=True)
class NodeRow:
    machine: str
    node_id: str
    address: str
    role: str
    leader: bool
    availability: str
    state: str
    reachability: str | None
    engine_version: str


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    nodes: tuple[NodeRow, ...]
    missing: tuple[str, ...]  # machines of the record that are not nodes of the Swarm


class Cluster:
    def __init__(
        self,
        machines: Machines,
        docker_machine: DockerMachine,
        connect: Callable[[EngineTarget], Engine],
        records: ClusterRecords,
        console: Console,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.machines = machines
        self.docker_machine = docker_machine
        self.connect = connect
        self.records = records
        self.console = console
        self.sleep = sleep

    # -- making it ---------------------------------------------------------------------------

    def create(self, name: str, nodes: int, managers: int, spec: MachineSpec) -> ClusterRecord:
        """NAME-1 ... NAME-N, made as `machine create` makes a machine, then one Swarm."""
        check_managers(managers, nodes)
        names = [f"{name}-{index}" for index in range(1, nodes + 1)]
        for machine in names:
            self.console.info(
                self.machines.create(MachineSpec(machine, spec.cpus, spec.memory_mb, spec.disk_mb, spec.hostonly_cidr))
            )
        return self.join(name, names, managers)

    def join(self, name: str, machines: Iterable[str], managers: int | None = None) -> ClusterRecord:
        record = self.records.load(name)
        wanted = list(dict.fromkeys([*(record.machines if record else ()), *machines]))
        managers = check_managers(managers or (record.managers if record else 1), len(wanted))
        for other in self.records.all():
            taken = sorted(set(other.machines) & set(wanted))
            if other.name != name and taken:
                raise DockerHelloError(
                    f"Machine {taken[0]} is a node of the cluster {other.name} already",
                    hint=f"Take it out first: `dockerhello cluster rm {other.name}`.",
                )
        founder = self.member(wanted[0])
        self._found(founder)
        joined = {founder.machine: founder}
        self.records.save(ClusterRecord(name, tuple(joined), managers))
        for machine in wanted[1:]:
            member = self.member(machine)
            self._join_one(founder, member, managers)
            joined[machine] = member
            self.records.save(ClusterRecord(name, tuple(joined), managers))
        self._label(founder.engine, {m: member.engine.swarm_state().node_id for m, member in joined.items()}, name)
        return ClusterRecord(name, tuple(joined), managers)

    def _found(self, founder: Member) -> None:
        state = founder.engine.swarm_state()
        if state.local_state == ACTIVE:
            if not state.is_manager:
                raise DockerHelloError(
                    f"Machine {founder.machine} is a worker of another Swarm",
                    hint="Make it leave (`docker swarm leave` on its engine), or start the cluster on another machine.",
                )
            self.console.info(f"{founder.machine} is a Swarm manager already ({state.node_id})")
            return
        if state.local_state != INACTIVE:  # pending, error: a join that never finished
            founder.engine.swarm_leave()
        self.console.step(f"Starting the Swarm on {founder.machine}, advertising {founder.address}")
        founder.engine.swarm_init(founder.address)

    def _join_one(self, founder: Member, member: Member, managers: int) -> None:
        known = {node.id: node for node in founder.engine.nodes()}
        state = member.engine.swarm_state()
        if state.local_state == ACTIVE and state.node_id in known:
            self.console.info(f"{member.machine} is a node already ({known[state.node_id].role})")
            return
        if state.local_state == ACTIVE:
            raise DockerHelloError(
                f"Machine {member.machine} is a node of another Swarm ({state.node_id})",
                hint="Make it leave that Swarm first (`docker swarm leave --force` on its engine), then join again.",
            )
        if state.local_state != INACTIVE:
            member.engine.swarm_leave()  # what a join that was cut short left
        as_manager = sum(node.role == "manager" for node in known.values()) < managers
        role = "manager" if as_manager else "worker"
        tokens = founder.engine.join_tokens()
        self.console.step(f"Joining {member.machine} ({member.address}) as a {role}")
        try:
            member.engine.swarm_join(founder.address, tokens.manager if as_manager else tokens.worker, member.address)
        except BaseException:
            self._undo_join(founder, member)
            raise

    def _undo_join(self, founder: Member, member: Member) -> None:
        """No node half-joined: it leaves, and the Swarm forgets it if it had got that far."""
        node_id = ""
        try:
            node_id = member.engine.swarm_state().node_id
            member.engine.swarm_leave()
        except DockerHelloError as exc:
            self.console.warn(f"{member.machine} could not leave the Swarm: {exc.message}")
        if node_id:
            founder.engine.remove_node(node_id)
        self.console.info(f"{member.machine} was taken out of the Swarm again.")

    def _label(self, manager: Engine, node_ids: dict[str, str], cluster: str) -> None:
        by_id = {node.id: node for node in manager.nodes()}
        for machine, node_id in node_ids.items():
            node = by_id.get(node_id)
            if node is not None and node.labels.get(LABEL_MACHINE) != machine:
                manager.update_node(node, labels={LABEL_MACHINE: machine, LABEL_CLUSTER: cluster})

    # -- finding it again --------------------------------------------------------------------

    def record(self, name: str) -> ClusterRecord:
        record = self.records.load(name)
        if record is None:
            raise DockerHelloError(
                f"There is no cluster {name}",
                hint="`dockerhello cluster ls` lists the clusters; `dockerhello cluster create` makes one.",
            )
        return record

    def member(self, machine: str) -> Member:
        target = self.machines.engine_target(machine)
        return Member(machine, self.docker_machine.ip(machine), self.connect(target))

    def manager(self, name: str) -> Member:
        """The first machine whose engine answers as a manager."""
        reasons = []
        for machine in self.record(name).machines:
            try:
                member = self.member(machine)
                if member.engine.swarm_state().is_manager:
                    return member
                reasons.append(f"{machine}: not a manager")
            except DockerHelloError as exc:
                reasons.append(f"{machine}: {exc.message}")
        raise DockerHelloError(
            f"No manager of the cluster {name} answers",
            details=reasons,
            hint="Start its machines (`dockerhello machine start NAME`); a Swarm needs a majority of its managers up.",
        )

    def members(self, name: str, manager: Member) -> list[Member]:
        """Every node that is up, by its machine: where images must be."""
        found = [manager]
        for node in manager.engine.nodes():
            machine = node.labels.get(LABEL_MACHINE)
            if machine and machine != manager.machine and node.state == "ready":
                try:
                    found.append(self.member(machine))
                except DockerHelloError as exc:
                    self.console.warn(f"{machine} is a node but its engine does not answer: {exc.message}")
        return found

    def status(self, name: str) -> ClusterStatus:
        record = self.record(name)
        manager = self.manager(name)
        nodes = manager.engine.nodes()
        rows = tuple(sorted((_row(node) for node in nodes), key=lambda r: _order(record.machines, r.machine)))
        missing = tuple(m for m in record.machines if m not in {r.machine for r in rows})
        return ClusterStatus(name, rows, missing)

    def set_availability(self, name: str, node_name: str, availability: str, wait: float = 120) -> str:
        """Drain or activate a node, named by its machine, hostname or ID; a drain waits until
        its tasks run elsewhere."""
        manager = self.manager(name)
        node = _find_node(manager.engine.nodes(), node_name, name)
        if node.availability == availability:
            return f"{node_name} is {availability} already."
        manager.engine.update_node(node, availability=availability)
        if availability != "drain":
            return f"{node_name} takes tasks again."
        self.console.step(f"Draining {node_name}: its tasks move to the other nodes")
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not any(
                task.node_id == node.id and task.state in ("running", "starting", "preparing")
                for service in manager.engine.services(LABEL_APP)
                for task in manager.engine.tasks(service.id)
            ):
                return f"{node_name} is drained: no task runs there."
            self.sleep(0.5)
        return f"{node_name} is draining; some of its tasks still run after {wait:.0f} s."

    # -- taking it apart -------------------------------------------------------------------------

    def rm(self, name: str, remove_machines: bool) -> list[str]:
        """Each node leaves the Swarm, the founder last (which ends it); the machines are removed
        only when asked. A machine that does not answer is said, and the rest go on."""
        record = self.record(name)
        done = []
        for machine in reversed(record.machines):
            try:
                self.member(machine).engine.swarm_leave()
                done.append(f"{machine} left the Swarm")
            except DockerHelloError as exc:
                self.console.warn(f"{machine} could not leave the Swarm: {exc.message}")
        self.records.remove(name)
        if remove_machines:
            for machine in record.machines:
                if self.machines.find(machine) is not None:
                    done.append(self.machines.rm(machine))
        return done


def _row(node: NodeInfo) -> NodeRow:
    return NodeRow(
        node.labels.get(LABEL_MACHINE, "-"),
        node.id,
        node.address,
        node.role,
        node.leader,
        node.availability,
        node.state,
        node.reachability,
        node.engine_version,
    )


def _order(machines: tuple[str, ...], machine: str) -> int:
    return machines.index(machine) if machine in machines else len(machines)


def _find_node(nodes: list[NodeInfo], name: str, cluster: str) -> NodeInfo:
    for node in nodes:
        if name in (node.labels.get(LABEL_MACHINE), node.id):
            return node
    matches = [node for node in nodes if node.hostname == name or node.id.startswith(name)]
    if len(matches) == 1:
        return matches[0]
    raise DockerHelloError(
        f"The cluster {cluster} has no node {name}"
        if not matches
        else f"{name} names {len(matches)} nodes of the cluster {cluster}",
        hint=f"`dockerhello cluster status {cluster}` lists its nodes by machine.",
    )
