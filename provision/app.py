"""The composition root: what every command is given to work with.

Commands receive an `App` instead of reaching for os.environ, subprocess or docker.from_env,
so tests build one with their own environment, PATH of stand-ins and output streams.
"""

from __future__ import annotations

import os
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import docker

from provision.adapters.docker_machine import DEFAULT_MACHINE, DockerMachine
from provision.adapters.vboxmanage import VBoxManage
from provision.console import Console
from provision.engine import ClientFactory, EngineTarget, connect
from provision.process import Runner
from provision.secret_store import SecretStore
from provision.services.deploy import Deployer
from provision.services.machines import Machines


def default_state_dir(environ: Mapping[str, str]) -> Path:
    """DOCKERHELLO_HOME, else $XDG_STATE_HOME/dockerhello, else ~/.local/state/dockerhello."""
    if environ.get("DOCKERHELLO_HOME"):
        return Path(environ["DOCKERHELLO_HOME"])
    home = Path(environ.get("HOME") or os.path.expanduser("~"))
    return Path(environ.get("XDG_STATE_HOME") or home / ".local" / "state") / "dockerhello"


@dataclass
class App:
    environ: Mapping[str, str]
    console: Console = field(default_factory=Console)
    runner: Runner | None = None
    connect: ClientFactory = connect
    state_dir: Path | None = None
    open_url: Callable[[str], bool] = webbrowser.open

    def __post_init__(self) -> None:
        if self.runner is None:
            self.runner = Runner(self.environ)
        if self.state_dir is None:
            self.state_dir = default_state_dir(self.environ)

    @property
    def run(self) -> Runner:
        assert self.runner is not None
        return self.runner

    @property
    def secrets(self) -> SecretStore:
        assert self.state_dir is not None
        return SecretStore(self.state_dir)

    @property
    def docker_machine(self) -> DockerMachine:
        return DockerMachine(self.run)

    @property
    def vboxmanage(self) -> VBoxManage:
        return VBoxManage(self.run)

    @property
    def machines(self) -> Machines:
        return Machines(self.docker_machine, self.console)

    def default_machine(self) -> str:
        """The machine `eval "$(dockerhello env)"` loaded, else docker-machine's `default`."""
        return self.environ.get("DOCKER_MACHINE_NAME") or DEFAULT_MACHINE

    def engine_target(self, machine: str | None = None) -> EngineTarget:
        """The named machine's engine; else the one the environment names (DOCKER_HOST...,
        as `eval "$(dockerhello env)"` sets them); else the local default."""
        if machine:
            return self.machines.engine_target(machine)
        return EngineTarget.from_environ(self.environ)

    def client(self, target: EngineTarget) -> docker.DockerClient:
        return self.connect(target)

    def deployer(self, target: EngineTarget) -> Deployer:
        assert self.state_dir is not None
        return Deployer(self.client(target), target, self.console, self.secrets, self.run, self.state_dir)

    @classmethod
    def from_os(cls, quiet: bool = False) -> App:
        return cls(environ=dict(os.environ), console=Console(quiet=quiet))
