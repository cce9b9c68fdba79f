"""Day 2 of an app on a Swarm: its tasks node by node, its logs, its scale, taking it down;
and what a deploy to the cluster shares with them (the manager, the release record, a task's
container on its node). The names of what an app is on a cluster are defined here once."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from importlib import resources

from provision.adapters.engine import Engine
from provision.adapters.engine_model import ContainerInfo
from provision.adapters.swarm_model import ServiceInfo, TaskInfo
from provision.console import Console
from provision.errors import DeployFailed, DockerHelloError
from provision.owned import LABEL_RELEASE, app_labels, network_name, records_name, records_volume
from provision.services.cluster import LABEL_MACHINE, Cluster, Member
from provision.services.engine_records import EngineRecords
from provision.services.releases import ReleaseStore, remove_own_image

SECRET_FILE = "secret_key"


def web_service(app: str) -> str:
    return f"{app}-web"


def proxy_service(app: str) -> str:
    return app


def secret_name(app: str, key: str) -> str:
    return f"{app}-secret-key-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def proxy_config(app: str) -> bytes:
    text = resources.files("provision.proxy").joinpath("cluster.conf").read_text()
    return text.replace("{{service}}", web_service(app)).encode()


@dataclass(frozen=True)
class TaskRow:
    machine: str
    task: str
    release: str
    desired: str
    state: str
    health: str
    message: str


@dataclass(frozen=True)
class ClusterAppStatus:
    app: str
    cluster: str
    release: str | None
    replicas: int | None
    running: int
    tasks: tuple[TaskRow, ...]
    update: str | None
    urls: tuple[str, ...]


class ClusterOperator:
    def __init__(
        self,
        cluster: Cluster,
        name: str,
        console: Console,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cluster = cluster
        self.name = name
        self.console = console
        self.clock = clock
        self.sleep = sleep
        self._manager: Member | None = None
        self._engines: dict[str, Engine | None] = {}

    @property
    def manager(self) -> Member:
        if self._manager is None:
            self._manager = self.cluster.manager(self.name)
        return self._manager

    @property
    def engine(self) -> Engine:
        return self.manager.engine

    def store(self, app: str) -> ReleaseStore:
        return ReleaseStore(EngineRecords(self.engine, app), app, self.console.warn)

    def task_container(self, task: TaskInfo, tail: int) -> tuple[ContainerInfo | None, list[str]]:
        """A task's container and the last lines of its log, from the engine of its node."""
        engine = self._node_engine(task.node_id) if task.container_id else None
        if engine is None or task.container_id is None:
            return None, []
        return engine.container(task.container_id), engine.logs(task.container_id, tail) if tail else []

    def _node_engine(self, node_id: str) -> Engine | None:
        """The engine of a node, by its machine; None where it does not answer. Reached once per
        node for the whole command: `status` asks for each task."""
        if node_id not in self._engines:
            machines = {node.id: node.labels.get(LABEL_MACHINE) for node in self.engine.nodes()}
            machine = machines.get(node_id)
            try:
                self._engines[node_id] = self.cluster.member(machine).engine if machine else None
            except DockerHelloError:
                self._engines[node_id] = None
        return self._engines[node_id]

    # -- day 2 ----------------------------------------------------------------------------------

    def status(self, app: str) -> ClusterAppStatus:
        service = self.engine.service(web_service(app))
        proxy = self.engine.service(proxy_service(app))
        if service is None:
            return ClusterAppStatus(app, self.name, None, None, 0, (), None, ())
        machines = {node.id: node.labels.get(LABEL_MACHINE, node.hostname) for node in self.engine.nodes()}
        rows: list[TaskRow] = []
        tasks = sorted(self.engine.tasks(service.id), key=lambda t: t.updated, reverse=True)  # newest first
        for task in sorted(tasks, key=lambda t: (t.desired != "running", t.slot or 0)):  # those that should run first
            if task.desired != "running" and len(rows) >= 12:
                continue
            rows.append(
                TaskRow(
                    machines.get(task.node_id, task.node_id[:12]),
                    task.id[:12],
                    task.labels.get(LABEL_RELEASE, "-"),
                    task.desired,
                    task.state,
                    self._health(task),
                    task.error or task.message,
                )
            )
        running = sum(1 for r in rows if r.desired == "running" and r.state == "running")
        port = proxy_port(proxy)
        urls = (
            tuple(f"http://{m.address}:{port}/" for m in self.cluster.members(self.name, self.manager)) if port else ()
        )
        return ClusterAppStatus(
            app,
            self.name,
            service.labels.get(LABEL_RELEASE),
            service.replicas,
            running,
            tuple(rows),
            service.update.state if service.update else None,
            urls,
        )

    def _health(self, task: TaskInfo) -> str:
        if task.desired != "running" or task.state != "running" or not task.container_id:
            return "-"
        container, _ = self.task_container(task, 0)
        return (container.health or "-") if container is not None else "unknown"

    def logs(self, app: str, follow: bool, tail: int, access: bool) -> Iterator[str]:
        name = proxy_service(app) if access else web_service(app)
        service = self.engine.service(name)
        if service is None:
            raise DockerHelloError(f"{app} is not deployed on the cluster {self.name}",
                                   hint=f"Deploy it first: `dockerhello deploy --cluster {self.name}`.")  # fmt: skip
        machines = {node.id: node.labels.get(LABEL_MACHINE, node.hostname) for node in self.engine.nodes()}
        slots = {task.id: task.slot for task in self.engine.tasks(service.id)}
        for node_id, task_id, line in self.engine.service_logs(name, tail, follow):
            if not task_id:
                yield line
                continue
            task = f"{name}.{slots.get(task_id) or task_id[:12]}"  # a global service's tasks have no slot
            yield f"{task}@{machines.get(node_id, node_id[:12])} | {line}"

    def scale(self, app: str, replicas: int, timeout: float = 300) -> str:
        service = self.engine.service(web_service(app))
        if service is None:
            raise DockerHelloError(
                f"{app} is not deployed on the cluster {self.name}",
                hint=f"Deploy it first: `dockerhello deploy --cluster {self.name}`.",
            )
        self.console.step(f"Scaling {service.name} from {service.replicas} to {replicas} replicas")
        self.engine.scale_service(service, replicas)
        deadline = self.clock() + timeout
        while self.clock() < deadline:
            tasks = self.engine.tasks(service.id)
            if sum(t.desired == "running" and t.state == "running" for t in tasks) == replicas:
                return f"{app} runs {replicas} replicas."
            self.sleep(0.5)
        raise DeployFailed(
            f"{app} did not reach {replicas} running replicas in {timeout:.0f} s",
            hint=f"`dockerhello status --cluster {self.name}` shows the tasks.",
        )

    def down(self, app: str, images: bool) -> list[str]:
        removed = [name for name in (proxy_service(app), web_service(app)) if self.engine.remove_service(name)]
        for kind in ("secret", "config"):
            for secret_id, name in self.engine.secret_ids(app_labels(app, kind), kind):
                self._when_free(partial(self.engine.remove_secret, secret_id, kind))
                removed.append(name)
        self._when_free(partial(self.engine.remove_network, network_name(app)))
        if images:
            for member in self.cluster.members(self.name, self.manager):
                for image in member.engine.images(app):
                    remove_own_image(member.engine, app, image)
            if self.engine.remove(records_name(app), force=True):
                removed.append(records_name(app))
            self.engine.remove_volume(records_volume(app))
        return removed

    def _when_free(self, remove: Callable[[], None], timeout: float = 30) -> None:
        """A secret or network that a task still stopping uses cannot go yet: again until it can."""
        deadline = self.clock() + timeout
        while True:
            try:
                remove()
                return
            except DockerHelloError:
                if self.clock() > deadline:
                    raise
                self.sleep(0.5)


def proxy_port(proxy: ServiceInfo | None) -> int | None:
    return proxy.published_port if proxy is not None else None
