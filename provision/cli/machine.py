"""`dockerhello machine`: Docker Machine VMs in VirtualBox."""

from __future__ import annotations

from typing import Any, TypeVar

import click

from provision.app import App
from provision.cli import cli, confirm, pass_app
from provision.cli.params import HOSTONLY_CIDR, MACHINE_NAME, count, json_option
from provision.cli.render import table, to_json
from provision.defaults import (
    DEFAULT_HOSTONLY_CIDR,
    DEFAULT_MACHINE,
    MACHINE_CPUS,
    MACHINE_DISK_MB,
    MACHINE_MEMORY_MB,
)

F = TypeVar("F", bound=Any)

NAME = click.argument("name", required=False, type=MACHINE_NAME, metavar="[NAME]")


def machine_name(app: App, name: str | None) -> str:
    return name or app.default_machine()


@cli.group()
def machine() -> None:
    """Create and run the Docker Machine VM (VirtualBox) that deploys go to.

    NAME defaults to the machine `eval "$(dockerhello env)"` loaded, else "default".
    """


def machine_spec_options(command: F) -> F:
    """The VM's size and network: `machine create` and `cluster create` take the same."""
    for option in reversed([
        click.option("--cpus", type=count(1, 32), default=MACHINE_CPUS, show_default=True,
                     help="Virtual CPUs (1 to 32)."),
        click.option("--memory", type=count(512, 1048576, "MB"), default=MACHINE_MEMORY_MB, show_default=True,
                     help="Memory in MB."),
        click.option("--disk-size", type=count(1000, 2097152, "MB"), default=MACHINE_DISK_MB, show_default=True,
                     help="Disk in MB: holds every image and container, so prune often at 5000."),
        click.option("--hostonly-cidr", type=HOSTONLY_CIDR, default=DEFAULT_HOSTONLY_CIDR, show_default=True,
                     help="Host-only network. The default is in the range VirtualBox 6.1.28+ allows without "
                     "/etc/vbox/networks.conf (docker-machine's own 192.168.99.1/24 is not)."),
    ]):  # fmt: skip
        command = option(command)
    return command


@machine.command()
@click.argument("name", default=DEFAULT_MACHINE, type=MACHINE_NAME)
@machine_spec_options
@click.option(
    "--keep-on-failure", is_flag=True, help="Keep the broken entry a failed create leaves (default: remove it)."
)
@pass_app
def create(
    app: App, name: str, cpus: int, memory: int, disk_size: int, hostonly_cidr: str, keep_on_failure: bool
) -> None:
    """Create a VirtualBox VM with Docker, as the tutorial does (2 CPUs, 4096 MB, 5000 MB disk).

    \b
    Runs `docker-machine create --driver virtualbox` and shows its progress. Safe to run
    twice: a running machine is reported, a stopped one started. A create that fails after
    docker-machine registered the machine leaves an entry `ls` keeps showing: dockerhello
    removes it and says so, unless --keep-on-failure.
    """
    from provision.services.machines import MachineSpec

    spec = MachineSpec(name=name, cpus=cpus, memory_mb=memory, disk_mb=disk_size, hostonly_cidr=hostonly_cidr)
    app.console.info(app.machines.create(spec, keep_on_failure=keep_on_failure))
    app.console.info(f'Next: eval "$(dockerhello env {name})", then dockerhello deploy')


@machine.command("ls")
@json_option
@pass_app
def ls(app: App, as_json: bool) -> None:
    """List machines with their state, engine URL and errors."""
    machines = app.docker_machine.ls()
    if as_json:
        app.console.result(to_json(machines))
        return
    rows = [
        [("* " if m.active else "") + m.name, str(m.state), m.url or "", m.docker_version or "", m.error or ""]
        for m in machines
    ]
    app.console.result(table(["NAME", "STATE", "URL", "DOCKER", "ERRORS"], rows))


@machine.command()
@NAME
@json_option
@pass_app
def status(app: App, name: str | None, as_json: bool) -> None:
    """State, address and size of a machine."""
    result = app.machines.status(machine_name(app, name))
    if as_json:
        app.console.result(to_json(result))
        return
    rows: list[list[object]] = [
        ["Name", result.name], ["State", str(result.state)], ["URL", result.url or "-"], ["IP", result.ip or "-"],
        ["Docker", result.docker_version or "-"], ["CPUs", result.cpus], ["Memory", f"{result.memory_mb} MB"],
        ["Disk", f"{result.disk_mb} MB"], ["Host-only", result.hostonly_cidr or "-"],
    ]  # fmt: skip
    if result.error:
        rows.append(["Error", result.error])
    app.console.result(table(["FIELD", "VALUE"], rows).split("\n", 1)[1])


@machine.command()
@NAME
@pass_app
def ip(app: App, name: str | None) -> None:
    """The machine's IP address on the host-only network."""
    app.console.result(app.docker_machine.ip(machine_name(app, name)))


@machine.command()
@NAME
@pass_app
def start(app: App, name: str | None) -> None:
    """Start a stopped machine (nothing to do if it runs)."""
    name = machine_name(app, name)
    app.console.info(app.machines.start(name))
    app.console.info(f'Its IP may have changed: eval "$(dockerhello env {name})" again.')


@machine.command()
@NAME
@pass_app
def stop(app: App, name: str | None) -> None:
    """Stop a running machine (nothing to do if it is stopped)."""
    app.console.info(app.machines.stop(machine_name(app, name)))


@machine.command()
@NAME
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def rm(app: App, name: str | None, yes: bool) -> None:
    """Remove a machine: its VM, its disk and everything deployed on it."""
    name = machine_name(app, name)
    if not yes:
        confirm(f'Remove machine "{name}", its VM and everything on its disk?', f'removing machine "{name}"')
    app.console.info(app.machines.rm(name))
