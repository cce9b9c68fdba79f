"""`dockerhello forward-port`: reach a port of the machine's VM on this host."""

from __future__ import annotations

import click

from provision.app import App
from provision.cli import cli, pass_app
from provision.cli.params import IPV4, MACHINE_NAME, PORT
from provision.cli.render import table


@cli.command("forward-port")
@click.argument("port", type=PORT, required=False)
@click.option("--host-port", type=PORT, help="Port on this host.  [default: PORT]")
@click.option(
    "--host-ip",
    type=IPV4,
    default="127.0.0.1",
    show_default=True,
    help="Address on this host. 0.0.0.0 exposes the app to your network.",
)
@click.option("--protocol", type=click.Choice(["tcp", "udp"]), default="tcp", show_default=True)
@click.option(
    "--machine",
    "machine_name",
    type=MACHINE_NAME,
    help="Machine whose VM gets the rule.  [default: the one `dockerhello env` loaded, else default]",
)
@click.option("--auto-correct", is_flag=True, help="If the host port is taken, use the next free one.")
@click.option("--list", "list_rules", is_flag=True, help="List the VM's rules instead.")
@click.option("--remove", is_flag=True, help="Remove the rule for PORT instead.")
@pass_app
def forward_port(
    app: App,
    port: int | None,
    host_port: int | None,
    host_ip: str,
    protocol: str,
    machine_name: str | None,
    auto_correct: bool,
    list_rules: bool,
    remove: bool,
) -> None:
    """Forward host port to guest PORT of the machine's VM (a VirtualBox NAT rule).

    \b
    The tutorial's `VBoxManage controlvm NAME natpf1 "tcp-port8000,tcp,,8000,,8000"`, but
    bound to 127.0.0.1 so the app is not exposed to the network, through controlvm while
    the VM runs and modifyvm while it is off. Safe to run twice. A host port taken by a rule
    of any VM or by a program on this host is an error, or with --auto-correct the next free
    port, reported.
      dockerhello forward-port 8000          # http://localhost:8000 -> VM port 8000
      dockerhello forward-port --list
      dockerhello forward-port 8000 --remove
    """
    vm = machine_name or app.default_machine()
    forwarder = app.port_forwarder()
    if list_rules:
        rows = [
            [r.name, r.protocol, r.host_ip or "*", r.host_port, r.guest_ip or "(guest)", r.guest_port]
            for r in forwarder.rules(vm)
        ]
        app.console.result(table(["NAME", "PROTO", "HOST IP", "HOST PORT", "GUEST IP", "GUEST PORT"], rows))
        return
    if port is None:
        raise click.UsageError("Missing argument 'PORT' (or use --list).")
    if remove:
        if forwarder.remove(vm, port, protocol):
            app.console.info(f"Removed the forwarding of guest port {port}/{protocol} on VM {vm}.")
        else:
            app.console.info(f"VM {vm} has no forwarding for guest port {port}/{protocol}: nothing to remove.")
        return
    forward = forwarder.add(vm, port, host_port, host_ip, protocol, auto_correct)
    if forward.note:
        app.console.warn(forward.note)
    rule = forward.rule
    state = "now forwards" if forward.changed else "already forwards"
    app.console.info(
        f"{rule.host_ip or '*'}:{rule.host_port} {state} to port {rule.guest_port} of VM {vm} ({rule.name})."
    )
    if protocol == "tcp":
        host = "localhost" if rule.host_ip in ("127.0.0.1", "", "0.0.0.0") else rule.host_ip
        app.console.result(f"http://{host}:{rule.host_port}/")
