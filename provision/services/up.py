"""`up`: everything from nothing to a URL, on a VirtualBox machine where one can run, else on
the local engine. Each step is safe to repeat, so `up` is too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from provision.adapters.docker_machine import DockerMachine
from provision.adapters.vboxmanage import VBoxManage
from provision.console import Console
from provision.engine import EngineTarget
from provision.errors import DockerHelloError
from provision.project import load_project
from provision.services.cluster import Cluster
from provision.services.cluster_deploy import ClusterDeployer
from provision.services.deploy import Deployer, DeployOptions
from provision.services.machines import Machines, MachineSpec
from provision.services.ports import PortForwarder
from provision.settings import DeploySettings


@dataclass(frozen=True)
class UpResult:
    url: str
    machine: str | None  # None: the local engine was used


class Up:
    def __init__(
        self,
        docker_machine: DockerMachine,
        vbox: VBoxManage,
        machines: Machines,
        deployer: Callable[[EngineTarget], Deployer],
        console: Console,
        local_target: EngineTarget,
        cluster: Callable[[], Cluster] | None = None,
        cluster_deployer: Callable[[str], ClusterDeployer] | None = None,
    ) -> None:
        self.docker_machine = docker_machine
        self.vbox = vbox
        self.machines = machines
        self.deployer = deployer
        self.console = console
        self.local_target = local_target
        self.cluster = cluster
        self.cluster_deployer = cluster_deployer

    def virtualbox_available(self) -> bool:
        return self.docker_machine.available() and self.vbox.available()

    def run(self, path: Path, settings: DeploySettings, spec: MachineSpec) -> UpResult:
        """Deploy with `settings`, the same a `deploy` of `path` would use; the published
        port is the port forwarded from this host to the machine."""
        project = load_project(path, settings.app)  # before anything runs: a missing Dockerfile stops here
        options = DeployOptions.from_settings(settings)
        port = settings.publish.host_port
        if not self.virtualbox_available():
            self.console.warn(
                "docker-machine and VirtualBox are not both installed here (`dockerhello doctor` says how): "
                f"deploying to the local engine instead, the {self.local_target.describe()}."
            )
            result = self.deployer(self.local_target).deploy(project, options)
            return UpResult(result.url, None)

        self.console.step(f"Machine {spec.name}")
        self.console.info(self.machines.create(spec))
        # The NAT rule first: a taken host port is found before the long build, and a rule
        # with nothing behind it yet is harmless.
        self.console.step(f"Forwarding 127.0.0.1:{port} to port {port} of VM {spec.name}")
        forward = PortForwarder(self.vbox, self.console).add(spec.name, guest_port=port, host_port=None)
        target = self.machines.engine_target(spec.name)
        self.deployer(target).deploy(project, options)
        host_ip = forward.rule.host_ip or "127.0.0.1"
        host = "localhost" if host_ip in ("127.0.0.1", "0.0.0.0") else host_ip
        return UpResult(f"http://{host}:{forward.rule.host_port}/", spec.name)

    def run_cluster(self, path: Path, settings: DeploySettings, spec: MachineSpec, nodes: int) -> UpResult:
        """`up --nodes N`: the cluster NAME of machines NAME-1 ... NAME-N (NAME: the machine's
        name), the app deployed to it, and this host's port forwarded to NAME-1's nginx."""
        assert self.cluster is not None and self.cluster_deployer is not None
        project = load_project(path, settings.app)
        if not self.virtualbox_available():
            raise DockerHelloError(
                "A cluster needs docker-machine and VirtualBox, and they are not both installed here",
                hint="`dockerhello doctor` says how to install them; `up` without --nodes uses the local engine.",
            )
        port = settings.publish.host_port
        record = self.cluster().create(spec.name, nodes, 1, spec)
        first = record.machines[0]
        self.console.step(f"Forwarding 127.0.0.1:{port} to port {port} of VM {first}")
        forward = PortForwarder(self.vbox, self.console).add(first, guest_port=port, host_port=None)
        self.cluster_deployer(spec.name).deploy(project, DeployOptions.from_settings(settings), None)
        host_ip = forward.rule.host_ip or "127.0.0.1"
        host = "localhost" if host_ip in ("127.0.0.1", "0.0.0.0") else host_ip
        return UpResult(f"http://{host}:{forward.rule.host_port}/", first)
