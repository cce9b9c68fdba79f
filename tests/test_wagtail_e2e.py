"""A Wagtail site, from `wagtail start` at test time: made deployable by `init --db postgres`
and deployed on the real engine with PostgreSQL as its accessory. Read back as its users and
its operator would: its pages over HTTP, its rows through `run` and `db shell`, its uploads
through the proxy, its data through redeploys, a rollback, `down`, and a backup restored
into a fresh volume."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from tests.conftest import Dockerhello, free_port
from tests.test_own_project_e2e import assert_cached_for_a_year, fetch

pytestmark = pytest.mark.docker

COUNT = "SELECT 'users ' || count(*) FROM auth_user;"
CREATE = "from django.contrib.auth.models import User; User.objects.create_user('alice')"
UPLOAD = (
    "from django.core.files.storage import default_storage as s; from django.core.files.base import ContentFile; "
    "print('saved', s.save('documents/hello.txt', ContentFile(b'an upload')))"
)


def wagtail_start(parent: Path) -> Path:
    wagtail = shutil.which("wagtail", path=str(Path(sys.executable).parent))
    assert wagtail is not None, "wagtail is a test dependency (pyproject.toml), installed beside this Python"
    site = parent / "wagtailsite"
    site.mkdir()
    subprocess.run([wagtail, "start", "mysite", str(site)], check=True, timeout=120, capture_output=True)
    return site


def users(dockerhello: Dockerhello, site: Path, app: str) -> str:
    result = dockerhello("db", "shell", "--app", app, "--path", str(site), stdin=COUNT)
    assert result.exit_code == 0, result.stdout + result.stderr
    return next(line.strip() for line in result.stdout.splitlines() if line.strip().startswith("users"))


def test_wagtail_start_init_postgres_deploy_keeps_its_data_and_restores_a_backup(
    tmp_path: Path, dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str
) -> None:
    site = wagtail_start(tmp_path)
    refused = dockerhello("init", str(site), "--app", app_name, "--db", "postgres")
    assert refused.exit_code == 1  # Wagtail's template ships a Dockerfile of its own
    assert "Error: Not overwriting Dockerfile, .dockerignore: already there and different" in refused.stderr
    init = dockerhello("init", str(site), "--app", app_name, "--db", "postgres", "--force")
    assert init.exit_code == 0, init.stderr
    assert "-FROM python:3.14-slim-bookworm AS builder" in init.stdout  # the diff of what it overwrote
    assert "(psycopg added to the image)" in init.stderr
    port = free_port()
    deploy = ("deploy", str(site), "--publish", f"127.0.0.1:{port}", "--base-image", base_image)
    first = dockerhello(*deploy)
    assert first.exit_code == 0, first.stderr
    assert f"Starting the database {app_name}-db" in first.stderr
    assert "Applying home.0002_create_homepage... OK" in first.stderr  # migrated into PostgreSQL
    password = (dockerhello.state_dir / "apps" / app_name / "database_password").read_text().strip()
    assert password not in first.stdout + first.stderr

    # The site's own home page, and Wagtail's admin with its CSS served for a year.
    status, _, page = fetch(port, "/")
    assert status == 200 and "Welcome to your new Wagtail site!" in page
    status, _, page = fetch(port, "/admin/login/")
    assert status == 200 and "Sign in" in page
    assert_cached_for_a_year(port, page, r"/static/wagtailadmin/css/core\.[0-9a-f]{12}\.css")

    # The server: its own container and volume, the password in no image and no label.
    server = docker_client.containers.get(f"{app_name}-db")
    assert server.attrs["Config"]["User"] == "999:999" and server.attrs["HostConfig"]["ReadonlyRootfs"]
    assert [(m["Name"], m["Destination"]) for m in server.attrs["Mounts"]] == [
        (f"{app_name}-postgres", "/var/lib/postgresql/data")
    ]
    assert not server.attrs["HostConfig"]["PortBindings"]
    assert server.image is not None
    for image in (server.image, *docker_client.images.list(name=app_name)):
        assert password not in str(image.attrs["Config"]) and password not in str(image.history())
    started = server.attrs["State"]["StartedAt"]
    shown = dockerhello("status", "--app", app_name, "--path", str(site)).stdout
    assert f"Database   {app_name}-db running, healthy" in shown.splitlines(), shown

    # A row and an upload outlive a redeploy, a rollback, and a down + deploy; the server is never restarted.
    run = ("run", "--app", app_name, "--path", str(site), "--")
    assert dockerhello(*run, "python", "manage.py", "shell", "-c", CREATE).exit_code == 0
    saved = dockerhello(*run, "python", "manage.py", "shell", "-c", UPLOAD)
    assert "saved documents/hello.txt" in saved.stdout, saved.stdout + saved.stderr
    status, headers, body = fetch(port, "/media/documents/hello.txt")
    assert (status, body, headers["X-Content-Type-Options"]) == (200, "an upload", "nosniff")
    assert users(dockerhello, site, app_name) == "users 1"
    (site / "home" / "models.py").write_text((site / "home" / "models.py").read_text() + "# a change\n")
    assert dockerhello(*deploy).exit_code == 0
    assert dockerhello("rollback", "--app", app_name, "--path", str(site)).exit_code == 0
    assert users(dockerhello, site, app_name) == "users 1"
    assert docker_client.containers.get(f"{app_name}-db").attrs["State"]["StartedAt"] == started
    assert dockerhello("down", "--app", app_name, "--path", str(site)).exit_code == 0
    assert {v.name for v in docker_client.volumes.list(filters={"name": app_name})} >= {
        f"{app_name}-postgres", f"{app_name}-data"}  # fmt: skip
    assert dockerhello(*deploy).exit_code == 0
    assert users(dockerhello, site, app_name) == "users 1"
    assert fetch(port, "/media/documents/hello.txt")[2] == "an upload"

    # A backup, restored into a fresh volume, brings the row back.
    dump = tmp_path / "site.dump"
    backup = dockerhello("db", "backup", str(dump), "--app", app_name, "--path", str(site))
    assert backup.exit_code == 0, backup.stderr
    assert backup.stdout == f"{dump}\n" and dump.read_bytes().startswith(b"PGDMP")
    again = dockerhello("db", "backup", str(dump), "--app", app_name, "--path", str(site))
    assert (again.exit_code, again.stderr.splitlines()[0]) == (1, f"Error: {dump} exists already")
    kept = dockerhello("down", "--app", app_name, "--path", str(site), "--volumes", stdin="n\n")
    assert kept.exit_code == 1  # asked, and told no: nothing removed
    assert (f"Remove the data of {app_name} for good: {app_name}-data (its uploads, and its database if it is "
            f"SQLite) and {app_name}-postgres (its PostgreSQL database)? [y/N]: n") in kept.stderr  # fmt: skip
    assert docker_client.containers.get(f"{app_name}-db").status == "running"
    assert dockerhello("down", "--app", app_name, "--path", str(site), "--volumes", "--yes").exit_code == 0
    assert not docker_client.volumes.list(filters={"name": f"{app_name}-postgres"})
    assert dockerhello(*deploy).exit_code == 0
    assert users(dockerhello, site, app_name) == "users 0"
    restored = dockerhello("db", "restore", str(dump), "--yes", "--app", app_name, "--path", str(site))
    assert restored.exit_code == 0, restored.stderr
    assert users(dockerhello, site, app_name) == "users 1"
    assert fetch(port, "/")[0] == 200

    # Not a dump: refused before anything changes. SQL that fails: psql's status.
    not_a_dump = dockerhello("db", "restore", str(site / "manage.py"), "--yes", "--app", app_name, "--path", str(site))
    assert not_a_dump.exit_code == 1
    assert f"Error: {site / 'manage.py'} is not a dump in pg_dump's custom format" in not_a_dump.stderr
    failing = dockerhello("db", "shell", "--app", app_name, "--path", str(site), stdin="SELECT * FROM nowhere;")
    assert failing.exit_code == 3 and 'relation "nowhere" does not exist' in failing.stdout
    assert users(dockerhello, site, app_name) == "users 1"
