"""`dockerhello up`."""

from __future__ import annotations

from pathlib import Path

import click

from provision.app import App
from provision.cli import cli, pass_app
from provision.cli.params import APP_NAME, IMAGE, MACHINE_NAME, PORT, PROJECT_DIR
from provision.defaults import DEFAULT_MACHINE


@cli.command()
@click.argument("path", default=".", type=PROJECT_DIR)
@click.option("--app", "app_name", type=APP_NAME, help="App name (as for deploy).")
@click.option(
    "--machine",
    "machine_name",
    type=MACHINE_NAME,
    default=DEFAULT_MACHINE,
    show_default=True,
    help="Machine to create or reuse.",
)
@click.option(
    "--port",
    type=PORT,
    default="8000",
    show_default=True,
    help="Port of the app on the VM and on this host.",
)
@click.option("--base-image", type=IMAGE, envvar="DOCKERHELLO_BASE_IMAGE", help="As for deploy.")
@click.option("--open", "open_browser", is_flag=True, help="Open the URL in a browser at the end.")
@pass_app
def up(
    app: App, path: Path, app_name: str | None, machine_name: str, port: int, base_image: str | None, open_browser: bool
) -> None:
    """Machine, deploy, port forward: the whole tutorial in one command.

    \b
    Where docker-machine and VirtualBox are installed: creates (or starts) the machine
    (2 CPUs, 4096 MB, 5000 MB disk), forwards 127.0.0.1:PORT to it, deploys the project
    at PATH there and waits until it is healthy. Elsewhere it deploys to the local Docker
    engine and says so. Safe to run twice. Prints the URL.
    """
    from provision.services.machines import MachineSpec
    from provision.services.up import Up  # loads the SDK: not at start-up

    runner = Up(app.docker_machine, app.vboxmanage, app.deployer, app.console, app.engine_target())
    spec = MachineSpec(name=machine_name)
    result = runner.run(path, app_name, spec, port, base_image)
    app.console.info(f"Up{f' on machine {result.machine}' if result.machine else ' on the local engine'}.")
    app.console.result(result.url)
    if open_browser and not app.open_url(result.url):
        app.console.warn(f"could not open a browser: open {result.url} yourself")
