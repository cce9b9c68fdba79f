"""What dockerhello reads from and asks of the Docker engine, as frozen values, and the pure
functions that make them from the engine's JSON (its `inspect` output, its build stream).

No SDK here: `provision.adapters.engine` talks to the engine and hands these out, and the
parsers are tested on recorded output (tests/data/engine/).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class PortBinding:
    container_port: str  # "8000/tcp"
    host_ip: str  # "" or "0.0.0.0": every interface
    host_port: int


@dataclass(frozen=True)
class ContainerInfo:
    """A container as `docker inspect` shows it: what dockerhello decides on."""

    id: str
    name: str
    image_id: str
    labels: Mapping[str, str]
    status: str  # created, running, restarting, exited, dead, paused, removing
    running: bool
    restarting: bool
    exit_code: int
    started_at: str  # RFC 3339 with nanoseconds; "0001-01-01T00:00:00Z" when never started
    health: str | None  # starting, healthy, unhealthy; None: the image has no HEALTHCHECK
    health_output: str  # the last health check's output
    restart_count: int
    env: tuple[str, ...]
    user: str
    port_bindings: tuple[PortBinding, ...]
    read_only: bool
    cap_drop: tuple[str, ...]
    security_opt: tuple[str, ...]
    memory: int | None  # bytes
    nano_cpus: int | None
    addresses: Mapping[str, str] = field(default_factory=dict)  # network name -> IPv4 address
    healthcheck: tuple[str, ...] = ()  # the HEALTHCHECK's test as argv; () without one
    network_mode: str = ""  # "host", "bridge", a network's name
    mounts: Mapping[str, str] = field(default_factory=dict)  # volume name -> path in the container
    oom_killed: bool = False  # the kernel killed a process of it at its memory limit (the last run's)

    @property
    def health_argv(self) -> tuple[str, ...]:
        """The health check as a command to exec: ("CMD", argv...) or ("CMD-SHELL", line)."""
        kind, *rest = self.healthcheck or ("NONE",)
        if kind == "CMD" and rest:
            return tuple(rest)
        if kind == "CMD-SHELL" and rest:
            return ("/bin/sh", "-c", rest[0])
        return ()

    @property
    def exited(self) -> bool:
        return self.status in ("exited", "dead")


@dataclass(frozen=True)
class ImageInfo:
    id: str
    tags: tuple[str, ...]
    labels: Mapping[str, str]
    user: str
    env: tuple[str, ...]
    size: int
    layers: tuple[str, ...]
    volumes: tuple[str, ...] = ()  # the paths it declares VOLUME
    created: datetime | None = None  # when it was built (or imported)

    def tags_in(self, repository: str) -> tuple[str, ...]:
        """Its tags REPOSITORY:TAG. Two apps that build the same thing get one image, tagged
        by both: an app removes its own tags, and the image only when no other app tags it."""
        return tuple(tag for tag in self.tags if tag.rpartition(":")[0] == repository)


@dataclass(frozen=True)
class EngineInfo:
    cpus: int
    memory: int  # bytes
    version: str
    api_version: str
    # Whether a container on the host network listens on the host the user reaches: not on
    # Docker Desktop (its host is a VM's) nor a rootless engine (its host is a namespace's).
    host_network_is_host: bool = True


@dataclass(frozen=True)
class BuildEvent:
    """One chunk of a build's stream: a line of output, pull progress, or the error."""

    kind: str  # "stream", "status" or "error"
    text: str


@dataclass(frozen=True)
class ContainerSpec:
    """A container dockerhello creates: the release, or the app's proxy."""

    image: str
    name: str
    labels: Mapping[str, str]
    network: str
    env: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    read_only: bool = False
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    cap_drop: tuple[str, ...] = ()
    no_new_privileges: bool = False
    memory: int | None = None
    nano_cpus: int | None = None
    pids_limit: int | None = None
    stop_timeout: int | None = None
    publish: PortBinding | None = None
    volumes: Mapping[str, str] = field(default_factory=dict)  # volume name -> path in the container
    read_only_volumes: Mapping[str, str] = field(default_factory=dict)  # the same, mounted read-only
    restart: str = "unless-stopped"
    ipv4_address: str | None = None  # on `network`, which must have a subnet of dockerhello's choosing
    command: tuple[str, ...] | None = None  # None: the image's CMD
    tty: bool = False  # with stdin open: an interactive one-off


@dataclass(frozen=True)
class NetworkInfo:
    name: str
    subnet: str | None  # "172.19.0.0/16"
    gateway: str | None
    labels: Mapping[str, str]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_container(data: Mapping[str, Any]) -> ContainerInfo:
    """`docker inspect CONTAINER`, one object of it."""
    state, config, host = _dict(data.get("State")), _dict(data.get("Config")), _dict(data.get("HostConfig"))
    health = _dict(state.get("Health"))
    log = health.get("Log") or []
    bindings = tuple(
        PortBinding(port, str(binding.get("HostIp") or ""), int(binding.get("HostPort") or 0))
        for port, entries in _dict(host.get("PortBindings")).items()
        for binding in entries or []
    )
    return ContainerInfo(
        id=str(data.get("Id", "")),
        name=str(data.get("Name", "")).lstrip("/"),
        image_id=str(data.get("Image", "")),
        labels=dict(config.get("Labels") or {}),
        status=str(state.get("Status", "")),
        running=bool(state.get("Running")),
        restarting=bool(state.get("Restarting")),
        exit_code=int(state.get("ExitCode") or 0),
        started_at=str(state.get("StartedAt") or ""),
        health=health.get("Status") or None,
        health_output=str((log[-1] or {}).get("Output") or "").strip() if log else "",
        restart_count=int(data.get("RestartCount") or 0),
        env=tuple(config.get("Env") or ()),
        user=str(config.get("User") or ""),
        port_bindings=bindings,
        read_only=bool(host.get("ReadonlyRootfs")),
        cap_drop=tuple(host.get("CapDrop") or ()),
        security_opt=tuple(host.get("SecurityOpt") or ()),
        memory=int(host["Memory"]) if host.get("Memory") else None,
        nano_cpus=int(host["NanoCpus"]) if host.get("NanoCpus") else None,
        addresses={
            str(name): str(_dict(endpoint).get("IPAddress") or "")
            for name, endpoint in _dict(_dict(data.get("NetworkSettings")).get("Networks")).items()
        },
        healthcheck=tuple(str(part) for part in _dict(config.get("Healthcheck")).get("Test") or ()),
        network_mode=str(host.get("NetworkMode") or ""),
        oom_killed=bool(state.get("OOMKilled")),
        mounts={
            str(mount.get("Name")): str(mount.get("Destination") or "")
            for mount in data.get("Mounts") or []
            if isinstance(mount, dict) and mount.get("Type") == "volume" and mount.get("Name")
        },
    )


def parse_network(data: Mapping[str, Any]) -> NetworkInfo:
    """`docker network inspect NETWORK`, one object of it."""
    config = next(iter(_dict(data.get("IPAM")).get("Config") or []), None)
    pool = _dict(config)
    return NetworkInfo(
        name=str(data.get("Name", "")),
        subnet=str(pool["Subnet"]) if pool.get("Subnet") else None,
        gateway=str(pool["Gateway"]) if pool.get("Gateway") else None,
        labels=dict(data.get("Labels") or {}),
    )


def parse_image(data: Mapping[str, Any]) -> ImageInfo:
    """`docker image inspect IMAGE`, one object of it."""
    config = _dict(data.get("Config"))
    return ImageInfo(
        id=str(data.get("Id", "")),
        tags=tuple(data.get("RepoTags") or ()),
        labels=dict(config.get("Labels") or {}),
        user=str(config.get("User") or ""),
        env=tuple(config.get("Env") or ()),
        size=int(data.get("Size") or 0),
        layers=tuple(_dict(data.get("RootFS")).get("Layers") or ()),
        volumes=tuple(sorted(_dict(config.get("Volumes")))),
        created=parse_time(str(data.get("Created") or "")),
    )


def label_values(listed: Sequence[Mapping[str, Any]], label: str) -> list[str]:
    """The values of `label` in the engine's listings (of containers, of volumes: both carry
    `Labels`, which a volume made without any has as null), each once, sorted."""
    return sorted({str(item["Labels"][label]) for item in listed if label in (item.get("Labels") or {})})


def parse_time(text: str) -> datetime | None:
    """Docker's nanosecond times (2026-11-23T21:02:17.123456789Z); None for "never"."""
    if not text or text.startswith("0001-"):
        return None
    head, _, rest = text.partition(".")
    micro = "".join(ch for ch in rest if ch.isdigit())[:6]
    return datetime.fromisoformat(f"{head.rstrip('Z')}.{micro or '0'}+00:00")


def parse_info(info: Mapping[str, Any], version: Mapping[str, Any]) -> EngineInfo:
    """`docker info` and `docker version`."""
    return EngineInfo(
        cpus=int(info.get("NCPU") or 0),
        memory=int(info.get("MemTotal") or 0),
        version=str(version.get("Version", "")),
        api_version=str(version.get("ApiVersion", "")),
        host_network_is_host=str(info.get("OperatingSystem") or "") != "Docker Desktop"
        and not any("rootless" in str(option) for option in info.get("SecurityOptions") or ()),
    )


def parse_build_chunk(chunk: Mapping[str, Any]) -> BuildEvent | None:
    """One decoded object of the build stream (`/build`), or None for what says nothing
    to a person (aux image ids, empty progress)."""
    if "error" in chunk:
        return BuildEvent("error", str(chunk["error"]).strip())
    if "stream" in chunk:
        return BuildEvent("stream", str(chunk["stream"]))
    if "status" in chunk:
        # A pull's progress ticks, hundreds a layer, are left out, as `docker build` leaves them
        # out where it writes to no terminal; each line names its layer (or tag), as docker's do.
        if "current" in (chunk.get("progressDetail") or {}):
            return None
        layer = chunk.get("id")
        return BuildEvent("status", (f"{layer}: " if layer else "") + f"{chunk['status']}\n")
    return None


def parse_exec_stream(data: bytes) -> str:
    """What a command run without a terminal wrote, both streams in the order written, from
    the engine's multiplexed stream: frames of an 8-byte header (the stream, 3 zero bytes,
    the length, big-endian) and that many bytes. A frame cut short keeps what came of it."""
    output, at = bytearray(), 0
    while at + 8 <= len(data):
        length = int.from_bytes(data[at + 4 : at + 8], "big")
        output += data[at + 8 : at + 8 + length]
        at += 8 + length
    return output.decode("utf-8", errors="replace")
