"""`dockerhello run`: a one-off command in a new container of the serving release."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from provision.app import App
from provision.cli import cli, pass_app
from provision.cli.params import app_option, machine_option, path_option
from provision.project import load_app_name

if TYPE_CHECKING:
    from pathlib import Path


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@app_option
@path_option
@machine_option
@click.option("-t/-T", "--tty/--no-tty", "tty", default=None,
              help="Give the command a terminal.  [default: when stdin and stdout are terminals]")  # fmt: skip
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_app
def run(app: App, app_name: str | None, path: Path, machine_name: str | None, tty: bool | None,
        command: tuple[str, ...]) -> None:  # fmt: skip
    """Run COMMAND in a new container of the serving release, then remove it.

    \b
    The container has the release's image, variables (SECRET_KEY, DATABASE_URL...),
    volumes and network, and the same hardening; it takes no traffic. Examples:
      dockerhello run -- python manage.py createsuperuser
      dockerhello run -- python manage.py shell -c "print(1)"
    dockerhello exits with the command's exit status, or as `docker run` does when
    the command cannot be run: 127 when the image does not have it (a name without a
    slash is looked up in the image's PATH), 126 when it is not executable.
    """
    from provision.terminal import relay

    name = load_app_name(path, app_name)
    interactive = tty if tty is not None else sys.stdin.isatty() and sys.stdout.isatty()
    code = app.one_off(machine_name).run(name, command, relay if interactive else None)
    click.get_current_context().exit(code)
