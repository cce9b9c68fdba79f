"""A client for an engine, and `Engine`: one method per engine operation dockerhello uses,
each handing out the values of `provision.adapters.engine_model` and raising only
dockerhello's errors."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import docker
import docker.errors
import docker.tls
import docker.types
import requests.exceptions

from provision.adapters.engine.connection import connect
from provision.adapters.engine.inside import InsideContainers
from provision.adapters.engine.swarm import SwarmOperations
from provision.adapters.engine.translated import translated
from provision.adapters.engine_model import (
    BuildEvent,
    ContainerInfo,
    ContainerSpec,
    EngineInfo,
    ImageInfo,
    NetworkInfo,
    label_values,
    parse_build_chunk,
    parse_container,
    parse_image,
    parse_info,
    parse_network,
)
from provision.engine import EngineTarget
from provision.errors import NameTaken


class Engine(InsideContainers, SwarmOperations):
    """One method per engine operation dockerhello uses. Each returns the values of
    `engine_model` and raises only dockerhello's errors (`translate`); a missing object is
    None or False, not an error, where callers decide what missing means."""

    def __init__(self, client: docker.DockerClient, target: EngineTarget) -> None:
        self.client = client
        self.api: docker.APIClient = client.api
        self.target = target
        self._info: EngineInfo | None = None

    @classmethod
    def connect(cls, target: EngineTarget) -> Engine:
        return cls(connect(target), target)

    # -- the engine itself -----------------------------------------------------------------

    @translated
    def info(self) -> EngineInfo:
        """The engine's CPUs, memory and version, asked once: they hold for a command's life,
        and /info is one of the engine's slowest answers."""
        if self._info is None:
            self._info = parse_info(self.api.info(), self.api.version())
        return self._info

    # -- images ---------------------------------------------------------------------------------

    @translated
    def image(self, reference: str) -> ImageInfo | None:
        try:
            return parse_image(self.api.inspect_image(reference))
        except docker.errors.NotFound:  # ImageNotFound is one
            return None

    @translated
    def images(self, repository: str) -> list[ImageInfo]:
        """The images of one repository (`docker images REPOSITORY`), fully inspected."""
        listed = self.api.images(name=repository)
        return [parse_image(self.api.inspect_image(item["Id"])) for item in listed]

    @translated
    def tag(self, image: str, repository: str, tag: str) -> None:
        self.api.tag(image, repository, tag)

    @translated
    def remove_image(self, reference: str, force: bool = False) -> bool:
        """False when it was not there; an image in use is the engine's refusal."""
        try:
            self.api.remove_image(reference, force=force)
        except docker.errors.NotFound:
            return False
        return True

    @translated
    def prune_dangling_images(self) -> tuple[list[str], int]:
        pruned = self.api.prune_images(filters={"dangling": True})
        deleted = [str(d["Deleted"]) for d in pruned.get("ImagesDeleted") or [] if d.get("Deleted")]
        return deleted, int(pruned.get("SpaceReclaimed") or 0)

    @translated
    def prune_build_cache(self) -> int:
        return int(self.api.prune_builds().get("SpaceReclaimed") or 0)

    @translated
    def build(
        self, tag: str, labels: Mapping[str, str], buildargs: Mapping[str, str] | None = None,
        path: Path | None = None, context: bytes | None = None, pull: bool = False, nocache: bool = False,
    ) -> Iterator[BuildEvent]:  # fmt: skip
        """Build from a directory (`path`) or a tar `context`, streaming as it goes (the
        high-level build only returns at the end). No intermediate container is left, even
        by a failed step. `pull` and `nocache` are `docker build`'s --pull and --no-cache."""
        stream = self.api.build(
            path=str(path) if path is not None else None,
            fileobj=io.BytesIO(context) if context is not None else None,
            custom_context=context is not None,
            tag=tag, buildargs=dict(buildargs) if buildargs else None,
            # The engine adds a LABEL step for these, after the last of the Dockerfile's.
            labels=dict(labels) if labels else None,
            rm=True, forcerm=True, decode=True, pull=pull, nocache=nocache,
        )  # fmt: skip
        for chunk in stream:
            event = parse_build_chunk(chunk)
            if event is not None:
                yield event

    @translated
    def import_archive(self, data: bytes, repository: str, tag: str, changes: Sequence[str]) -> None:
        """`docker import` of a filesystem tar held in memory."""
        self.api.import_image_from_data(data, repository=repository, tag=tag, changes=list(changes))

    @translated
    def import_image(self, archive: Path, repository: str, tag: str, changes: Sequence[str]) -> None:
        self.api.import_image_from_file(str(archive), repository=repository, tag=tag, changes=list(changes))

    # -- containers ---------------------------------------------------------------------------

    @translated
    def container(self, name: str) -> ContainerInfo | None:
        try:
            return parse_container(self.api.inspect_container(name))
        except docker.errors.NotFound:
            return None

    @translated
    def containers(self, labels: Mapping[str, str] | None = None, running_only: bool = False) -> list[ContainerInfo]:
        """Containers with all of `labels`, fully inspected (a listing has no State)."""
        filters = {"label": [f"{key}={value}" for key, value in (labels or {}).items()]} if labels else None
        listed = self.api.containers(all=not running_only, filters=filters)
        found = []
        for item in listed:
            try:
                found.append(parse_container(self.api.inspect_container(item["Id"])))
            except docker.errors.NotFound:  # removed between the listing and now
                continue
        return found

    @translated
    def create(self, spec: ContainerSpec) -> str:
        """The new container's id. The low-level API: the high-level create() takes no
        stop_timeout, which makes a plain `docker stop` wait for a graceful shutdown too."""
        publish = spec.publish
        try:
            host_config = self.api.create_host_config(
                restart_policy={"Name": spec.restart},
                network_mode=spec.network,
                read_only=spec.read_only,
                tmpfs=dict(spec.tmpfs) or None,
                cap_drop=list(spec.cap_drop) or None,
                security_opt=["no-new-privileges:true"] if spec.no_new_privileges else None,
                mem_limit=spec.memory,
                nano_cpus=spec.nano_cpus,
                pids_limit=spec.pids_limit,
                port_bindings={publish.container_port: (publish.host_ip, publish.host_port)} if publish else None,
                binds={
                    **{volume: {"bind": path, "mode": "rw"} for volume, path in spec.volumes.items()},
                    **{volume: {"bind": path, "mode": "ro"} for volume, path in spec.read_only_volumes.items()},
                }
                or None,
            )
            networking = (  # a dict of endpoint configs, whatever the stub says
                self.api.create_networking_config(
                    {spec.network: self.api.create_endpoint_config(ipv4_address=spec.ipv4_address)}  # type: ignore[arg-type]
                )
                if spec.ipv4_address
                else None
            )
            created = self.api.create_container(  # a name in use: 409, the engine's own atomic check
                spec.image, name=spec.name, user=spec.user, environment=dict(spec.env) or None,
                labels=dict(spec.labels), host_config=host_config, stop_signal="SIGTERM",
                stop_timeout=spec.stop_timeout, ports=[publish.container_port] if publish else None,
                networking_config=networking, command=list(spec.command) if spec.command is not None else None,
                tty=spec.tty, stdin_open=spec.tty,
            )  # fmt: skip
        except docker.errors.APIError as exc:
            if exc.status_code == 409:
                raise NameTaken(f"The {self.target.describe()} has a container named {spec.name} already") from exc
            raise
        return str(created["Id"])

    @translated
    def start(self, container: str) -> None:
        self.api.start(container)

    @translated
    def stop(self, container: str, timeout: int) -> None:
        try:
            self.api.stop(container, timeout=timeout)
        except docker.errors.NotFound:
            return

    @translated
    def quit(self, container: str, signal: str, timeout: int) -> None:
        """Send `signal` (a graceful one, as nginx's SIGQUIT) and wait up to `timeout` s for
        the container to exit; then stop it, as `docker stop` does. Gone already: nothing."""
        try:
            self.api.kill(container, signal=signal)
            self.api.wait(container, timeout=timeout)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            if "is not running" not in str(exc):
                raise
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):  # still running
            self.api.stop(container, timeout=0)

    @translated
    def rename(self, container: str, name: str) -> None:
        self.api.rename(container, name)

    @translated
    def remove(self, container: str, force: bool = False) -> bool:
        """False when it was not there (already gone is as good as removed)."""
        try:
            self.api.remove_container(container, force=force)
        except docker.errors.NotFound:
            return False
        return True

    @translated
    def wait(self, container: str) -> int:
        """Block until the container exits; its exit code."""
        return int(self.api.wait(container).get("StatusCode", -1))

    @translated
    def logs(self, container: str, tail: int) -> list[str]:
        """The last `tail` lines; none for a container that is gone."""
        try:
            raw = self.api.logs(container, tail=tail)
        except docker.errors.NotFound:
            return []
        return bytes(raw).decode("utf-8", errors="replace").splitlines()

    @translated
    def follow_logs(self, container: str, tail: int) -> Iterator[str]:
        for chunk in self.api.logs(container, stream=True, follow=True, tail=tail):
            yield bytes(chunk).decode("utf-8", errors="replace")

    # -- networks and volumes -------------------------------------------------------------------

    @translated
    def network(self, name: str) -> NetworkInfo | None:
        for listed in self.api.networks(names=[name]):
            if listed.get("Name") == name:  # the filter matches a part of the name too
                try:
                    return parse_network(self.api.inspect_network(listed["Id"]))
                except docker.errors.NotFound:
                    return None
        return None

    @translated
    def create_network(self, name: str, labels: Mapping[str, str]) -> NetworkInfo:
        """A bridge network whose subnet is the engine's choice but written down as the user's,
        which is what lets a container have a fixed address on it: the engine refuses one on a
        subnet it picked itself. So: let it pick, note the pick, and create it again with it."""
        picked = parse_network(self.api.inspect_network(self.api.create_network(name, driver="bridge")["Id"]))
        self.api.remove_network(name)
        pool = docker.types.IPAMPool(subnet=picked.subnet, gateway=picked.gateway)
        created = self.api.create_network(
            name, driver="bridge", labels=dict(labels), ipam=docker.types.IPAMConfig(pool_configs=[pool])
        )
        return parse_network(self.api.inspect_network(created["Id"]))

    @translated
    def connect_network(self, network: str, container: str, ipv4_address: str | None = None) -> None:
        self.api.connect_container_to_network(container, network, ipv4_address=ipv4_address)

    @translated
    def disconnect_network(self, network: str, container: str) -> None:
        try:
            self.api.disconnect_container_from_network(container, network, force=True)
        except docker.errors.NotFound:
            return

    @translated
    def remove_network(self, name: str) -> None:
        try:
            for network in self.api.networks(names=[name]):
                if network.get("Name") == name:
                    self.api.remove_network(network["Id"])
        except docker.errors.NotFound:
            return

    @translated
    def has_volume(self, name: str) -> bool:
        try:
            self.api.inspect_volume(name)
        except docker.errors.NotFound:
            return False
        return True

    @translated
    def volumes(self, labels: Mapping[str, str]) -> list[str]:
        """The names of the volumes with all of `labels`."""
        listed = self.api.volumes(filters={"label": [f"{k}={v}" for k, v in labels.items()]})
        return sorted(str(volume["Name"]) for volume in (listed.get("Volumes") or ()))

    @translated
    def label_values(self, label: str) -> list[str]:
        """The values `label` has on this engine's containers (all of them, stopped ones too)
        and volumes, each once, sorted: two listings, nothing inspected."""
        containers = self.api.containers(all=True, filters={"label": label})
        volumes = self.api.volumes(filters={"label": label}).get("Volumes") or []
        return label_values([*containers, *volumes], label)

    @translated
    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        """Made with `labels` if missing; one that exists is kept as it is (the engine answers
        with it), data and labels alike."""
        self.api.create_volume(name, labels=dict(labels))

    @translated
    def remove_volume(self, name: str) -> bool:
        """False when it was not there."""
        try:
            self.api.remove_volume(name, force=True)
        except docker.errors.NotFound:
            return False
        return True
