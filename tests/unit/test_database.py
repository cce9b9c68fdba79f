"""The app's PostgreSQL in a deploy, on the fake engine: made once, before the migration, its
password given at run time only, and kept by `down` unless asked."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from provision.adapters.engine import Engine
from provision.console import Console
from provision.errors import DeployFailed, DockerHelloError
from provision.owned import POSTGRES_DIR
from provision.secret_store import SecretStore
from provision.services.database import of_app
from provision.services.deploy import Deployer
from provision.services.proxy import Proxy
from provision.services.sqlite_database import SqliteDatabase
from tests.unit.deploy_world import APP, World, operator_of

DB = f"{APP}-db"


def url(password: str) -> str:
    return f"postgres://app:{password}@{DB}:5432/app"


def test_a_postgres_app_gets_its_server_before_its_migration_and_the_password_only_at_run_time(world: World) -> None:
    release = world.deploy(database="postgres", migrate=True)
    password = (world.state / "apps" / APP / "database_password").read_text().strip()
    assert len(password) == 64 and (world.state / "apps" / APP / "database_password").stat().st_mode & 0o077 == 0
    calls = [c[:2] for c in world.engine.calls]
    assert calls.index(("start", DB)) < calls.index(("attach", f"{APP}-{release}-migrate"))
    server = world.engine.specs[DB]
    assert (server.user, server.read_only, server.cap_drop, server.no_new_privileges, server.publish) == (
        "999:999", True, ("ALL",), True, None)  # fmt: skip
    assert (server.network, server.volumes, server.restart) == (f"dockerhello-{APP}", {f"{APP}-postgres": POSTGRES_DIR},
                                                               "unless-stopped")  # fmt: skip
    assert server.env == {"POSTGRES_PASSWORD": password}
    served = world.engine.specs[f"{APP}-{release}"]
    assert served.env["DATABASE_URL"] == url(password)
    assert world.engine.specs[f"{APP}-{release}-migrate"].env["DATABASE_URL"] == url(password)
    assert served.volumes == {f"{APP}-data": "/data"}  # the uploads
    assert world.engine.specs[APP].read_only_volumes == {f"{APP}-data": "/data"}  # which the proxy serves
    assert password not in world.err.getvalue()
    assert "Starting the database" in world.err.getvalue()

    # Redeploys and rollbacks leave the server as it runs.
    world.deploy(database="postgres", migrate=True)
    world.deployer.rollback(APP, None, world.deployer.serving_options(APP, 30))
    assert [c for c in world.engine.calls if c[1:2] == (DB,)] == [("create", DB), ("start", DB)]
    assert world.deployer.serving_options(APP, 30).database == "postgres"
    rolled_back = next(c for c in world.engine.containers({"dockerhello.role": "release"}))
    assert world.engine.specs[rolled_back.name].env["DATABASE_URL"] == url(password)
    assert not any(password in value for _, value in world.deployer.serving_options(APP, 30).environment)

    # `status` shows the server; `down` keeps the data; only --volumes removes it.
    operator = operator_of(world)
    assert operator.status(APP).database == f"{DB} running"
    assert DB in operator.down(APP, images=False)
    assert world.engine.container(DB) is None and f"{APP}-postgres" in world.engine.volumes_
    world.deploy(database="postgres", migrate=True)
    assert world.engine.specs[DB].env == {"POSTGRES_PASSWORD": password}  # the same password for the same data
    assert operator.data_volumes(APP) == [f"{APP}-data", f"{APP}-postgres"]
    removed = operator.down(APP, images=False, volumes=True)
    assert {DB, f"{APP}-postgres", f"{APP}-data"} <= set(removed)
    assert f"{APP}-postgres" not in world.engine.volumes_
    assert operator.data_volumes(APP) == []  # so `down --volumes` again asks nothing


def test_a_deploy_from_another_host_adopts_the_running_servers_password(world: World, tmp_path: Path) -> None:
    world.deploy(database="postgres", migrate=True)
    running = world.engine.specs[DB].env["POSTGRES_PASSWORD"]
    elsewhere = SecretStore(tmp_path / "another-host")
    world.deployer = Deployer(world.engine, Console(out=world.console.out, err=world.err), elsewhere,  # type: ignore[arg-type]
                              world.deployer.git, served_release=world.served, clock=world.clock,
                              sleep=world.clock.sleep)  # fmt: skip
    release = world.deploy(database="postgres", migrate=True)
    assert world.engine.specs[f"{APP}-{release}"].env["DATABASE_URL"] == url(running)
    assert elsewhere.database_password(APP) == running


def test_a_first_deploy_that_fails_removes_the_server_and_keeps_its_volume(world: World) -> None:
    world.engine.behaviour.health = "unhealthy"
    with pytest.raises(DeployFailed):
        world.deploy(database="postgres", migrate=True, health_timeout=5)
    assert world.engine.container(DB) is None and world.engine.container(APP) is None
    assert f"{APP}-postgres" in world.engine.volumes_


def test_db_commands_find_no_database_in_an_app_without_one_and_no_app_in_a_misspelt_name(world: World) -> None:
    world.deploy()  # no database setting: neither a server nor a SQLite file on the data volume
    engine: Engine = world.engine  # type: ignore[assignment]  # the fake stands in for the adapter
    proxy = Proxy(engine, world.console)
    where = "on the Docker engine at unix:///var/run/docker.sock"
    for app, message, hint in (
        (APP, f"{APP} has no database running {where}",
         'Set database = "sqlite" or "postgres" in dockerhello.toml (or --db) and deploy.'),
        ("shpo", f"shpo is not deployed {where}",
         f"dockerhello's apps there: {APP} (`--app NAME`); `dockerhello deploy` deploys shpo."),
    ):  # fmt: skip
        with pytest.raises(DockerHelloError) as raised:
            of_app(app, world.deployer.database, SqliteDatabase(engine, proxy))
        assert (raised.value.message, raised.value.hint) == (message, hint)


def test_db_commands_on_an_app_without_a_server_say_how_to_get_one(world: World) -> None:
    world.deploy(database="sqlite", migrate=True)
    with pytest.raises(DockerHelloError) as raised:
        world.deployer.database.backup(APP, io.BytesIO())
    assert raised.value.message == f"{APP} has no database running on the Docker engine at unix:///var/run/docker.sock"
    assert raised.value.hint == 'Set database = "postgres" in dockerhello.toml (or --db postgres) and deploy.'


def test_db_commands_on_a_stopped_server_say_deploy_starts_it(world: World) -> None:
    world.deploy(database="postgres", migrate=True)
    world.engine.stop(DB, 60)
    with pytest.raises(DockerHelloError) as raised:
        world.deployer.database.restore(APP, Path(__file__))  # not a dump either: the server is said first
    assert (
        raised.value.message
        == f"The database of {APP} ({DB}) is exited on the Docker engine at unix:///var/run/docker.sock"
    )
    assert raised.value.hint == f"`dockerhello deploy` starts it again; `docker logs {DB}` says why it stopped."
    world.deploy(database="postgres", migrate=True)
    assert world.deployer.database.running(APP).running
