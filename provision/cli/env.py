"""`dockerhello env`: shell code that points Docker clients at a machine."""

from __future__ import annotations

import os

import click

from provision.app import App
from provision.cli import cli, pass_app
from provision.cli.params import MACHINE_NAME
from provision.defaults import SHELLS


@cli.command()
@click.argument("name", required=False, type=MACHINE_NAME, metavar="[NAME]")
@click.option("--shell", type=click.Choice(SHELLS), help="Shell to write for.  [default: from $SHELL, else bash]")
@click.option("-u", "--unset", is_flag=True, help="Write code that unsets the variables instead.")
@pass_app
def env(app: App, name: str | None, shell: str | None, unset: bool) -> None:
    """Print the shell code that points Docker at machine NAME's engine.

    \b
    Load it into the current shell, as with docker-machine env:
      eval "$(dockerhello env)"                          # bash, zsh
      dockerhello env --shell fish | source              # fish
      & dockerhello env --shell powershell | Invoke-Expression
    After that, `dockerhello deploy` (and the docker CLI) use the machine. Only the shell
    code goes to stdout; messages go to stderr.
    """
    from provision.adapters.docker_machine import ENV_VARIABLES, render_env

    if shell is None:
        detected = os.path.basename(app.environ.get("SHELL", ""))
        shell = detected if detected in SHELLS else "bash"
    command = "dockerhello env" + (f" --shell {shell}" if shell not in ("bash", "zsh") else "")
    if unset:
        if name:
            raise click.UsageError("--unset takes no machine name")
        app.console.result(render_env(dict.fromkeys(ENV_VARIABLES, ""), shell, f"{command} --unset", unset=True))
        return
    name = name or app.default_machine()
    variables = app.docker_machine.env(name)
    app.console.result(render_env(variables, shell, f"{command} {name}"))
