"""The database of an app with database = "sqlite": one file on its data volume (APP-data, at
/data in every release), backed up and restored while the app serves.

Both go through SQLite's own backup API, run by the serving release's Python (the image has
it: its `manage.py` runs on it). A copy of the file as the disk has it could catch a write half
made; a file written over in place could be read half written by the app. The backup API
copies one consistent state, and writes a restored one into the live file in one transaction,
which the app's connections then read as they read any other write."""

from __future__ import annotations

import contextlib
import posixpath
import secrets
from typing import IO, TYPE_CHECKING

from provision.errors import DockerHelloError, RestoreInterrupted
from provision.files import begins_with
from provision.owned import data_volume

if TYPE_CHECKING:
    from pathlib import Path

    from provision.adapters.engine import Engine
    from provision.adapters.engine_model import ContainerInfo
    from provision.services.proxy import Proxy

MAGIC = b"SQLite format 3\x00"  # how every SQLite database file begins
URL_PREFIX = "sqlite:///"  # then the file's absolute path, as dj-database-url reads it
PYTHON = "python"  # a Django image's, the one `manage.py migrate` runs on

# Each runs as the release's user, its copies beside the database on the data volume: the
# release's root file system is read-only, and its /tmp a tmpfs in its memory limit. Each
# removes its copy however it ends, with what SQLite made beside it (opening a file in WAL
# mode makes its -wal and -shm).
REMOVE_DEF = """
import os, sqlite3, sys
def remove(copy):
    for name in (copy, copy + "-journal", copy + "-wal", copy + "-shm"):
        if os.path.exists(name):
            os.remove(name)
"""
BACKUP = (
    REMOVE_DEF
    + """
path, copy = sys.argv[1], sys.argv[2]
if not os.path.isfile(path):
    sys.exit("there is no " + path + " yet: the app has not opened its database")
try:
    source, target = sqlite3.connect(path, timeout=30), sqlite3.connect(copy)
    source.backup(target)
    target.execute("PRAGMA journal_mode=DELETE")  # one file, whatever the app's journal: no -wal beside it
    target.close()
    source.close()
    with open(copy, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sys.stdout.buffer.write(chunk)
finally:
    remove(copy)
"""
)
RESTORE = (
    REMOVE_DEF
    + """
path, upload = sys.argv[1], sys.argv[2]
try:
    source = sqlite3.connect(upload)
    try:
        verdict = source.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            sys.exit("the file is damaged: " + verdict)
        target = sqlite3.connect(path, timeout=30)
        source.backup(target)
        target.close()
    finally:
        source.close()
finally:
    remove(upload)
"""
)
REMOVE = REMOVE_DEF + "remove(sys.argv[1])\n"
USER_ID = "import os; print(os.getuid())"


def sqlite_path(container: ContainerInfo, app: str) -> str | None:
    """The SQLite file the release's DATABASE_URL names, where it is on the app's data volume
    (a file anywhere else is gone with the container)."""
    url = next((e.partition("=")[2] for e in container.env if e.startswith("DATABASE_URL=")), "")
    mount = container.mounts.get(data_volume(app))
    path = posixpath.normpath(url[len(URL_PREFIX) :]) if url.startswith(URL_PREFIX) else ""
    if mount is None or not path.startswith(mount.rstrip("/") + "/"):
        return None
    return path


class SqliteDatabase:
    kind = "SQLite"
    suffix = ".sqlite3"  # of a backup's file

    def __init__(self, engine: Engine, proxy: Proxy) -> None:
        self.engine = engine
        self.proxy = proxy

    def find(self, app: str) -> tuple[ContainerInfo, str] | None:
        """The serving release and the path of its SQLite file, if the app's database is one."""
        serving = self.proxy.serving(app)
        path = sqlite_path(serving, app) if serving is not None else None
        return (serving, path) if serving is not None and path is not None else None

    def running(self, app: str) -> tuple[ContainerInfo, str]:
        found = self.find(app)
        if found is None:
            raise DockerHelloError(
                f"{app} has no SQLite database on the {self.engine.target.describe()}",
                hint='Set database = "sqlite" in dockerhello.toml (or --db sqlite) and deploy.',
            )
        return self.check_running(app, *found)

    def check_running(self, app: str, serving: ContainerInfo, path: str) -> tuple[ContainerInfo, str]:
        """What `find` found, if its release runs: its Python makes the copies."""
        if not serving.running:
            raise DockerHelloError(
                f"The serving release of {app} ({serving.name}) is {serving.status}",
                hint="Its Python makes the copy: `dockerhello deploy` starts a release again.",
            )
        return serving, path

    def check_backup(self, file: Path) -> None:
        """That `file` is an SQLite database, before a restore asks or copies anything."""
        if not begins_with(file, MAGIC):
            raise DockerHelloError(
                f"{file} is not an SQLite database",
                hint="Restore a file `dockerhello db backup` wrote for an app whose database is SQLite.",
            )

    def backup(self, app: str, out: IO[bytes]) -> None:
        """A copy of the app's database, one consistent state of it, written to `out`."""
        serving, path = self.running(app)
        copy = posixpath.join(posixpath.dirname(path), f".dockerhello-backup-{secrets.token_hex(4)}")
        code, errors = self.engine.exec_to(serving.id, [PYTHON, "-c", BACKUP, path, copy], out)
        if code != 0:
            raise DockerHelloError(f"The backup of {path} failed (exit code {code})", details=errors.splitlines()[-20:])

    def restore(self, app: str, file: Path) -> list[str]:
        """The app's database replaced by the one in `file`, in one transaction: on any error
        it stays as it was. No warnings to give back, as pg_restore can."""
        self.check_backup(file)
        serving, path = self.running(app)
        # The copy is made the release's user's, and readable by it only; asking its Python for
        # that user first also shows that Python runs there, before anything is copied in.
        code, output = self.engine.exec(serving.id, [PYTHON, "-c", USER_ID])
        if code != 0 or not output.strip().isdigit():
            raise DockerHelloError(f"The release {serving.name} cannot run {PYTHON} (exit code {code})",
                                   details=output.splitlines()[-20:])  # fmt: skip
        directory, name = posixpath.dirname(path), f".dockerhello-restore-{secrets.token_hex(4)}"
        try:
            self.engine.put_path(serving.id, directory, name, file, int(output.strip()))
        except BaseException:  # a Ctrl-C or a lost engine half-way may leave part of the copy
            with contextlib.suppress(Exception):
                self.engine.exec(serving.id, [PYTHON, "-c", REMOVE, f"{directory}/{name}"])
            raise
        try:
            code, output = self.engine.exec(serving.id, [PYTHON, "-c", RESTORE, path, f"{directory}/{name}"])
        except KeyboardInterrupt:
            raise RestoreInterrupted(f"the release {serving.name}") from None
        if code != 0:
            raise DockerHelloError(f"The restore into {path} failed (exit code {code}): the database is as it was",
                                   details=output.splitlines()[-20:])  # fmt: skip
        return []
