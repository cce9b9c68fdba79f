"""The app's PostgreSQL (`database = "postgres"`): an accessory container, APP-db, on the
app's network, its data on the volume APP-postgres.

It is made by the first deploy that needs it and then left running: a deploy, a rollback
or a `down` of the releases never restarts it. Its password is made once on this host, kept
in dockerhello's state directory and given to the server and the releases at run time only:
it is in no image, no label and no output. `backup`, `restore` and `shell` run PostgreSQL's
own tools inside the server's container, over its local socket.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from provision.adapters.engine import Engine
from provision.adapters.engine_model import ContainerInfo, ContainerSpec
from provision.console import Console
from provision.errors import DeployFailed, DockerHelloError, RestoreInterrupted
from provision.files import begins_with
from provision.owned import (
    POSTGRES_DB,
    POSTGRES_DIR,
    POSTGRES_UID,
    POSTGRES_USER,
    ROLE_DATABASE,
    app_labels,
    database_name,
    database_volume,
    network_name,
)
from provision.secret_store import SecretStore
from provision.services.known_apps import known_apps, not_deployed
from provision.services.packaged_image import PackagedImage

if TYPE_CHECKING:
    from provision.services.sqlite_database import SqliteDatabase
    from provision.terminal import Terminal

POSTGRES_IMAGE = PackagedImage("provision.postgres", ("Dockerfile", "start-postgres.sh"), "dockerhello/postgres",
                               ROLE_DATABASE, "the database image", "PostgreSQL")  # fmt: skip
PASSWORD_VARIABLE = "POSTGRES_PASSWORD"
READY_TIMEOUT = 90.0  # a first start runs initdb
STOP_TIMEOUT = 60  # a fast shutdown writes a checkpoint: give it time rather than kill it
DUMP_MAGIC = b"PGDMP"  # how pg_dump's custom format begins
RESTORE_FILE = "dockerhello-restore.dump"
SCRIPT_FILE = "dockerhello-stdin.sql"
LOCAL = ("--host=/tmp", f"--username={POSTGRES_USER}")


def database_spec(app: str, image: str, password: str) -> ContainerSpec:
    """The server's container: its own user, a read-only root, no capabilities, no port of its
    own (only the app's network reaches it), restarted with the engine."""
    return ContainerSpec(
        image=image,
        name=database_name(app),
        labels=app_labels(app, ROLE_DATABASE),
        network=network_name(app),
        env={PASSWORD_VARIABLE: password},
        user=f"{POSTGRES_UID}:{POSTGRES_UID}",
        read_only=True,
        tmpfs={"/tmp": "rw,nosuid,nodev,size=64m"},  # its socket too: a tmpfs elsewhere would be root's
        cap_drop=("ALL",),
        no_new_privileges=True,
        pids_limit=512,
        stop_timeout=STOP_TIMEOUT,
        volumes={database_volume(app): POSTGRES_DIR},
    )


def password_of(container: ContainerInfo) -> str | None:
    prefix = f"{PASSWORD_VARIABLE}="
    return next((e.removeprefix(prefix) for e in container.env if e.startswith(prefix)), None)


def of_app(app: str, postgres: Database, sqlite: SqliteDatabase) -> Database | SqliteDatabase:
    """The app's database, running: its PostgreSQL where it has one, else the SQLite file of
    its serving release; else the error that it has none."""
    if postgres.get(app) is not None:
        postgres.running(app)
        return postgres
    found = sqlite.find(app)
    if found is not None:
        sqlite.check_running(app, *found)
        return sqlite
    if app not in known_apps(postgres.engine):
        raise not_deployed(postgres.engine, app)
    raise DockerHelloError(
        f"{app} has no database running on the {postgres.engine.target.describe()}",
        hint='Set database = "sqlite" or "postgres" in dockerhello.toml (or --db) and deploy.',
    )


class Database:
    kind = "PostgreSQL"
    suffix = ".dump"  # of a backup's file: pg_dump's custom format

    def __init__(
        self,
        engine: Engine,
        console: Console,
        secrets: SecretStore,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.console = console
        self.secrets = secrets
        self.clock = clock
        self.sleep = sleep

    def get(self, app: str) -> ContainerInfo | None:
        return self.engine.container(database_name(app))

    def password(self, app: str, found: ContainerInfo | None) -> str:
        """The password of `found`, the app's server where it runs (deployed from another
        host, say), kept here too; else the one kept here, made on first use."""
        return self.secrets.database_password(app, password_of(found) if found is not None else None)

    def ensure(self, app: str, base_image: str | None) -> str:
        """The app's server, made and started if need be, once it accepts connections; its
        password. The app's network must exist."""
        found = self.get(app)
        password = self.password(app, found)
        if found is None:
            image = POSTGRES_IMAGE.ensure(self.engine, self.console, base_image)
            volume = database_volume(app)
            self.console.step(
                f"Starting the database {database_name(app)} (PostgreSQL, its data on the volume {volume})"
            )
            self.engine.create(database_spec(app, image, password))
        elif found.running:
            return password
        self.engine.start(database_name(app))
        self._wait_ready(app)
        return password

    def _wait_ready(self, app: str) -> None:
        name = database_name(app)
        deadline = self.clock() + READY_TIMEOUT
        while self.clock() < deadline:
            current = self.engine.container(name)
            if current is None or current.exited or current.status == "restarting":
                break  # a server that stopped does not come back by waiting
            if current.running and self._ready(name):
                return
            self.sleep(0.5)
        raise DeployFailed(
            f"The database {name} did not start",
            hint=f"Its log is below (`docker logs {name}`); its data is on the volume {database_volume(app)}.",
            details=self.engine.logs(name, 20),
        )

    def _ready(self, name: str) -> bool:
        try:
            return self.engine.exec(name, ["pg_isready", "--quiet", *LOCAL, f"--dbname={POSTGRES_DB}"])[0] == 0
        except DockerHelloError:  # it stopped between the look and the exec
            return False

    def running(self, app: str) -> ContainerInfo:
        found = self.get(app)
        if found is not None and found.running:
            return found
        where = self.engine.target.describe()
        if found is not None:
            raise DockerHelloError(f"The database of {app} ({found.name}) is {found.status} on the {where}",
                                   hint="`dockerhello deploy` starts it again; `docker logs "
                                   f"{found.name}` says why it stopped.")  # fmt: skip
        raise DockerHelloError(
            f"{app} has no database running on the {where}",
            hint='Set database = "postgres" in dockerhello.toml (or --db postgres) and deploy.',
        )

    def remove(self, app: str, volume: bool) -> list[str]:
        """Stop and remove the server (a clean shutdown); its volume too when `volume`."""
        removed = []
        self.engine.stop(database_name(app), STOP_TIMEOUT)
        if self.engine.remove(database_name(app), force=True):
            removed.append(database_name(app))
        if volume and self.engine.remove_volume(database_volume(app)):
            removed.append(database_volume(app))
        return removed

    # -- backup, restore, shell ---------------------------------------------------------------

    def backup(self, app: str, out: IO[bytes]) -> None:
        """pg_dump's custom format of the app's database, written to `out` as it comes."""
        server = self.running(app)
        argv = ["pg_dump", "--format=custom", *LOCAL, f"--dbname={POSTGRES_DB}"]
        code, errors = self.engine.exec_to(server.id, argv, out)
        if code != 0:
            raise DockerHelloError(f"pg_dump failed (exit code {code})", details=errors.splitlines()[-20:])

    def check_backup(self, dump: Path) -> None:
        """That `dump` is in pg_dump's custom format, before a restore asks or copies anything."""
        if not begins_with(dump, DUMP_MAGIC):
            raise DockerHelloError(
                f"{dump} is not a dump in pg_dump's custom format",
                hint="Restore a file `dockerhello db backup` wrote (or `pg_dump --format=custom`).",
            )

    def restore(self, app: str, dump: Path) -> list[str]:
        """Replace the app's database with the dump's content, in one transaction: on any error
        nothing changes. pg_restore's warnings, if any."""
        server = self.running(app)
        self.check_backup(dump)
        argv = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
                "--exit-on-error", *LOCAL, f"--dbname={POSTGRES_DB}"]  # fmt: skip
        try:
            code, output = self._on_file(server, dump, RESTORE_FILE, argv)
        except KeyboardInterrupt:
            raise RestoreInterrupted(f"the database server {server.name}") from None
        if code != 0:
            raise DockerHelloError(
                f"pg_restore failed (exit code {code}): the database is as it was",
                details=output.splitlines()[-20:],
            )
        return output.splitlines()

    def shell(self, app: str, terminal: Terminal | None, script: Path | None = None) -> int:
        """psql on the app's database: on `terminal`, or running `script`; psql's exit code."""
        server = self.running(app)
        psql = ["psql", "--no-psqlrc", *LOCAL, f"--dbname={POSTGRES_DB}"]
        if terminal is not None:
            sock, resize, exit_code = self.engine.exec_terminal(server.id, psql)
            terminal(sock, resize)
            return exit_code()
        assert script is not None, "a script when there is no terminal"
        code, output = self._on_file(server, script, SCRIPT_FILE, [*psql, "--set=ON_ERROR_STOP=1", "--file"])
        self.console.raw(output)
        return code

    def _on_file(self, server: ContainerInfo, source: Path, name: str, argv: list[str]) -> tuple[int, str]:
        """`argv` and then the path of `source`, copied onto the server's volume (its root file
        system is read-only) and removed again however the command ends."""
        self.engine.put_path(server.id, POSTGRES_DIR, name, source, POSTGRES_UID)
        try:
            return self.engine.exec(server.id, [*argv, f"{POSTGRES_DIR}/{name}"])
        finally:
            self.engine.exec(server.id, ["rm", "-f", f"{POSTGRES_DIR}/{name}"])
