"""docker-machine (0.16.2): the subcommands dockerhello uses, and parsers of their output.

Parsers are pure functions tested on recorded output (tests/data/docker-machine). Where the
tool has a machine-readable mode it is used: `inspect` (JSON) and `ls --format` with TABs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from provision import validators
from provision.defaults import DEFAULT_MACHINE, SHELLS
from provision.errors import (
    CertificateMismatch,
    DockerHelloError,
    MachineNotFound,
    MachineNotRunning,
    ToolFailed,
    ToolNotFound,
)

if TYPE_CHECKING:  # the runner is given; `dockerhello env --help` need not load subprocess
    from provision.process import Completed, Runner

__all__ = ["DEFAULT_MACHINE", "SHELLS", "DockerMachine", "Machine", "MachineState", "MachineSummary"]

PROGRAM = "docker-machine"
ENV_VARIABLES = ("DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME")
# docker-machine turns a literal \t in the template into a TAB (commands/ls.go).
LS_FIELDS = ("Name", "Active", "DriverName", "State", "URL", "DockerVersion", "Error")
LS_FORMAT = "\\t".join("{{." + field + "}}" for field in LS_FIELDS)

INSTALL_HINT = (
    "Install docker-machine: it is archived upstream (docker/machine, last release 0.16.2); GitLab maintains a fork "
    "with releases at https://gitlab.com/gitlab-org/ci-cd/docker-machine/-/releases (on macOS, Homebrew's "
    "`brew install docker-machine` installs 0.16.2)."
)


class MachineState(StrEnum):
    """States as docker-machine prints them (libmachine/state/state.go)."""

    RUNNING = "Running"
    PAUSED = "Paused"
    SAVED = "Saved"
    STOPPED = "Stopped"
    STOPPING = "Stopping"
    STARTING = "Starting"
    ERROR = "Error"
    TIMEOUT = "Timeout"
    UNKNOWN = ""

    @classmethod
    def from_tool(cls, text: str) -> MachineState:
        try:
            return cls(text.strip())
        except ValueError:
            return cls.UNKNOWN

    def __str__(self) -> str:
        return self.value or "Unknown"


@dataclass(frozen=True)
class MachineSummary:
    """One row of `docker-machine ls`."""

    name: str
    active: bool
    driver: str
    state: MachineState
    url: str | None
    docker_version: str | None
    error: str | None


@dataclass(frozen=True)
class Machine:
    """What `docker-machine inspect` records of a machine (it does not contact the VM)."""

    name: str
    driver: str
    ip: str | None
    cpus: int
    memory_mb: int
    disk_mb: int
    hostonly_cidr: str | None
    ssh_port: int | None
    store_path: Path


def parse_ls(text: str) -> list[MachineSummary]:
    """Rows of `docker-machine ls --format LS_FORMAT` (TAB-separated, no header).

    >>> parse_ls("default\\t-\\tvirtualbox\\tStopped\\t\\tUnknown\\t\\n")[0].state
    <MachineState.STOPPED: 'Stopped'>
    """
    machines = []
    for line in text.splitlines():
        if not line.strip():
            continue
        cells = line.split("\t", len(LS_FIELDS) - 1)
        cells += [""] * (len(LS_FIELDS) - len(cells))
        name, active, driver, state, url, version, error = (cell.strip() for cell in cells)
        machines.append(
            MachineSummary(
                name=name,
                active=active.startswith("*"),
                driver=driver,
                state=MachineState.from_tool(state),
                url=url or None,
                docker_version=None if version in ("", "Unknown") else version,
                error=error or None,
            )
        )
    return machines


def parse_inspect(text: str) -> Machine:
    try:
        import json

        data = json.loads(text)
        driver = data["Driver"]
        return Machine(
            name=data["Name"],
            driver=data["DriverName"],
            ip=driver.get("IPAddress") or None,
            cpus=int(driver.get("CPU", 0)),
            memory_mb=int(driver.get("Memory", 0)),
            disk_mb=int(driver.get("DiskSize", 0)),
            hostonly_cidr=driver.get("HostOnlyCIDR") or None,
            ssh_port=int(driver["SSHPort"]) if driver.get("SSHPort") else None,
            store_path=Path(data["HostOptions"]["AuthOptions"]["StorePath"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise DockerHelloError(f"Unexpected output from docker-machine inspect ({exc!r}): {text[:200]}") from exc


# One pattern per shell docker-machine writes for (commands/env.go).
_ENV_LINE = (
    r'export (\w+)="(.*)"',  # bash, zsh, sh
    r'set -gx (\w+) "(.*)";',  # fish
    r'\$Env:(\w+) = "(.*)"',  # powershell
    r"SET (\w+)=(.*)",  # cmd
    r'setenv (\w+) "(.*)";',  # tcsh
    r'\(setenv "(\w+)" "(.*)"\)',  # emacs
)


def parse_env(text: str) -> dict[str, str]:
    """The variables `docker-machine env` sets, whatever shell it wrote them for."""
    variables: dict[str, str] = {}
    for line in text.splitlines():
        for pattern in _ENV_LINE:
            match = re.fullmatch(pattern, line.rstrip("\r"))
            if match:
                variables[match.group(1)] = match.group(2)
                break
    return variables


def render_env(variables: Mapping[str, str], shell: str, command: str, unset: bool = False) -> str:
    """Shell code in docker-machine's format for `shell`, with its usage hint naming `command`.

    One difference on purpose: the POSIX hint quotes the substitution, `eval "$(...)"`, so a
    cert path with spaces survives.
    """
    lines: list[str] = []
    for name, value in variables.items():
        if shell == "fish":
            lines.append(f"set -e {name};" if unset else f'set -gx {name} "{value}";')
        elif shell == "powershell":
            lines.append(f"Remove-Item Env:\\\\{name}" if unset else f'$Env:{name} = "{value}"')
        elif shell == "cmd":
            lines.append(f"SET {name}=" if unset else f"SET {name}={value}")
        else:
            lines.append(f"unset {name}" if unset else f'export {name}="{_posix_escape(value)}"')
    comment, usage = {
        "fish": ("#", f"eval ({command})"),
        "powershell": ("#", f"& {command} | Invoke-Expression"),
        "cmd": ("REM", f"\t@FOR /f \"tokens=*\" %i IN ('{command}') DO @%i"),
    }.get(shell, ("#", f'eval "$({command})"'))
    lines.append(f"{comment} Run this command to configure your shell: ")
    lines.append(f"{comment} {usage}")
    return "\n".join(lines)


def _posix_escape(value: str) -> str:
    return re.sub(r'(["$`\\])', r"\\\1", value)


def checked(name: str) -> str:
    """The machine name, if docker-machine would take it as one. Its flag parser reads any
    argument starting with '-' as a flag (and answers an unknown one with exit status 0), so
    a name reaches it only once it is known to be a name."""
    try:
        return validators.machine_name(name)
    except ValueError as exc:
        raise DockerHelloError(f"Invalid machine name: {exc}", hint="`dockerhello machine ls` lists them.") from None


class DockerMachine:
    """One method per docker-machine subcommand dockerhello uses."""

    def __init__(self, runner: Runner, program: str = PROGRAM, create_timeout: float = 1800) -> None:
        self.runner = runner
        self.program = program
        # create downloads an ISO and boots a VM: minutes, not hours. start and stop take less.
        self.create_timeout = create_timeout

    def available(self) -> bool:
        return self.runner.which(self.program) is not None

    def _run(self, args: Sequence[str], name: str | None = None, timeout: float = 60) -> Completed:
        try:
            done = self.runner.run([self.program, *args], check=False, timeout=timeout)
        except ToolNotFound:
            raise ToolNotFound(self.program, hint=INSTALL_HINT) from None
        if done.returncode != 0 or _incorrect_usage(done):
            raise classify(done, name)
        return done

    def version(self) -> str:
        # "docker-machine version 0.16.2, build bd45ab13"
        return self._run(["version"]).stdout.strip()

    def ls(self) -> list[MachineSummary]:
        return parse_ls(self._run(["ls", "--format", LS_FORMAT]).stdout)

    def inspect(self, name: str) -> Machine:
        return parse_inspect(self._run(["inspect", checked(name)], name).stdout)

    def status(self, name: str) -> MachineState:
        return MachineState.from_tool(self._run(["status", checked(name)], name).stdout)

    def ip(self, name: str) -> str:
        return self._run(["ip", checked(name)], name).stdout.strip()

    def env(self, name: str) -> dict[str, str]:
        """The machine's Docker variables. docker-machine checks the TLS connection first,
        so a stopped machine or stale certificates fail here with its own words."""
        return parse_env(self._run(["env", "--shell", "bash", checked(name)], name).stdout)

    def create(self, name: str, flags: Sequence[str], on_line: Callable[[str], None]) -> None:
        argv = [self.program, "create", *flags, checked(name)]
        try:
            done = self.runner.stream(argv, on_line, timeout=self.create_timeout, check=False)
        except ToolNotFound:
            raise ToolNotFound(self.program, hint=INSTALL_HINT) from None
        if done.returncode != 0 or _incorrect_usage(done):
            raise classify(done, name)

    def start(self, name: str, on_line: Callable[[str], None]) -> None:
        self._stream(["start", checked(name)], name, on_line)

    def stop(self, name: str, on_line: Callable[[str], None]) -> None:
        self._stream(["stop", checked(name)], name, on_line)

    def rm(self, name: str, force: bool = False) -> str:
        # -y: dockerhello asks its own question first; -f also drops a broken entry.
        return self._run(["rm", "-f" if force else "-y", checked(name)], name).stdout

    def _stream(self, args: Sequence[str], name: str, on_line: Callable[[str], None]) -> None:
        try:
            done = self.runner.stream([self.program, *args], on_line, timeout=600, check=False)
        except ToolNotFound:
            raise ToolNotFound(self.program, hint=INSTALL_HINT) from None
        if done.returncode != 0 or _incorrect_usage(done):
            raise classify(done, name)


def _incorrect_usage(done: Completed) -> bool:
    # docker-machine answers a flag it does not know with this, does nothing, and exits 0
    # (reference 1.13): that is a failure, not the machine being already stopped.
    return done.stdout.startswith("Incorrect Usage.")


def classify(done: Completed, name: str | None) -> DockerHelloError:
    """docker-machine's failure, in its own words, with what to do about it."""
    said = (done.stderr + done.stdout).strip()
    if _incorrect_usage(done):
        return DockerHelloError(
            f"docker-machine did not understand its arguments ({done.stderr.strip() or 'Incorrect Usage.'})",
            hint="This is a bug in dockerhello: please report it with the command you ran.",
        )
    if name is not None:
        if f'Docker machine "{name}" does not exist' in said or f'Host does not exist: "{name}"' in said:
            return MachineNotFound(name)
        if "Host is not running" in said:
            return MachineNotRunning(name)
        if "There was an error validating certificates" in said or "x509:" in said:
            first = next(line for line in said.splitlines() if "x509" in line or "certificates" in line)
            return CertificateMismatch(
                f'The TLS certificates of machine "{name}" no longer match it: {first.strip()}',
                hint=f"Its IP has probably changed: run `docker-machine regenerate-certs -f {name}` (this restarts "
                "its Docker engine; containers come back through their restart policy).",
            )
        if "machine does not exist" in said:
            return DockerHelloError(
                f'The VirtualBox VM of machine "{name}" is gone: {said.splitlines()[-1].strip()}',
                hint=f"Remove the stale entry with `dockerhello machine rm -y {name}` and create it again.",
            )
    return ToolFailed(done.argv, done.returncode, done.stderr, done.stdout)
