"""VBoxManage: the subcommands dockerhello uses, and parsers of their output.

VirtualBox keeps NAT port-forwarding rules per VM. While the VM runs only `controlvm VM
natpf1 ...` can change them (`modifyvm` fails: the VM's session holds the lock); while it is
off only `modifyvm VM --natpf1 ...` can.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provision.errors import DockerHelloError, ToolFailed, ToolNotFound, VmNotFound

if TYPE_CHECKING:
    from provision.process import Completed, Runner

PROGRAM = "VBoxManage"
INSTALL_HINT = "Install VirtualBox (https://www.virtualbox.org/wiki/Downloads); it provides VBoxManage."
# States in which the VM has a session, so that controlvm (not modifyvm) applies.
SESSION_STATES = frozenset({"running", "paused", "starting", "stopping", "saving", "restoring", "livesnapshotting"})


@dataclass(frozen=True)
class NatRule:
    """One `Forwarding(i)="name,proto,hostip,hostport,guestip,guestport"` rule."""

    name: str
    protocol: str
    host_ip: str
    host_port: int
    guest_ip: str
    guest_port: int

    def __str__(self) -> str:
        return ",".join(
            [self.name, self.protocol, self.host_ip, str(self.host_port), self.guest_ip, str(self.guest_port)]
        )


def parse_rule(text: str) -> NatRule:
    fields = [field.strip() for field in text.split(",")]
    if len(fields) != 6:
        raise ValueError(f"not a NAT rule: {text!r}")
    name, protocol, host_ip, host_port, guest_ip, guest_port = fields
    return NatRule(name, protocol.lower(), host_ip, int(host_port or 0), guest_ip, int(guest_port or 0))


@dataclass(frozen=True)
class VmInfo:
    name: str
    state: str  # VirtualBox's short VMState: running, poweroff, saved, paused, aborted...
    cpus: int | None
    memory_mb: int | None
    rules: tuple[NatRule, ...]

    @property
    def has_session(self) -> bool:
        return self.state in SESSION_STATES


_KEY_VALUE = r'("(?:[^"\\]|\\.)*"|[^=]+)=(.*)'


def _unquote(text: str) -> str:
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def parse_machinereadable(text: str) -> list[tuple[str, str]]:
    """`key=value` lines of `showvminfo --machinereadable`, keys and values unquoted, in order."""
    pairs = []
    for line in text.splitlines():
        match = re.fullmatch(_KEY_VALUE, line.rstrip("\r"))
        if match:
            pairs.append((_unquote(match.group(1)), _unquote(match.group(2))))
    return pairs


def parse_showvminfo(text: str) -> VmInfo:
    values: dict[str, str] = {}
    rules = []
    for key, value in parse_machinereadable(text):
        if key.startswith("Forwarding("):
            rules.append(parse_rule(value))
        else:
            values.setdefault(key, value)
    return VmInfo(
        name=values.get("name", ""),
        state=values.get("VMState", "unknown"),
        cpus=int(values["cpus"]) if values.get("cpus", "").isdigit() else None,
        memory_mb=int(values["memory"]) if values.get("memory", "").isdigit() else None,
        rules=tuple(rules),
    )


def parse_list_vms(text: str) -> list[str]:
    """`"NAME" {uuid}` lines of `list vms`."""
    return [match.group(1) for match in re.finditer(r'^"(.*)" \{[0-9a-fA-F-]+\}\s*$', text, re.MULTILINE)]


def parse_version(text: str) -> tuple[int, int, int]:
    """`6.1.50r161033`, `5.0.16_Ubuntur105871` -> (6, 1, 50)."""
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)", text.strip())
    if not match:
        raise DockerHelloError(f"Unexpected VBoxManage version {text.strip()!r}")
    major, minor, patch = (int(group) for group in match.groups())
    return major, minor, patch


class VBoxManage:
    def __init__(self, runner: Runner, program: str = PROGRAM) -> None:
        self.runner = runner
        self.program = program

    def available(self) -> bool:
        return self.runner.which(self.program) is not None

    def _run(self, args: Sequence[str], vm: str | None = None) -> Completed:
        try:
            done = self.runner.run([self.program, *args], check=False, timeout=60)
        except ToolNotFound:
            raise ToolNotFound(self.program, hint=INSTALL_HINT) from None
        # As docker-machine's vbm.go: "error:" on stderr is a failure even with exit 0.
        if done.returncode != 0 or "error:" in done.stderr:
            if vm is not None and f"Could not find a registered machine named '{vm}'" in done.stderr:
                raise VmNotFound(
                    f"VirtualBox has no VM named {vm!r}",
                    hint="`dockerhello machine ls` lists the machines; `VBoxManage list vms` the VMs.",
                )
            raise ToolFailed(done.argv, done.returncode, done.stderr, done.stdout)
        return done

    def version(self) -> str:
        return self._run(["--version"]).stdout.strip()

    def list_vms(self) -> list[str]:
        return parse_list_vms(self._run(["list", "vms"]).stdout)

    def showvminfo(self, vm: str) -> VmInfo:
        return parse_showvminfo(self._run(["showvminfo", vm, "--machinereadable"], vm).stdout)

    def add_nat_rule(self, vm: str, rule: NatRule, has_session: bool) -> None:
        if has_session:
            self._run(["controlvm", vm, "natpf1", str(rule)], vm)
        else:
            self._run(["modifyvm", vm, "--natpf1", str(rule)], vm)

    def delete_nat_rule(self, vm: str, name: str, has_session: bool) -> None:
        if has_session:
            self._run(["controlvm", vm, "natpf1", "delete", name], vm)
        else:
            self._run(["modifyvm", vm, "--natpf1", "delete", name], vm)
