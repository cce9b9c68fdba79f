"""The composition root: what every command is given to work with.

Commands receive an `App` instead of reaching for os.environ, subprocess or docker.from_env,
so tests build one with their own environment, PATH of stand-ins and output streams.
Collaborators are made when a command first asks for them, and their modules loaded then:
`dockerhello --help` loads none of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provision import validators
from provision.console import Console
from provision.defaults import DEFAULT_MACHINE
from provision.errors import DockerHelloError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from provision.adapters.docker_machine import DockerMachine
    from provision.adapters.engine import Engine
    from provision.adapters.vboxmanage import VBoxManage
    from provision.engine import EngineTarget
    from provision.process import Runner
    from provision.secret_store import SecretStore
    from provision.services.base_image import BaseImageBuilder
    from provision.services.cluster import Cluster
    from provision.services.cluster_deploy import ClusterDeployer
    from provision.services.cluster_operate import ClusterOperator
    from provision.services.database import Database
    from provision.services.deploy import Deployer
    from provision.services.doctor import Doctor
    from provision.services.machines import Machines
    from provision.services.one_off import OneOff
    from provision.services.operate import Operator
    from provision.services.ports import PortForwarder
    from provision.services.releases import ReleaseStore
    from provision.services.sqlite_database import SqliteDatabase
    from provision.services.up import Up


def _open_in_browser(url: str) -> bool:
    import webbrowser

    return webbrowser.open(url)


def _connect(target: EngineTarget) -> Engine:
    from provision.adapters.engine import Engine  # loads the SDK: not at start-up

    return Engine.connect(target)


def default_state_dir(environ: Mapping[str, str]) -> Path:
    """DOCKERHELLO_HOME, else $XDG_STATE_HOME/dockerhello, else ~/.local/state/dockerhello."""
    from pathlib import Path  # every command loads this module; pathlib is not needed for --help

    if environ.get("DOCKERHELLO_HOME"):
        return Path(environ["DOCKERHELLO_HOME"])
    home = Path(environ.get("HOME") or os.path.expanduser("~"))
    return Path(environ.get("XDG_STATE_HOME") or home / ".local" / "state") / "dockerhello"


def checked_state_dir(path: Path) -> Path:
    """The state directory, made if missing; one error naming it if it cannot be used."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DockerHelloError(
            f"dockerhello's state directory {path} is not a directory",
            hint="Point DOCKERHELLO_HOME (or XDG_STATE_HOME) at a directory, or move that file away.",
        ) from None
    except OSError as exc:
        raise DockerHelloError(
            f"Cannot use {path} as dockerhello's state directory: {exc.strerror}",
            hint="Point DOCKERHELLO_HOME at a directory you can write to.",
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise DockerHelloError(
            f"Cannot write to dockerhello's state directory {path}",
            hint="Point DOCKERHELLO_HOME at a directory you can write to.",
        )
    return path


@dataclass
class App:
    """Every collaborator a command needs, and every service, built here and nowhere else."""

    environ: Mapping[str, str]
    console: Console
    runner: Runner
    state_dir: Path
    connect: Callable[[EngineTarget], Engine]
    open_url: Callable[[str], bool]
    # Not a collaborator: the engine this command reached, for its errors' meaning (provision.cli).
    engine_in_use: EngineTarget | None = None

    @classmethod
    def create(
        cls,
        environ: Mapping[str, str],
        console: Console | None = None,
        state_dir: Path | None = None,
        connect: Callable[[EngineTarget], Engine] | None = None,
        open_url: Callable[[str], bool] | None = None,
    ) -> App:
        from provision.process import Runner

        return cls(
            environ=environ,
            console=console or Console(),
            runner=Runner(environ),
            state_dir=state_dir or default_state_dir(environ),
            connect=connect or _connect,
            open_url=open_url or _open_in_browser,
        )

    @classmethod
    def from_os(cls, quiet: bool = False) -> App:
        return cls.create(dict(os.environ), console=Console(quiet=quiet))

    @property
    def state(self) -> Path:
        """dockerhello's state directory (secrets, release records), checked on first use."""
        return checked_state_dir(self.state_dir)

    @property
    def secrets(self) -> SecretStore:
        from provision.secret_store import SecretStore

        return SecretStore(self.state)

    @property
    def docker_machine(self) -> DockerMachine:
        from provision.adapters.docker_machine import DockerMachine

        return DockerMachine(self.runner)

    @property
    def vboxmanage(self) -> VBoxManage:
        from provision.adapters.vboxmanage import VBoxManage

        return VBoxManage(self.runner)

    @property
    def machines(self) -> Machines:
        from provision.services.machines import Machines

        return Machines(self.docker_machine, self.console)

    def cluster(self) -> Cluster:
        from provision.services.cluster import Cluster, ClusterRecords  # loads the SDK: not at start-up

        return Cluster(self.machines, self.docker_machine, self.engine, ClusterRecords(self.state), self.console)

    def cluster_deployer(self, name: str) -> ClusterDeployer:
        from provision.adapters.host import Git
        from provision.services.cluster_deploy import ClusterDeployer  # loads the SDK: not at start-up

        return ClusterDeployer(self.cluster(), name, self.console, self.secrets, Git(self.runner))

    def cluster_operator(self, name: str) -> ClusterOperator:
        from provision.services.cluster_operate import ClusterOperator  # loads the SDK: not at start-up

        return ClusterOperator(self.cluster(), name, self.console)

    def default_machine(self) -> str:
        """The machine `eval "$(dockerhello env)"` loaded, else docker-machine's `default`."""
        name = self.environ.get("DOCKER_MACHINE_NAME") or DEFAULT_MACHINE
        try:
            return validators.machine_name(name)
        except ValueError as exc:
            raise DockerHelloError(
                f"DOCKER_MACHINE_NAME: {exc}",
                hint='Unset it (`eval "$(dockerhello env --unset)"`) or name a machine with --machine.',
            ) from None

    def engine_target(self, machine: str | None = None) -> EngineTarget:
        """The named machine's engine; else the one the environment names (DOCKER_HOST...,
        as `eval "$(dockerhello env)"` sets them); else the local default."""
        from provision.engine import EngineTarget

        if machine:
            return self.machines.engine_target(machine)
        return EngineTarget.from_environ(self.environ)

    def engine(self, target: EngineTarget) -> Engine:
        self.engine_in_use = target
        return self.connect(target)

    def deployer(self, target: EngineTarget) -> Deployer:
        from provision.adapters.host import Git
        from provision.services.deploy import Deployer

        secrets = self.secrets  # the state directory is checked before the engine is reached
        return Deployer(self.engine(target), self.console, secrets, Git(self.runner))

    def up(self) -> Up:
        from provision.services.up import Up  # loads the SDK: not at start-up

        return Up(self.docker_machine, self.vboxmanage, self.machines, self.deployer, self.console,
                  self.engine_target(), self.cluster, self.cluster_deployer)  # fmt: skip

    def release_store(self, app: str, engine: Engine) -> ReleaseStore:
        from provision.services.engine_records import EngineRecords  # loads the SDK: not at start-up
        from provision.services.releases import ReleaseStore

        return ReleaseStore(EngineRecords(engine, app), app, self.console.warn)

    def operator(self, app: str, machine: str | None) -> Operator:
        from provision.services.operate import Operator  # loads the SDK: not at start-up
        from provision.services.proxy import Proxy

        target = self.engine_target(machine)
        engine = self.engine(target)
        proxy = Proxy(engine, self.console)
        return Operator(engine, target, self.release_store(app, engine), proxy, self.database_for(engine))

    def app_database(self, app: str, machine: str | None) -> Database | SqliteDatabase:
        """The app's database on the engine `machine` names (or the environment does), running:
        its PostgreSQL, or its SQLite file."""
        from provision.services.database import of_app
        from provision.services.proxy import Proxy
        from provision.services.sqlite_database import SqliteDatabase

        engine = self.engine(self.engine_target(machine))
        return of_app(app, self.database_for(engine), SqliteDatabase(engine, Proxy(engine, self.console)))

    def database_for(self, engine: Engine) -> Database:
        from provision.secret_store import SecretStore
        from provision.services.database import Database  # loads the SDK: not at start-up

        # Status, down and the db commands never read the password (a deploy does, through
        # the deployer's checked store): they need no state directory, so none is made for them.
        return Database(engine, self.console, SecretStore(self.state_dir))

    def one_off(self, machine: str | None) -> OneOff:
        from provision.services.one_off import OneOff  # loads the SDK: not at start-up
        from provision.services.proxy import Proxy

        engine = self.engine(self.engine_target(machine))
        return OneOff(engine, Proxy(engine, self.console), self.console)

    def port_forwarder(self) -> PortForwarder:
        from provision.services.ports import PortForwarder

        return PortForwarder(self.vboxmanage, self.console)

    def base_builder(self) -> BaseImageBuilder:
        from provision.adapters.host import Debootstrap
        from provision.services.base_image import BaseImageBuilder

        return BaseImageBuilder(Debootstrap(self.runner), self.engine(self.engine_target()), self.console)

    def doctor(self) -> Doctor:
        from provision.adapters.host import Sysctl
        from provision.services.doctor import Doctor  # loads the SDK: not at start-up

        return Doctor(self.docker_machine, self.vboxmanage, self.engine, self.environ, sysctl=Sysctl(self.runner))
