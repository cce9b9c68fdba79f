"""Port forwarding from the host into a machine's VM: VirtualBox NAT rules, collision-safe.

A host port counts as taken when any VM's rule (not only this VM's) uses it on an
overlapping address, or when a process on the host listens there; VirtualBox itself only
refuses the same name or the same address string, and otherwise fails silently at run time.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass

from provision.adapters.vboxmanage import NatRule, VBoxManage
from provision.console import Console
from provision.errors import DockerHelloError

AUTO_CORRECT_RANGE = 100


def rule_name(protocol: str, guest_port: int) -> str:
    """As the tutorial names it: tcp-port8000."""
    return f"{protocol}-port{guest_port}"


def host_port_free(host_ip: str, port: int, protocol: str) -> bool:
    import socket  # here, not at start-up: every command imports this module

    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    with socket.socket(family, kind) as probe:
        try:
            probe.bind((host_ip or "0.0.0.0", port))
        except OSError:
            return False
    return True


def host_has_address(host_ip: str) -> bool:
    """Whether this host has `host_ip` on an interface (0.0.0.0, every interface, counts)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host_ip, 0))
        except OSError as exc:
            return exc.errno != errno.EADDRNOTAVAIL
    return True


def _overlaps(a: str, b: str) -> bool:
    wildcard = ("", "0.0.0.0", "::")
    return a == b or a in wildcard or b in wildcard


@dataclass(frozen=True)
class Forward:
    rule: NatRule
    changed: bool
    note: str | None = None


class PortTaken(DockerHelloError):
    pass


class PortForwarder:
    def __init__(
        self,
        vbox: VBoxManage,
        console: Console,
        port_is_free: Callable[[str, int, str], bool] = host_port_free,
        has_address: Callable[[str], bool] = host_has_address,
    ) -> None:
        self.vbox = vbox
        self.console = console
        self.port_is_free = port_is_free
        self.has_address = has_address

    def rules(self, vm: str) -> tuple[NatRule, ...]:
        return self.vbox.showvminfo(vm).rules

    def add(
        self,
        vm: str,
        guest_port: int,
        host_port: int | None = None,
        host_ip: str = "127.0.0.1",
        protocol: str = "tcp",
        auto_correct: bool = False,
    ) -> Forward:
        if not self.has_address(host_ip):
            raise DockerHelloError(
                f"{host_ip} is not an address of this host: VirtualBox could not listen there",
                hint="Use 127.0.0.1 (this host only, the default), 0.0.0.0 (every interface), or an address "
                "`ip -4 addr` lists.",
            )
        info = self.vbox.showvminfo(vm)
        name = rule_name(protocol, guest_port)
        existing = next((rule for rule in info.rules if rule.name == name), None)
        if existing is not None:
            same_target = (existing.protocol, existing.host_ip, existing.guest_port) == (protocol, host_ip, guest_port)
            if same_target and host_port in (None, existing.host_port):
                return Forward(existing, changed=False)
            raise DockerHelloError(
                f"VM {vm} already has rule {name} forwarding {existing.host_ip or '*'}:{existing.host_port} "
                f"to guest port {existing.guest_port}",
                hint=f"Remove it first with `dockerhello forward-port {guest_port} --remove --machine {vm}`.",
            )
        wanted = host_port or guest_port
        port, note = wanted, None
        owner = self._owner(port, host_ip, protocol)
        if owner is not None:
            if not auto_correct:
                raise PortTaken(
                    f"Host port {wanted} ({protocol}) is already taken by {owner}",
                    hint="Pick another with --host-port, or let dockerhello take the next free one: --auto-correct.",
                )
            port = self._next_free(wanted, host_ip, protocol)
            note = f"Host port {wanted} is taken by {owner}: forwarding {port} instead."
        rule = NatRule(name, protocol, host_ip, port, "", guest_port)
        self.vbox.add_nat_rule(vm, rule, has_session=info.has_session)
        return Forward(rule, changed=True, note=note)

    def remove(self, vm: str, guest_port: int, protocol: str = "tcp") -> bool:
        info = self.vbox.showvminfo(vm)
        name = rule_name(protocol, guest_port)
        if not any(rule.name == name for rule in info.rules):
            return False
        self.vbox.delete_nat_rule(vm, name, has_session=info.has_session)
        return True

    def _owner(self, port: int, host_ip: str, protocol: str) -> str | None:
        for vm in self.vbox.list_vms():
            for rule in self.vbox.showvminfo(vm).rules:
                if rule.protocol == protocol and rule.host_port == port and _overlaps(rule.host_ip, host_ip):
                    return f"rule {rule.name} of VM {vm}"
        if not self.port_is_free(host_ip, port, protocol):
            return "another program on this host"
        return None

    def _next_free(self, start: int, host_ip: str, protocol: str) -> int:
        for port in range(start + 1, min(start + AUTO_CORRECT_RANGE, 65535) + 1):
            if self._owner(port, host_ip, protocol) is None:
                return port
        raise PortTaken(
            f"No free host port between {start + 1} and {start + AUTO_CORRECT_RANGE}",
            hint="Free one, or name one with --host-port.",
        )
