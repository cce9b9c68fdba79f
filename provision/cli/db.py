"""`dockerhello db`: the app's database, PostgreSQL or SQLite: backup and restore; a psql shell."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from provision.app import App
from provision.cli import cli, confirm, pass_app
from provision.cli.params import READABLE_FILE, PathParam, app_option, machine_option, path_option
from provision.project import load_app_name

if TYPE_CHECKING:
    from pathlib import Path


@cli.group()
def db() -> None:
    """The app's database: back it up, restore it; open psql on PostgreSQL.

    \b
    database = "postgres": the server runs as container APP-db on the app's network, its
    data on the volume APP-postgres; each command runs PostgreSQL's own tools inside it.
    database = "sqlite": the file is on the volume APP-data; backup and restore run
    SQLite's backup API in the serving release, so that neither stops the app nor sees a
    write half made.
    """


@db.command()
@click.argument("file", required=False, type=PathParam(dir_okay=False, allow_dash=True))
@app_option
@path_option
@machine_option
@pass_app
def backup(app: App, file: Path | None, app_name: str | None, path: Path, machine_name: str | None) -> None:
    """Write the app's database to FILE: PostgreSQL's in pg_dump's custom format, SQLite's as
    an SQLite database file.

    \b
    FILE defaults to APP-YYYYMMDD-HHMMSS.dump (.sqlite3 for SQLite) here, -2, -3... after it
    where that is taken; `-` writes to stdout. An existing file is never replaced, and a
    backup that fails half-way leaves no file. Restore it with `dockerhello db restore FILE`.
    """
    import pathlib
    from datetime import UTC, datetime

    from provision.files import new_file, unused_name

    name = load_app_name(path, app_name)
    # Running, before a file is made or a step said: nothing to back up is said at once.
    database = app.app_database(name, machine_name)
    if file is not None and str(file) == "-":
        database.backup(name, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    # A second backup in the same second gets NAME-...-2: the default name is never refused.
    target = file or unused_name(pathlib.Path(f"{name}-{datetime.now(UTC):%Y%m%d-%H%M%S}{database.suffix}"))
    with new_file(target) as out:
        app.console.step(f"Backing up the {database.kind} database of {name} to {target}")
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
    """Replace the app's database with FILE, a backup `db backup` wrote.

    In one transaction: if anything fails, the database is left as it was. PostgreSQL's
    tables in the dump are dropped and restored; SQLite's file is replaced as a whole (an
    SQLite database file from elsewhere will do, once its integrity check passes). The
    releases keep running; asks first unless --yes.
    """
    name = load_app_name(path, app_name)
    database = app.app_database(name, machine_name)  # before asking: nothing to restore into is said at once
    database.check_backup(file)
    if not yes:
        confirm(f"Replace the content of {name}'s database with {file}?", f"restoring into the database of {name}")
    app.console.step(f"Restoring {file} into the {database.kind} database of {name}")
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

    from provision.errors import DockerHelloError
    from provision.services.database import Database
    from provision.terminal import relay

    name = load_app_name(path, app_name)
    database = app.app_database(name, machine_name)
    if not isinstance(database, Database):
        raise DockerHelloError(
            f"db shell is psql, for PostgreSQL; the database of {name} is SQLite",
            hint=f"Django's shell reaches it: dockerhello run --app {name} -- python manage.py shell",
        )
    if sys.stdin.isatty() and sys.stdout.isatty():
        code = database.shell(name, relay)
    else:
        with tempfile.NamedTemporaryFile(prefix="dockerhello-", suffix=".sql") as script:
            script.write(sys.stdin.buffer.read())
            script.flush()
            code = database.shell(name, None, FilePath(script.name))
    click.get_current_context().exit(code)
