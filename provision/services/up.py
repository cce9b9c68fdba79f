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
from provision.project import Publish, load_project
from provision.services.deploy import Deployer, DeployOptions, options_for
from provision.services.machines import Machines, MachineSpec
from provision.services.ports import PortForwarder


@dataclass(frozen=True)
class UpResult:
    url: str
    machine: str | None  # None: the local engine was used


class Up:
    def __init__(
        self,
        docker_machine: DockerMachine,
        vbox: VBoxManage,
        deployer: Callable[[EngineTarget], Deployer],
        console: Console,
        local_target: EngineTarget,
    ) -> None:
        self.docker_machine = docker_machine
        self.vbox = vbox
        self.deployer = deployer
        self.console = console
        self.local_target = local_target

    def virtualbox_available(self) -> bool:
        return self.docker_machine.available() and self.vbox.available()

    def run(self, path: Path, app: str | None, spec: MachineSpec, port: int, base_image: str | None) -> UpResult:
        project = load_project(path, app)  # before anything runs: a missing Dockerfile stops here
        options = DeployOptions(publish=Publish("127.0.0.1", port), base_image=base_image)
        if not self.virtualbox_available():
            self.console.warn(
                "docker-machine and VirtualBox are not both installed here (`dockerhello doctor` says how): "
                f"deploying to the local engine instead, the {self.local_target.describe()}."
            )
            target = self.local_target
            self.deployer(target).deploy(project, options)
            return UpResult(f"http://localhost:{port}/", None)

        self.console.step(f"Machine {spec.name}")
        self.console.info(Machines(self.docker_machine, self.console).create(spec))
        # The NAT rule first: a taken host port is found before the long build, and a rule
        # with nothing behind it yet is harmless.
        self.console.step(f"Forwarding 127.0.0.1:{port} to port {port} of VM {spec.name}")
        forward = PortForwarder(self.vbox, self.console).add(spec.name, guest_port=port, host_port=None)
        target = Machines(self.docker_machine, self.console).engine_target(spec.name)
        self.deployer(target).deploy(project, options_for(target, options))
        host_ip = forward.rule.host_ip or "127.0.0.1"
        host = "localhost" if host_ip in ("127.0.0.1", "0.0.0.0") else host_ip
        return UpResult(f"http://{host}:{forward.rule.host_port}/", spec.name)
