"""`dockerhello proxy`: the nginx in front of an app's releases."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from provision.app import App
from provision.cli import cli, confirm, pass_app
from provision.cli.params import app_option, machine_option, path_option
from provision.project import load_app_name

if TYPE_CHECKING:
    from pathlib import Path


@cli.group()
def proxy() -> None:
    """The app's proxy: the nginx container named like the app, which owns its port.

    \b
    A deploy makes it once and keeps it, so that no deploy costs the app its port or its
    clients' connections; a newer dockerhello's nginx settings reach it by `proxy upgrade`.
    """


@proxy.command()
@app_option
@path_option
@machine_option
@click.option("-y", "--yes", is_flag=True, help="Do not ask before the moment in which the app does not answer.")
@pass_app
def upgrade(app: App, app_name: str | None, path: Path, machine_name: str | None, yes: bool) -> None:
    """Replace the app's proxy by the one this dockerhello makes, if an earlier one made it.

    \b
    The release it serves, its published address and its route stay. The new proxy is
    made first; then the old nginx quits gracefully (its requests in flight finish) and
    the new one starts, and for that moment, about half a second, the app does not
    answer. A failure or Ctrl-C puts the old proxy back. Up to date: nothing is done.
    """
    name = load_app_name(path, app_name)
    deployer = app.deployer(app.engine_target(machine_name))
    why = deployer.proxy_upgrade.outdated(name)
    if why is None:
        app.console.result(f"The proxy of {name} is this dockerhello's: nothing to do.")
        return
    if not yes:
        confirm(f"The proxy of {name} is an earlier dockerhello's ({why}). Replace it? The app does not answer "
                "for a moment.", f"replacing the proxy of {name}")  # fmt: skip
    upgraded = deployer.upgrade_proxy(name)
    if upgraded.reason is None:  # another command upgraded it meanwhile
        app.console.result(f"The proxy of {name} is this dockerhello's: nothing to do.")
        return
    app.console.info(f"Its nginx took the port over after {upgraded.unanswered:.2f} s.")
    app.console.result(f"The proxy of {name} runs {upgraded.image}.")
