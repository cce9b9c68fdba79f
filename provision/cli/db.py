"""`dockerhello db`: the app's PostgreSQL: backup, restore, and a psql shell."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from provision.app import App
from provision.cli import cli, pass_app
from provision.cli.params import READABLE_FILE, PathParam, app_option, machine_option, path_option
from provision.project import load_app_name

if TYPE_CHECKING:
    from pathlib import Path


@cli.group()
def db() -> None:
    """The app's PostgreSQL (database = "postgres"): back it up, restore it, open psql.

    \b
    The server runs as container APP-db on the app's network, its data on the volume
    APP-postgres; each command runs PostgreSQL's own tools inside that container.
    """


@db.command()
@click.argument("file", required=False, type=PathParam(dir_okay=False, allow_dash=True))
@app_option
@path_option
@machine_option
@pass_app
def backup(app: App, file: Path | None, app_name: str | None, path: Path, machine_name: str | None) -> None:
    """Write the app's database to FILE, in pg_dump's custom format.

    \b
    FILE defaults to APP-YYYYMMDD-HHMMSS.dump here; `-` writes to stdout. An existing
    file is never replaced, and a backup that fails half-way leaves no file.
    Restore it with `dockerhello db restore FILE`.
    """
    import pathlib
    from datetime import UTC, datetime

    from provision.files import new_file

    name = load_app_name(path, app_name)
    database = app.database(machine_name)
    database.running(name)  # before a file is made or a step said: nothing to back up is said at once
    if file is not None and str(file) == "-":
        database.backup(name, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    target = file or pathlib.Path(f"{name}-{datetime.now(UTC):%Y%m%d-%H%M%S}.dump")
    with new_file(target) as out:
        app.console.step(f"Backing up the database of {name} to {target}")
        database.backup(name, out)
    app.console.result(str(target))


@db.command()
@click.argument("file", type=READABLE_FILE)
@app_option
@path_option
@machine_option
@click.option("-y", "--yes", is_flag=True, help="Do not ask before replacing the database's content.")
@pass_app
def restore(app: App, file: Path, app_name: str | None, path: Path, machine_name: str | None, yes: bool) -> None:
    """Replace the app's database with FILE, a dump `db backup` wrote.

    Every table in the dump is dropped and restored, in one transaction: if anything fails,
    the database is left as it was. The releases keep running; asks first unless --yes.
    """
    name = load_app_name(path, app_name)
    database = app.database(machine_name)
    database.running(name)  # before asking: nothing to restore into is said at once
    if not yes:
        click.confirm(f"Replace the content of {name}'s database with {file}?", abort=True, err=True)
    app.console.step(f"Restoring {file} into the database of {name}")
    for line in database.restore(name, file):
        app.console.info(f"  {line}")
    app.console.info(f"Restored {file} into the database of {name}.")


@db.command()
@app_option
@path_option
@machine_option
@pass_app
def shell(app: App, app_name: str | None, path: Path, machine_name: str | None) -> None:
    """psql on the app's database.

    \b
    On a terminal, an interactive psql; otherwise it runs what stdin gives and stops at
    the first error, e.g.:
      echo 'SELECT count(*) FROM auth_user;' | dockerhello db shell
    dockerhello exits with psql's exit status.
    """
    import tempfile
    from pathlib import Path as FilePath

    from provision.terminal import relay

    name = load_app_name(path, app_name)
    database = app.database(machine_name)
    if sys.stdin.isatty() and sys.stdout.isatty():
        code = database.shell(name, relay)
    else:
        with tempfile.NamedTemporaryFile(prefix="dockerhello-", suffix=".sql") as script:
            script.write(sys.stdin.buffer.read())
            script.flush()
            code = database.shell(name, None, FilePath(script.name))
    click.get_current_context().exit(code)
