"""A project no one here wrote, `django-admin startproject`, made deployable by `init` and
deployed on the real engine, read back as its user would: over HTTP, and through `run`."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import docker
import pytest

from tests.conftest import Dockerhello, free_port, release_containers
from tests.test_init import startproject

pytestmark = pytest.mark.docker

COUNT = "from django.contrib.auth.models import User; print('users', User.objects.count())"
BROKEN_MIGRATION = """from django.db import migrations


def fail(apps, schema_editor):
    raise RuntimeError("this migration cannot be applied")


class Migration(migrations.Migration):
    operations = [migrations.RunPython(fail)]
"""


def fetch(port: int, path: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def assert_cached_for_a_year(port: int, page: str, stylesheet: str) -> None:
    """The stylesheet the `stylesheet` pattern finds in `page` (a hashed name), served with 200
    and the far-future cache header WhiteNoise gives hashed names."""
    css = re.search(rf'href="({stylesheet})"', page)
    assert css is not None, page
    status, headers, _ = fetch(port, css.group(1))
    assert (status, headers["Cache-Control"]) == (200, "max-age=315360000, public, immutable")


def in_a_terminal(dockerhello: Dockerhello, argv: list[str], answers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """The real `dockerhello` executable on a pseudo-terminal, as a person at a keyboard runs
    it: each prompt answered once seen. Its exit status and everything the terminal showed."""
    exe = shutil.which("dockerhello")
    assert exe is not None, "the test runs from the project's virtualenv"
    env = {**dockerhello.environ, "DOCKERHELLO_HOME": str(dockerhello.state_dir)}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal's side
        os.execve(exe, [exe, *argv], env)
    shown, deadline = b"", time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:  # the terminal closed: the command ended
            break
        if not data:
            break
        shown += data
        if answers and answers[0][0] in shown.rsplit(b"\n", 1)[-1]:
            os.write(fd, answers.pop(0)[1])
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown


def users(dockerhello: Dockerhello, site: Path, app: str) -> str:
    result = dockerhello("run", "--app", app, "--path", str(site), "--", "python", "manage.py", "shell", "-c", COUNT)
    assert result.exit_code == 0, result.stdout + result.stderr
    return next(line for line in result.stdout.splitlines() if line.startswith("users"))


def test_startproject_init_deploy_keeps_its_data_and_refuses_a_failing_migration(
    tmp_path: Path, dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str
) -> None:
    site = startproject(tmp_path)
    assert dockerhello("init", str(site), "--app", app_name).exit_code == 0
    port = free_port()
    deploy = ("deploy", str(site), "--publish", f"127.0.0.1:{port}", "--base-image", base_image)
    first = dockerhello(*deploy)
    assert first.exit_code == 0, first.stderr
    assert "Applying sessions.0001_initial... OK" in first.stderr  # migrated before the release started

    # The admin's login page, with DEBUG off, and its CSS served by WhiteNoise for a year.
    status, _, page = fetch(port, "/admin/login/")
    assert status == 200 and "<title>Log in | Django site admin</title>" in page
    assert_cached_for_a_year(port, page, r"/static/admin/css/base\.[0-9a-f]{12}\.css")
    assert fetch(port, "/")[0] == 404  # Django's template routes nothing at /, and DEBUG is off
    [container] = release_containers(docker_client, app_name)
    assert container.attrs["Config"]["User"] == "10001:10001" and container.attrs["HostConfig"]["ReadonlyRootfs"]
    assert [(m["Name"], m["Destination"]) for m in container.attrs["Mounts"]] == [(f"{app_name}-data", "/data")]

    # A row written through `run` outlives a redeploy, a rollback, and a down + deploy.
    create = "from django.contrib.auth.models import User; User.objects.create_user('alice')"
    created = dockerhello(
        "run", "--app", app_name, "--path", str(site), "--", "python", "manage.py", "shell", "-c", create
    )
    assert created.exit_code == 0, created.stderr
    assert users(dockerhello, site, app_name) == "users 1"
    (site / "mysite" / "urls.py").write_text((site / "mysite" / "urls.py").read_text() + "# a change\n")
    redeployed = dockerhello(*deploy)
    assert redeployed.exit_code == 0, redeployed.stderr
    assert users(dockerhello, site, app_name) == "users 1"
    rolled_back = dockerhello("rollback", "--app", app_name, "--path", str(site))
    assert rolled_back.exit_code == 0, rolled_back.stderr
    assert users(dockerhello, site, app_name) == "users 1"
    assert dockerhello("down", "--app", app_name, "--path", str(site)).exit_code == 0
    assert docker_client.volumes.get(f"{app_name}-data").name == f"{app_name}-data"
    redeployed = dockerhello(*deploy)
    assert redeployed.exit_code == 0, redeployed.stderr
    assert users(dockerhello, site, app_name) == "users 1"
    serving = fetch(port, "/admin/login/")[1]["X-Dockerhello-Release"]

    # createsuperuser, interactively, through this host's terminal; the admin then lets that user in.
    password = b"c0rrect-h0rse-battery\r"
    code, shown = in_a_terminal(
        dockerhello,
        ["run", "--app", app_name, "--path", str(site), "--", "python", "manage.py", "createsuperuser"],
        [(b"Username", b"root\r"), (b"Email address:", b"root@example.com\r"), (b"Password:", password),
         (b"Password (again):", password)],
    )  # fmt: skip
    assert code == 0, shown.decode(errors="replace")
    assert b"Superuser created successfully." in shown
    assert users(dockerhello, site, app_name) == "users 2"
    assert not docker_client.containers.list(all=True, filters={"label": "dockerhello.role=one-off"})

    # A release whose migration fails never starts; the one before it keeps serving.
    broken = site / "broken"
    (broken / "migrations").mkdir(parents=True)
    (broken / "__init__.py").write_text("")
    (broken / "migrations" / "__init__.py").write_text("")
    (broken / "migrations" / "0001_initial.py").write_text(BROKEN_MIGRATION)
    settings = site / "mysite" / "settings.py"
    settings.write_text(settings.read_text().replace("INSTALLED_APPS = [", "INSTALLED_APPS = [\n    'broken',"))
    failed = dockerhello(*deploy)
    assert failed.exit_code == 4
    assert re.search(r"^Error: The migration failed \(exit code 1\): release \S+ was not started$", failed.stderr, re.M)
    assert "  | RuntimeError: this migration cannot be applied" in failed.stderr.splitlines()
    status, headers, _ = fetch(port, "/admin/login/")
    assert (status, headers["X-Dockerhello-Release"]) == (200, serving)
    assert [c.labels["dockerhello.release"] for c in release_containers(docker_client, app_name)] == [serving]
    assert not docker_client.containers.list(all=True, filters={"label": "dockerhello.role=one-off"})

    # `run` exits with the command's status; `down --volumes` removes the data, asked or with --yes.
    exited = dockerhello("run", "--app", app_name, "--path", str(site), "--", "sh", "-c", "exit 3")
    assert exited.exit_code == 3
    # A command the image does not have exits as `docker run` does: 127, and 126 for one that
    # cannot be executed; the engine's long message becomes what it means.
    missing = dockerhello("run", "--app", app_name, "--path", str(site), "--", "manage.py", "check")
    assert (missing.exit_code, missing.stderr.splitlines()[0]) == (
        127,
        'Error: The command "manage.py" is not in the image: executable file not found in $PATH',
    )
    not_executable = dockerhello("run", "--app", app_name, "--path", str(site), "--", "/app")
    assert (not_executable.exit_code, not_executable.stderr.splitlines()[0]) == (
        126,
        'Error: The command "/app" cannot be run in the container: permission denied',
    )
    assert not docker_client.containers.list(all=True, filters={"label": "dockerhello.role=one-off"})
    assert dockerhello("down", "--app", app_name, "--path", str(site), "--volumes", "--yes").exit_code == 0
    assert not docker_client.volumes.list(filters={"name": f"{app_name}-data"})
