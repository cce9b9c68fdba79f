"""`dockerhello up`: takes every setting `deploy` takes (`provision.settings`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from provision.app import App
from provision.cli import cli, pass_app, setting_options
from provision.cli.params import MACHINE_NAME, PROJECT_DIR, count
from provision.defaults import DEFAULT_MACHINE

if TYPE_CHECKING:
    from pathlib import Path


@cli.command()
@click.argument("path", default=".", type=PROJECT_DIR)
@setting_options.options
@click.option(
    "--machine",
    "machine_name",
    type=MACHINE_NAME,
    default=DEFAULT_MACHINE,
    show_default=True,
    help="Machine to create or reuse.",
)
@click.option("--nodes", type=count(1, 32), default="1", show_default=True,
              help="Machines: above 1, a cluster of them named after --machine (NAME-1 ... NAME-N), the app on "
              "every node, this host's port forwarded to NAME-1.")  # fmt: skip
@click.option("--open", "open_browser", is_flag=True, help="Open the URL in a browser at the end.")
@pass_app
def up(app: App, /, path: Path, machine_name: str, nodes: int, open_browser: bool, **_: Any) -> None:
    """Machine, deploy, port forward: the whole tutorial in one command.

    \b
    Where docker-machine and VirtualBox are installed: creates (or starts) the machine
    (2 CPUs, 4096 MB, 5000 MB disk), forwards 127.0.0.1:PORT (--publish's port) to it,
    deploys the project at PATH there and waits until it is healthy. Elsewhere it deploys
    to the local Docker engine and says so. Safe to run twice. Prints the URL. Takes the
    settings deploy takes, from the same flags, variables and project file.

    With --nodes N (above 1): the cluster NAME (--machine) of N machines, the app deployed
    to it as `deploy --cluster` does, and 127.0.0.1:PORT forwarded to NAME-1.
    """
    from provision.services.machines import MachineSpec

    chosen = setting_options.load(path, click.get_current_context())
    spec = MachineSpec(name=machine_name)
    result = app.up().run_cluster(path, chosen, spec, nodes) if nodes > 1 else app.up().run(path, chosen, spec)
    app.console.info(f"Up{f' on machine {result.machine}' if result.machine else ' on the local engine'}.")
    app.console.result(result.url)
    if open_browser and not app.open_url(result.url):
        app.console.warn(f"could not open a browser: open {result.url} yourself")
