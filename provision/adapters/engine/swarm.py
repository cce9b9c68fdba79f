"""An engine's Swarm operations, as one part of `Engine`: the node's own membership (init,
join, leave), and what a manager does for the whole Swarm (nodes, services, tasks, secrets,
configs, overlay networks); and the image transfer that takes an image to a node without a
registry (`docker save` from one engine, `docker load` into another)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

import docker
import docker.errors
import docker.types

from provision.adapters.engine.translated import translated
from provision.adapters.swarm_model import (
    JoinTokens,
    NodeInfo,
    ServiceInfo,
    ServiceSpec,
    SwarmState,
    TaskInfo,
    parse_join_tokens,
    parse_node,
    parse_service,
    parse_task,
)
from provision.engine import EngineTarget
from provision.errors import DockerHelloError

SWARM_PORT = 2377
NANOSECONDS = 1_000_000_000


def parse_log_line(line: str) -> tuple[str, str, str]:
    head, _, text = line.partition(" ")
    fields = dict(item.partition("=")[::2] for item in head.split(",") if "=" in item)
    if "com.docker.swarm.task.id" not in fields:  # no details: the line as it came
        return "", "", line
    return fields.get("com.docker.swarm.node.id", ""), fields["com.docker.swarm.task.id"], text


class SwarmOperations:
    api: docker.APIClient
    target: EngineTarget

    # -- this node's membership --------------------------------------------------------------

    @translated
    def swarm_state(self) -> SwarmState:
        from provision.adapters.swarm_model import parse_swarm_state

        return parse_swarm_state(self.api.info())

    @translated
    def swarm_init(self, advertise_address: str) -> str:
        """A new Swarm with this node as its one manager; its node ID."""
        return str(self.api.init_swarm(advertise_addr=advertise_address, listen_addr=f"0.0.0.0:{SWARM_PORT}"))

    @translated
    def swarm_join(self, manager_address: str, token: str, advertise_address: str) -> None:
        self.api.join_swarm(
            [f"{manager_address}:{SWARM_PORT}"],
            token,
            listen_addr=f"0.0.0.0:{SWARM_PORT}",
            advertise_addr=advertise_address,
        )

    @translated
    def swarm_leave(self) -> None:
        """Leave, a manager too (`--force`); a node in no Swarm has nothing to leave."""
        try:
            self.api.leave_swarm(force=True)
        except docker.errors.APIError as exc:
            if "not part of a swarm" not in str(exc):
                raise

    # -- a manager's view of the Swarm -----------------------------------------------------------

    @translated
    def join_tokens(self) -> JoinTokens:
        return parse_join_tokens(self.api.inspect_swarm())

    @translated
    def nodes(self) -> list[NodeInfo]:
        return [parse_node(node) for node in self.api.nodes()]

    @translated
    def update_node(
        self, node: NodeInfo, availability: str | None = None, labels: Mapping[str, str] | None = None
    ) -> None:
        spec = {
            "Role": node.role,
            "Availability": availability or node.availability,
            "Labels": {**node.labels, **(labels or {})},
        }
        self.api.update_node(node.id, node.version, spec)  # type: ignore[arg-type]  # the stub's TypedDict

    @translated
    def remove_node(self, node_id: str) -> None:
        try:
            self.api.remove_node(node_id, force=True)
        except docker.errors.NotFound:
            return

    # -- services and their tasks ----------------------------------------------------------------

    @translated
    def service(self, name: str) -> ServiceInfo | None:
        try:
            return parse_service(self.api.inspect_service(name))
        except docker.errors.NotFound:
            return None

    @translated
    def services(self, label: str, value: str | None = None) -> list[ServiceInfo]:
        """The services with the label `label` (of value `value`, when given)."""
        wanted = f"{label}={value}" if value is not None else label
        return [parse_service(service) for service in self.api.services(filters={"label": wanted})]

    @translated
    def create_service(self, spec: ServiceSpec) -> None:
        self.api.create_service(**self._service_arguments(spec))

    @translated
    def update_service(self, current: ServiceInfo, spec: ServiceSpec) -> None:
        self.api.update_service(current.id, current.version, **self._service_arguments(spec))

    @translated
    def scale_service(self, current: ServiceInfo, replicas: int) -> None:
        self.api.update_service(
            current.id, current.version, mode=docker.types.ServiceMode("replicated", replicas), fetch_current_spec=True
        )

    @translated
    def remove_service(self, name: str) -> bool:
        try:
            self.api.remove_service(name)
        except docker.errors.NotFound:
            return False
        return True

    @translated
    def tasks(self, service: str) -> list[TaskInfo]:
        return [parse_task(task) for task in self.api.tasks(filters={"service": service})]

    @translated
    def service_logs(self, service: str, tail: int, follow: bool = False) -> Iterator[tuple[str, str, str]]:
        """(node ID, task ID, line) for each line of the service's tasks, from the details the
        engine heads each line with (`com.docker.swarm.node.id=...,...task.id=... LINE`)."""
        stream = self.api.service_logs(service, stdout=True, stderr=True, follow=follow, tail=str(tail), is_tty=False,
                                       details=True)  # fmt: skip
        for chunk in stream:
            for line in bytes(chunk).decode("utf-8", errors="replace").splitlines(keepends=True):
                yield parse_log_line(line)

    # -- secrets, configs and overlay networks ----------------------------------------------------

    @translated
    def ensure_secret(self, name: str, data: bytes, labels: Mapping[str, str]) -> str:
        """The secret's ID; made when missing. A secret cannot change: the name holds a digest."""
        return self._ensure("secret", name, data, labels)

    @translated
    def ensure_config(self, name: str, data: bytes, labels: Mapping[str, str]) -> str:
        return self._ensure("config", name, data, labels)

    @translated
    def secret_ids(self, labels: Mapping[str, str], kind: str = "secret") -> list[tuple[str, str]]:
        """(ID, name) of the secrets (or configs) with all of `labels`."""
        listing = self.api.secrets if kind == "secret" else self.api.configs
        found = listing(filters={"label": [f"{k}={v}" for k, v in labels.items()]})
        return [(str(item["ID"]), str(item["Spec"]["Name"])) for item in found]

    @translated
    def remove_secret(self, secret_id: str, kind: str = "secret") -> None:
        try:
            (self.api.remove_secret if kind == "secret" else self.api.remove_config)(secret_id)
        except docker.errors.NotFound:
            return

    def _ensure(self, kind: str, name: str, data: bytes, labels: Mapping[str, str]) -> str:
        listing = self.api.secrets if kind == "secret" else self.api.configs
        for item in listing(filters={"name": name}):
            if item["Spec"]["Name"] == name:  # the filter matches a prefix too
                return str(item["ID"])
        create = self.api.create_secret if kind == "secret" else self.api.create_config
        try:
            return str(create(name, data, labels=dict(labels))["ID"])
        except docker.errors.APIError as exc:
            if exc.status_code == 409:  # made between the listing and now
                return self._ensure(kind, name, data, labels)
            raise

    @translated
    def ensure_overlay(self, name: str, labels: Mapping[str, str]) -> None:
        for listed in self.api.networks(names=[name]):
            if listed.get("Name") == name:
                if listed.get("Driver") != "overlay":
                    raise DockerHelloError(
                        f"The network {name} exists and is not an overlay network",
                        hint=f"Remove it (`docker network rm {name}`) or deploy under another app name.",
                    )
                return
        self.api.create_network(name, driver="overlay", attachable=True, labels=dict(labels))

    # -- images between engines ---------------------------------------------------------------

    @translated
    def save_image(self, image: str) -> Iterator[bytes]:
        """`docker save`, streamed: the image and its layers as one tar."""
        yield from self.api.get_image(image, chunk_size=1 << 20)

    @translated
    def layer_chains(self) -> set[tuple[str, ...]]:
        """Every chain of layers this engine holds: each prefix of each image's layer list."""
        chains: set[tuple[str, ...]] = set()
        for item in self.api.images():
            try:
                layers = tuple((self.api.inspect_image(item["Id"]).get("RootFS") or {}).get("Layers") or ())
            except docker.errors.NotFound:  # removed since the listing
                continue
            chains.update(layers[:count] for count in range(1, len(layers) + 1))
        return chains

    @translated
    def load_image(self, archive: Iterable[bytes]) -> None:
        """`docker load` of a tar streamed in; the engine's refusal is an error."""
        for event in self.api.load_image(archive):
            if isinstance(event, dict) and event.get("error"):
                raise DockerHelloError(f"The engine could not load the image: {event['error']}")

    @translated
    def push(self, repository: str, tag: str) -> None:
        """`docker push REPOSITORY:TAG`; the registry's refusal is an error, in its words."""
        for event in self.api.push(repository, tag=tag, stream=True, decode=True):
            if isinstance(event, dict) and event.get("error"):
                raise DockerHelloError(
                    f"Pushing {repository}:{tag} failed: {event['error']}",
                    hint="Check that the registry answers from the engine that built the image; a registry "
                    "without TLS must be in every engine's insecure-registries "
                    "(`docker-machine create --engine-insecure-registry HOST:PORT`).",
                )

    # -- the API's form of a service ---------------------------------------------------------------

    def _service_arguments(self, spec: ServiceSpec) -> dict[str, Any]:
        api_version = tuple(int(part) for part in str(self.api.api_version).split("."))
        health = spec.healthcheck
        container = docker.types.ContainerSpec(
            spec.image,
            env=dict(spec.env),
            user=spec.user,
            labels=dict(spec.container_labels),
            read_only=spec.read_only,
            stop_grace_period=int(spec.stop_grace_period * NANOSECONDS),
            mounts=[docker.types.Mount(path, "", type="tmpfs") for path in spec.tmpfs],
            secrets=[
                docker.types.SecretReference(sid, name, filename=file, mode=0o444) for sid, name, file in spec.secrets
            ],
            configs=[
                docker.types.ConfigReference(cid, name, filename=path, mode=0o444) for cid, name, path in spec.configs
            ],
            healthcheck=docker.types.Healthcheck(
                test=list(health.test),
                interval=int(health.interval * NANOSECONDS),
                timeout=int(health.timeout * NANOSECONDS),
                retries=health.retries,
                start_period=int(health.start_period * NANOSECONDS),
            )
            if health
            else None,
            # Services take capabilities from API 1.41 (Engine 20.10); boot2docker's 19.03 has none.
            cap_drop=["ALL"] if spec.cap_drop_all and api_version >= (1, 41) else None,
        )
        resources = docker.types.Resources(cpu_limit=spec.nano_cpus, mem_limit=spec.memory)
        template = docker.types.TaskTemplate(
            container,
            resources=resources,
            restart_policy=docker.types.RestartPolicy(condition="any", delay=NANOSECONDS),
            networks=[docker.types.NetworkAttachmentConfig(spec.network)] if spec.network else None,
        )
        order: Literal["start-first", "stop-first"] = "start-first" if spec.start_first else "stop-first"
        monitor = int(spec.monitor * NANOSECONDS)
        mode = (
            docker.types.ServiceMode("replicated", spec.replicas)
            if spec.replicas is not None
            else docker.types.ServiceMode("global")
        )
        ports: dict[Any, Any] = {published: (target, "tcp", "host") for published, target in spec.host_ports}
        return {
            "task_template": template,
            "name": spec.name,
            "labels": dict(spec.labels),
            "mode": mode,
            "update_config": docker.types.UpdateConfig(
                parallelism=1, delay=0, failure_action="rollback", monitor=monitor, max_failure_ratio=0, order=order
            ),
            "rollback_config": docker.types.RollbackConfig(
                parallelism=1, delay=0, failure_action="pause", monitor=monitor, max_failure_ratio=0, order=order
            ),
            "endpoint_spec": docker.types.EndpointSpec(mode="dnsrr" if spec.dnsrr else "vip", ports=ports or None),
        }
