"""Which file an SQLite app's backup copies: the one its release's DATABASE_URL names, and only
where that is on the app's data volume (a file anywhere else is gone with the container)."""

from __future__ import annotations

import pytest

from provision.adapters.engine_model import ContainerInfo
from provision.services.sqlite_database import sqlite_path

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
