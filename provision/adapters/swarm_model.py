"""What dockerhello reads of a Swarm, and what it asks one to run: frozen values, and pure
parsers from the engine's JSON (`docker info`'s Swarm part, nodes, services, tasks), tested on
output recorded from real engines. Nothing here talks to an engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# A node's LocalNodeState: "inactive" (in no Swarm), "pending" (a join under way, or one that
# never finished), "active", "error", "locked" (autolock: its key is needed).
ACTIVE = "active"
INACTIVE = "inactive"


@dataclass(frozen=True)
class SwarmState:
    """What an engine says of its own part in a Swarm (`docker info`)."""

    local_state: str
    node_id: str
    node_address: str
    is_manager: bool  # ControlAvailable: it can take Swarm commands
    error: str
    cluster_id: str | None  # only a manager knows it
    managers: tuple[str, ...]  # the managers' ADDR:2377 this node knows


def parse_swarm_state(info: Mapping[str, Any]) -> SwarmState:
    swarm = info.get("Swarm") or {}
    cluster = swarm.get("Cluster") or {}
    return SwarmState(
        local_state=str(swarm.get("LocalNodeState") or INACTIVE),
        node_id=str(swarm.get("NodeID") or ""),
        node_address=str(swarm.get("NodeAddr") or ""),
        is_manager=bool(swarm.get("ControlAvailable")),
        error=str(swarm.get("Error") or ""),
        cluster_id=str(cluster["ID"]) if cluster.get("ID") else None,
        managers=tuple(str(m.get("Addr") or "") for m in swarm.get("RemoteManagers") or ()),
    )


@dataclass(frozen=True)
class JoinTokens:
    worker: str
    manager: str


def parse_join_tokens(swarm: Mapping[str, Any]) -> JoinTokens:
    tokens = swarm.get("JoinTokens") or {}
    return JoinTokens(worker=str(tokens.get("Worker") or ""), manager=str(tokens.get("Manager") or ""))


@dataclass(frozen=True)
class NodeInfo:
    id: str
    version: int  # the spec's version index, which an update must name
    hostname: str
    address: str
    role: str  # "manager" or "worker"
    availability: str  # "active", "pause" or "drain"
    state: str  # "ready", "down", "unknown", "disconnected"
    reachability: str | None  # a manager's: "reachable", "unreachable", "unknown"
    leader: bool
    engine_version: str
    labels: Mapping[str, str] = field(default_factory=dict)


def parse_node(node: Mapping[str, Any]) -> NodeInfo:
    spec = node.get("Spec") or {}
    description = node.get("Description") or {}
    status = node.get("Status") or {}
    manager = node.get("ManagerStatus") or {}
    return NodeInfo(
        id=str(node["ID"]),
        version=int((node.get("Version") or {}).get("Index") or 0),
        hostname=str(description.get("Hostname") or ""),
        address=str(status.get("Addr") or ""),
        role=str(spec.get("Role") or "worker"),
        availability=str(spec.get("Availability") or "active"),
        state=str(status.get("State") or "unknown"),
        reachability=str(manager["Reachability"]) if manager.get("Reachability") else None,
        leader=bool(manager.get("Leader")),
        engine_version=str((description.get("Engine") or {}).get("EngineVersion") or ""),
        labels=dict(spec.get("Labels") or {}),
    )


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval: float  # seconds
    timeout: float
    retries: int
    start_period: float


@dataclass(frozen=True)
class ServiceSpec:
    """A service as dockerhello asks Swarm to run it; the adapter turns it into the API's."""

    name: str
    image: str  # an image ID: no registry is asked for it
    labels: Mapping[str, str]
    container_labels: Mapping[str, str]
    env: Mapping[str, str] = field(default_factory=dict)
    replicas: int | None = None  # None: global, one task per node
    network: str | None = None
    user: str | None = None
    read_only: bool = True
    tmpfs: tuple[str, ...] = ("/tmp",)
    cap_drop_all: bool = True
    memory: int | None = None
    nano_cpus: int | None = None
    secrets: tuple[tuple[str, str, str], ...] = ()  # (id, name, file name under /run/secrets)
    configs: tuple[tuple[str, str, str], ...] = ()  # (id, name, path in the container)
    healthcheck: Healthcheck | None = None
    dnsrr: bool = True
    host_ports: tuple[tuple[int, int], ...] = ()  # (published on each node, in the container)
    start_first: bool = True  # a host-mode port cannot be held by two tasks: stop first there
    monitor: float = 5.0
    stop_grace_period: float = 30.0


@dataclass(frozen=True)
class UpdateStatus:
    state: str  # "updating", "paused", "completed", "rollback_started", "rollback_paused", "rollback_completed"
    message: str


@dataclass(frozen=True)
class ServiceInfo:
    id: str
    name: str
    version: int
    image: str
    labels: Mapping[str, str]
    replicas: int | None  # None: a global service
    update: UpdateStatus | None
    secrets: tuple[tuple[str, str, str], ...]  # (id, name, file name)
    published_port: int | None = None  # the first port published on the nodes


def parse_service(service: Mapping[str, Any]) -> ServiceInfo:
    spec = service.get("Spec") or {}
    container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    mode = spec.get("Mode") or {}
    update = service.get("UpdateStatus")
    return ServiceInfo(
        id=str(service["ID"]),
        name=str(spec.get("Name") or ""),
        version=int((service.get("Version") or {}).get("Index") or 0),
        image=str(container.get("Image") or ""),
        labels=dict(spec.get("Labels") or {}),
        replicas=int((mode.get("Replicated") or {}).get("Replicas") or 0) if "Replicated" in mode else None,
        update=UpdateStatus(str(update.get("State") or ""), str(update.get("Message") or "")) if update else None,
        secrets=tuple(
            (str(s.get("SecretID") or ""), str(s.get("SecretName") or ""), str((s.get("File") or {}).get("Name") or ""))
            for s in container.get("Secrets") or ()
        ),
        published_port=next(
            (
                int(p["PublishedPort"])
                for p in (spec.get("EndpointSpec") or {}).get("Ports") or ()
                if p.get("PublishedPort")
            ),
            None,
        ),
    )


@dataclass(frozen=True)
class TaskInfo:
    id: str
    slot: int | None
    node_id: str
    image: str
    desired: str  # "running", "shutdown", "ready"...
    state: str  # "new"... "starting", "running", "complete", "failed", "shutdown", "rejected"
    message: str
    error: str
    container_id: str | None
    exit_code: int | None
    updated: str
    labels: Mapping[str, str] = field(default_factory=dict)


def parse_task(task: Mapping[str, Any]) -> TaskInfo:
    status = task.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    spec = ((task.get("Spec") or {}).get("ContainerSpec")) or {}
    return TaskInfo(
        id=str(task["ID"]),
        slot=int(task["Slot"]) if task.get("Slot") else None,
        node_id=str(task.get("NodeID") or ""),
        image=str(spec.get("Image") or ""),
        desired=str(task.get("DesiredState") or ""),
        state=str(status.get("State") or ""),
        message=str(status.get("Message") or ""),
        error=str(status.get("Err") or ""),
        container_id=str(container["ContainerID"]) if container.get("ContainerID") else None,
        exit_code=int(container["ExitCode"]) if container.get("ExitCode") is not None else None,
        updated=str(task.get("UpdatedAt") or ""),
        labels=dict(spec.get("Labels") or {}),
    )
