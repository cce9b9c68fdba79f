"""Step 1 of a deploy: what would make it fail later, found before anything is built or
stopped: a published port that is taken, limits the engine cannot give."""

from __future__ import annotations

import socket

from provision.adapters.engine import Engine
from provision.adapters.engine_model import ContainerInfo, EngineInfo
from provision.engine import EngineTarget
from provision.errors import DeployFailed, DockerHelloError
from provision.owned import LABEL_PUBLISH, LABEL_ROLE, ROLE_PROXY
from provision.services.proxy_layout import published
from provision.settings import Hardening
from provision.validators import Publish

ELSEWHERE = "publish elsewhere with --publish, e.g. --publish 127.0.0.1:8001."


def host_port_free(publish: Publish) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in publish.host_ip else socket.AF_INET) as probe:
        # As servers bind (nginx, docker-proxy): connections the last server on the port closed
        # linger in TIME_WAIT for a minute after a `down`, and must not make the port look taken.
        # A socket that listens there still refuses this bind on Linux.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((publish.host_ip, publish.host_port))
        except OSError:
            return False
    return True


def check_port(
    engine: Engine, target: EngineTarget, app: str, proxy: ContainerInfo | None, publish: Publish,
    port_free: bool | None,
) -> None:  # fmt: skip
    """`port_free`: whether this host's port is free (None: not this host's, a VM's)."""
    if proxy is not None and proxy.labels.get(LABEL_ROLE) == ROLE_PROXY:
        bound = published(proxy)
        if bound.host_port != publish.host_port:
            raise DockerHelloError(
                f"{app} is published on port {bound.host_port}, not {publish.host_port}",
                hint=f"Deploy with --publish {bound}, or `dockerhello down --app {app}` first to move it.",
            )
        return
    for container in engine.containers(running_only=True):
        ports = {binding.host_port for binding in container.port_bindings}
        if LABEL_PUBLISH in container.labels:  # another app's proxy, which may be on the host network
            ports.add(published(container).host_port)
        if publish.host_port in ports:
            raise DeployFailed(
                f"Port {publish} is already published by container {container.name}",
                hint=f"Stop it, or {ELSEWHERE}",
            )
    if port_free is False:
        raise DeployFailed(
            f"Port {publish} is already in use on this host",
            hint=f"Stop what listens there (`ss -ltnp 'sport = :PORT'` shows it), or {ELSEWHERE}",
        )


def check_limits(info: EngineInfo, hardening: Hardening, where: str) -> None:
    """Limits the engine would refuse, found before the build rather than after it."""
    if hardening.cpus and info.cpus and hardening.cpus > info.cpus:
        raise DeployFailed(
            f"--cpus {hardening.cpus:g} is more than the {info.cpus} CPUs of the {where}",
            hint=f"Give at most --cpus {info.cpus}, or --cpus 0 for no limit.",
        )
    if hardening.memory and info.memory and hardening.memory > info.memory:
        raise DeployFailed(
            f"--memory {hardening.memory / 2**20:.0f} MB is more than the {info.memory / 2**20:.0f} MB of the {where}",
            hint='Give less, or --memory "" for no limit.',
        )
