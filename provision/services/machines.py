"""Docker Machine VMs in VirtualBox: create them as the tutorial does, safely, and run them."""

from __future__ import annotations

from dataclasses import dataclass

from provision.adapters.docker_machine import (
    DockerMachine,
    Machine,
    MachineState,
    MachineSummary,
)
from provision.console import Console
from provision.defaults import (
    DEFAULT_HOSTONLY_CIDR,
    DEFAULT_MACHINE,
    MACHINE_CPUS,
    MACHINE_DISK_MB,
    MACHINE_MEMORY_MB,
)
from provision.engine import EngineTarget
from provision.errors import DockerHelloError, MachineNotFound, ToolFailed


@dataclass(frozen=True)
class MachineSpec:
    """The tutorial's machine: 2 CPUs, 4096 MB memory, 5000 MB disk."""

    name: str = DEFAULT_MACHINE
    cpus: int = MACHINE_CPUS
    memory_mb: int = MACHINE_MEMORY_MB
    disk_mb: int = MACHINE_DISK_MB
    hostonly_cidr: str = DEFAULT_HOSTONLY_CIDR

    def create_flags(self) -> list[str]:
        return [
            "--driver", "virtualbox",
            "--virtualbox-cpu-count", str(self.cpus),
            "--virtualbox-memory", str(self.memory_mb),
            "--virtualbox-disk-size", str(self.disk_mb),
            "--virtualbox-hostonly-cidr", self.hostonly_cidr,
        ]  # fmt: skip


@dataclass(frozen=True)
class MachineStatus:
    name: str
    state: MachineState
    url: str | None
    ip: str | None
    docker_version: str | None
    error: str | None
    cpus: int
    memory_mb: int
    disk_mb: int
    hostonly_cidr: str | None


class Machines:
    def __init__(self, machine: DockerMachine, console: Console) -> None:
        self.machine = machine
        self.console = console

    def find(self, name: str) -> MachineSummary | None:
        return next((m for m in self.machine.ls() if m.name == name), None)

    def create(self, spec: MachineSpec, keep_on_failure: bool = False) -> str:
        """Create the machine, or start it if it exists stopped; what was done, in words.

        The spec's values were checked at the door (`provision.cli.params`)."""
        existing = self.find(spec.name)
        if existing is not None:
            return self._ensure_running(existing)
        self.console.step(
            f"Creating machine {spec.name} (virtualbox, {spec.cpus} CPUs, {spec.memory_mb} MB memory, "
            f"{spec.disk_mb} MB disk, host-only network {spec.hostonly_cidr})"
        )
        try:
            self.machine.create(spec.name, spec.create_flags(), self.console.stream)
        except ToolFailed as exc:
            raise self._create_failed(spec, exc, keep_on_failure) from None
        except KeyboardInterrupt:
            # docker-machine registers the machine before its driver runs: an interrupted
            # create leaves an entry that a second create would "start" as if it were whole.
            self._remove_half_made(spec.name, keep_on_failure, "interrupted create")
            raise
        return f'Machine "{spec.name}" was created.'

    def _remove_half_made(self, name: str, keep: bool, what: str) -> str | None:
        """Remove the entry a failed or interrupted create left; a hint when it is kept."""
        if self.find(name) is None:
            return None
        if keep:
            self.console.info(f'Kept the machine "{name}" the {what} left behind (--keep-on-failure).')
            return f" The broken machine entry was kept (remove it with `dockerhello machine rm -y {name}`)."
        self.machine.rm(name, force=True)
        self.console.info(
            f'Removed the broken machine "{name}" that the {what} left behind (--keep-on-failure keeps it for '
            "debugging)."
        )
        return None

    def _ensure_running(self, existing: MachineSummary) -> str:
        if existing.state is MachineState.RUNNING:
            return f'Machine "{existing.name}" already exists and is running.'
        if existing.state in (MachineState.STOPPED, MachineState.SAVED, MachineState.PAUSED):
            self.console.info(f'Machine "{existing.name}" already exists ({existing.state}): starting it.')
            self.machine.start(existing.name, self.console.stream)
            return f'Machine "{existing.name}" was started.'
        raise DockerHelloError(
            f'Machine "{existing.name}" exists but is broken ({existing.state}): {existing.error or "no details"}',
            hint=f"Remove it with `dockerhello machine rm -y {existing.name}`, then create it again.",
        )

    def _create_failed(self, spec: MachineSpec, exc: ToolFailed, keep: bool) -> DockerHelloError:
        # create's output is streamed with stderr merged in: its last lines say why it failed.
        said = (exc.stderr or exc.stdout).strip()
        last = [line for line in said.splitlines() if line.strip()]
        message = f"docker-machine create failed: {last[-1] if last else exc.message}"
        if exc.returncode is None:  # stopped by the watchdog: its last line says nothing of why
            message = exc.message
        if "E_ACCESSDENIED" in said:
            hint = (
                "VirtualBox 6.1.28 and later only allow host-only networks in 192.168.56.0/21: use "
                f"--hostonly-cidr {DEFAULT_HOSTONLY_CIDR}, or allow the range in /etc/vbox/networks.conf "
                "(e.g. `* 192.168.99.0/24`)."
            )
        elif "VT-X/AMD-v" in said:
            hint = "Enable hardware virtualisation (VT-x/AMD-V) in the BIOS/UEFI; `dockerhello doctor` checks it."
        elif "VBoxManage not found" in said:
            hint = "Install VirtualBox; `dockerhello doctor` says how on this system."
        else:
            hint = "docker-machine's output above says what failed; `dockerhello doctor` checks the usual causes."
        details = last[:-1][-8:] if exc.returncode != 3 else []
        # Exit 3 is a failed pre-create check, after which docker-machine stores nothing.
        if exc.returncode != 3:
            hint += self._remove_half_made(spec.name, keep, "failed create") or ""
        return DockerHelloError(message, hint=hint, details=details)

    def status(self, name: str) -> MachineStatus:
        summary = self.find(name)
        if summary is None:
            raise MachineNotFound(name)
        detail: Machine = self.machine.inspect(name)
        ip = None
        if summary.url:
            ip = EngineTarget(host=summary.url).hostname
        return MachineStatus(
            name=name,
            state=summary.state,
            url=summary.url,
            ip=ip,
            docker_version=summary.docker_version,
            error=summary.error,
            cpus=detail.cpus,
            memory_mb=detail.memory_mb,
            disk_mb=detail.disk_mb,
            hostonly_cidr=detail.hostonly_cidr,
        )

    def start(self, name: str) -> str:
        state = self.machine.status(name)
        if state is MachineState.RUNNING:
            return f'Machine "{name}" is already running.'
        self.machine.start(name, self.console.stream)
        return f'Machine "{name}" was started.'

    def stop(self, name: str) -> str:
        state = self.machine.status(name)
        if state is not MachineState.RUNNING:
            return f'Machine "{name}" is already stopped ({state}).'
        self.machine.stop(name, self.console.stream)
        return f'Machine "{name}" was stopped.'

    def rm(self, name: str) -> str:
        if self.find(name) is None:
            self.machine.inspect(name)  # docker-machine's own "does not exist"
        self.machine.rm(name, force=True)
        return f'Machine "{name}" was removed.'

    def engine_target(self, name: str) -> EngineTarget:
        """The machine's engine, from `docker-machine env` (which checks TLS first)."""
        return EngineTarget.from_environ(self.machine.env(name))
