"""Which file an SQLite app's backup copies: the one its release's DATABASE_URL names, and only
where that is on the app's data volume (a file anywhere else is gone with the container); and
that an interrupted restore leaves no part of its copy on the volume."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from provision.adapters.engine_model import ContainerInfo
from provision.errors import ExitCode, RestoreInterrupted
from provision.services.sqlite_database import REMOVE, USER_ID, SqliteDatabase, sqlite_path

APP = "shop"


def release(env: tuple[str, ...], mounts: dict[str, str]) -> ContainerInfo:
    return ContainerInfo("c" * 64, f"{APP}-20261207-180000", "sha256:" + "i" * 64, {}, "running", True, False, 0,
                         "2026-12-07T18:00:00Z", "healthy", "", 0, env, "10001:10001", (), True, ("ALL",), (), None,
                         None, mounts=mounts)  # fmt: skip


@pytest.mark.parametrize(
    ("url", "mounts", "path"),
    [
        ("sqlite:////data/db.sqlite3", {f"{APP}-data": "/data"}, "/data/db.sqlite3"),  # what a deploy gives
        ("sqlite:////data/sub/app.db", {f"{APP}-data": "/data"}, "/data/sub/app.db"),
        ("sqlite:////tmp/db.sqlite3", {f"{APP}-data": "/data"}, None),  # not on the volume
        ("sqlite:////data/../etc/db", {f"{APP}-data": "/data"}, None),  # nor once normalised
        ("sqlite:////data", {f"{APP}-data": "/data"}, None),  # the volume itself is no file
        ("sqlite:////data/db.sqlite3", {"other-data": "/data"}, None),  # another app's volume
        ("postgres://app:pw@shop-db:5432/app", {f"{APP}-data": "/data"}, None),
        (None, {f"{APP}-data": "/data"}, None),  # no DATABASE_URL at all
    ],
)
def test_the_file_is_the_urls_on_the_apps_data_volume(url: str | None, mounts: dict[str, str],
                                                       path: str | None) -> None:  # fmt: skip
    env = ("SECRET_KEY=k", f"DATABASE_URL={url}") if url else ("SECRET_KEY=k",)
    assert sqlite_path(release(env, mounts), APP) == path


class Interrupted:
    """An engine whose copy into the container is interrupted half-way, as a Ctrl-C does."""

    def __init__(self) -> None:
        self.execs: list[list[str]] = []

    def exec(self, container: str, argv: list[str]) -> tuple[int, str]:
        self.execs.append(argv)
        return 0, "10001\n"

    def put_path(self, container: str, directory: str, name: str, source: object, uid: int) -> None:
        raise KeyboardInterrupt


class Routed:
    def serving(self, app: str) -> ContainerInfo:
        return release(("DATABASE_URL=sqlite:////data/db.sqlite3",), {f"{APP}-data": "/data"})


def test_a_restore_interrupted_while_copying_removes_what_it_copied(tmp_path: Path) -> None:
    backup = tmp_path / "site.sqlite3"
    with sqlite3.connect(backup) as db:
        db.execute("CREATE TABLE t (x)")
    engine = Interrupted()
    with pytest.raises(KeyboardInterrupt):
        SqliteDatabase(engine, Routed()).restore(APP, backup)  # type: ignore[arg-type]
    asked_uid, removed = engine.execs
    assert asked_uid == ["python", "-c", USER_ID]
    assert removed[:3] == ["python", "-c", REMOVE]
    assert re.fullmatch(r"/data/\.dockerhello-restore-[0-9a-f]{8}", removed[3])
    assert len(removed) == 4


class InterruptedWhileRestoring(Interrupted):
    """An engine whose last exec, the restore itself, is interrupted: it goes on in the container."""

    def exec(self, container: str, argv: list[str]) -> tuple[int, str]:
        self.execs.append(argv)
        if len(self.execs) == 2:
            raise KeyboardInterrupt
        return 0, "10001\n"

    def put_path(self, container: str, directory: str, name: str, source: object, uid: int) -> None:
        return None


def test_a_restore_interrupted_while_it_runs_in_the_release_says_what_state_that_leaves(tmp_path: Path) -> None:
    backup = tmp_path / "site.sqlite3"
    with sqlite3.connect(backup) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(RestoreInterrupted) as raised:
        SqliteDatabase(InterruptedWhileRestoring(), Routed()).restore(APP, backup)  # type: ignore[arg-type]
    assert raised.value.message == (
        f"Interrupted while the restore ran in the release {APP}-20261207-180000, where it goes on, in one transaction"
    )
    assert raised.value.hint is not None and "run the same `dockerhello db restore` again" in raised.value.hint
    assert raised.value.exit_code is ExitCode.INTERRUPTED
