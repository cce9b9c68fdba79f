"""`dockerhello cluster`: a Docker Swarm of docker-machine machines."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from provision.app import App
from provision.cli import cli, confirm, pass_app
from provision.cli.machine import machine_spec_options
from provision.cli.params import MACHINE_NAME, count, json_option
from provision.cli.render import table, to_json

if TYPE_CHECKING:
    from provision.services.cluster_operate import ClusterAppStatus

CLUSTER = click.argument("name", type=MACHINE_NAME)
MANAGERS = click.option(
    "--managers",
    type=count(1, 7),
    default=None,
    help="How many nodes are Swarm managers: 1 or 3 (an odd number: an even one is refused, below).  "
    "[default: 1, or what the cluster has]",
)


@cli.group()
def cluster() -> None:
    """A Docker Swarm of machines, for an app that outgrows one.

    \b
      dockerhello cluster create web --nodes 3        # web-1, web-2, web-3, one Swarm
      dockerhello deploy --cluster web                # one replica per node, rolling
      dockerhello forward-port 8000 --machine web-1   # http://localhost:8000
    Each machine joins through its own engine, over TLS. Managers keep the Swarm's state by
    Raft, which needs a majority of them up: 1 manager survives no failure, 3 survive one; an
    even number survives no more than the odd number below it, so it is refused.
    """


@cluster.command()
@CLUSTER
@click.option("--nodes", type=count(1, 32), default="3", show_default=True, help="Machines to make: NAME-1 ... NAME-N.")
@MANAGERS
@machine_spec_options
@pass_app
def create(
    app: App, name: str, nodes: int, managers: int | None, cpus: int, memory: int, disk_size: int, hostonly_cidr: str
) -> None:
    """Make NODES machines (as `machine create` makes one) and a Swarm of them.

    The first machine starts the Swarm, advertising its own address; the others join it with
    its tokens. Safe to run again: machines that exist are started if stopped, nodes already
    in the Swarm are left as they are. A join that fails leaves that machine out, not half in.
    """
    from provision.services.machines import MachineSpec

    spec = MachineSpec(name=name, cpus=cpus, memory_mb=memory, disk_mb=disk_size, hostonly_cidr=hostonly_cidr)
    record = app.cluster().create(name, nodes, managers or 1, spec)
    app.console.info(
        f"Cluster {name}: {', '.join(record.machines)} ({record.managers} manager{'s' if record.managers > 1 else ''})"
    )
    app.console.info(f"Next: dockerhello deploy --cluster {name}")


@cluster.command()
@CLUSTER
@click.argument("machines", nargs=-1, required=True, type=MACHINE_NAME, metavar="MACHINE...")
@MANAGERS
@pass_app
def join(app: App, name: str, machines: tuple[str, ...], managers: int | None) -> None:
    """Make MACHINES nodes of the cluster NAME (a new one, founded by the first of them).

    Any docker-machine machine will do: VirtualBox VMs, or servers of the `generic` driver
    (`docker-machine create --driver generic --generic-ip-address IP ...`). New nodes join as
    managers until the cluster has --managers of them, then as workers.
    """
    record = app.cluster().join(name, machines, managers)
    app.console.info(f"Cluster {name}: {', '.join(record.machines)}")


@cluster.command("ls")
@json_option
@pass_app
def ls(app: App, as_json: bool) -> None:
    """The clusters this host made, and their machines."""
    records = app.cluster().records.all()
    if as_json:
        app.console.result(to_json(records))
        return
    app.console.result(
        table(["NAME", "MANAGERS", "MACHINES"], [[r.name, r.managers, ",".join(r.machines)] for r in records])
    )


@cluster.command()
@CLUSTER
@json_option
@pass_app
def status(app: App, name: str, as_json: bool) -> None:
    """Each node: its machine, role, availability, state, reachability and engine version."""
    result = app.cluster().status(name)
    if as_json:
        app.console.result(to_json(result))
        return
    rows = [
        [
            n.machine,
            n.node_id[:12],
            n.address,
            n.role + (" (leader)" if n.leader else ""),
            n.availability,
            n.state,
            n.reachability or "-",
            n.engine_version,
        ]
        for n in result.nodes
    ]
    rows += [[machine, "-", "-", "-", "-", "not a node", "-", "-"] for machine in result.missing]
    app.console.result(
        table(["MACHINE", "NODE", "ADDRESS", "ROLE", "AVAILABILITY", "STATE", "REACHABILITY", "ENGINE"], rows)
    )


@cluster.command()
@CLUSTER
@click.option(
    "--machines", "remove_machines", is_flag=True, help="Remove the machines too (docker-machine rm). Asks first."
)
@click.option("-y", "--yes", is_flag=True, help="Do not ask.")
@pass_app
def rm(app: App, name: str, remove_machines: bool, yes: bool) -> None:
    """Take the cluster apart: each node leaves the Swarm, and the apps on it stop.

    The machines stay, with their images, unless --machines.
    """
    service = app.cluster()
    record = service.record(name)
    if not yes:
        what = f"the machines {', '.join(record.machines)}" if remove_machines else "the Swarm"
        confirm(f"Remove {what} of the cluster {name}, and every app that runs on it?", f"removing the cluster {name}")
    for line in service.rm(name, remove_machines):
        app.console.info(line)
    app.console.info(f"Cluster {name} was removed.")


@cluster.command()
@CLUSTER
@click.argument("node")
@pass_app
def drain(app: App, name: str, node: str) -> None:
    """Move every task off NODE (a machine's name, a hostname or a node ID), for maintenance.

    Swarm starts the node's replicas on the other nodes; this waits until none runs there.
    The app's proxy on NODE stops too: send traffic to another node meanwhile.
    """
    app.console.info(app.cluster().set_availability(name, node, "drain"))


@cluster.command()
@CLUSTER
@click.argument("node")
@pass_app
def activate(app: App, name: str, node: str) -> None:
    """Let NODE take tasks again after a drain."""
    app.console.info(app.cluster().set_availability(name, node, "active"))


def render_app_status(result: ClusterAppStatus, as_json: bool) -> str:
    """`status --cluster`: the service, then its tasks node by node."""
    if as_json:
        return to_json(result)
    if result.release is None:
        return f"{result.app} is not deployed on the cluster {result.cluster}."
    head = table(
        ["FIELD", "VALUE"],
        [
            ["App", result.app],
            ["Cluster", result.cluster],
            ["Release", result.release],
            ["Replicas", f"{result.running} running of {result.replicas}"],
            ["Update", result.update or "-"],
            ["URLs", " ".join(result.urls) or "-"],
        ],
    ).split("\n", 1)[1]
    rows = [[t.machine, t.task, t.release, t.desired, t.state, t.health, t.message] for t in result.tasks]
    return head + "\n\n" + table(["NODE", "TASK", "RELEASE", "DESIRED", "STATE", "HEALTH", "MESSAGE"], rows)
