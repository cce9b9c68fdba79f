"""An app whose database is SQLite (what `init` chooses for a project whose settings use a
database), on the real engine: concurrent writes through Gunicorn's workers and threads, and
`db backup` and `db restore` while it serves."""

from __future__ import annotations

import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import docker
import pytest

from tests.conftest import Dockerhello, free_port, release_containers
from tests.test_init import startproject

pytestmark = pytest.mark.docker

# A view that reads and then writes in one transaction, as most forms do.
WRITE_VIEW = """

import uuid

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpResponse


def write(request):
    with transaction.atomic():
        count = User.objects.count()
        User.objects.create_user(f"u{uuid.uuid4().hex}")
    return HttpResponse(str(count))


urlpatterns.append(path("write/", write))
"""
NAMES = "from django.contrib.auth.models import User; print('users', *User.objects.values_list('username', flat=True))"
LEFT_IN_DATA = "import os; print('left', *sorted(n for n in os.listdir('/data') if n.startswith('.dockerhello')))"


def manage(dockerhello: Dockerhello, site: Path, app: str, code: str) -> str:
    """What `code` prints in Django's shell of a one-off container of the serving release."""
    result = dockerhello("run", "--app", app, "--path", str(site), "--", "python", "manage.py", "shell", "-c", code)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1]


def in_release(docker_client: docker.DockerClient, app: str, code: str) -> str:
    [container] = release_containers(docker_client, app)
    result = container.exec_run(["python", "-c", code])
    assert result.exit_code == 0, result.output
    return str(result.output.decode().strip())


def writes_from(clients: int, port: int, seconds: float) -> Counter[int | str]:
    """The statuses of GET /write/ from `clients` threads at once, each asking again once answered."""
    statuses: Counter[int | str] = Counter()
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/write/", timeout=30) as response:
                    response.read()
                    statuses[response.status] += 1
            except urllib.error.HTTPError as error:
                statuses[error.code] += 1
            except OSError as error:
                statuses[type(error).__name__] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_an_sqlite_app_takes_concurrent_writes_and_is_backed_up_and_restored_while_it_serves(
    tmp_path: Path, dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    site = startproject(tmp_path)
    (site / "mysite" / "urls.py").write_text((site / "mysite" / "urls.py").read_text() + WRITE_VIEW)
    assert dockerhello("init", str(site), "--app", app_name).exit_code == 0  # database = "sqlite"
    port = free_port()
    deployed = dockerhello("deploy", str(site), "--publish", f"127.0.0.1:{port}", "--base-image", base_image)
    assert deployed.exit_code == 0, deployed.stderr
    at = ("--app", app_name, "--path", str(site))

    # 16 clients writing at once: by SQLite's defaults about half of them got "database is
    # locked" (HTTP 500); the settings init writes make each wait its turn.
    statuses = writes_from(16, port, 5)
    assert set(statuses) == {200} and statuses[200] > 50, statuses
    journal = "import sqlite3; print(sqlite3.connect('/data/db.sqlite3').execute('PRAGMA journal_mode').fetchone()[0])"
    assert in_release(docker_client, app_name, journal) == "wal"
    manage(dockerhello, site, app_name, "from django.contrib.auth.models import User; User.objects.all().delete()")
    manage(
        dockerhello, site, app_name, "from django.contrib.auth.models import User; User.objects.create_user('alice')"
    )
    [release] = release_containers(docker_client, app_name)

    backup = tmp_path / "alice.sqlite3"
    backed_up = dockerhello("db", "backup", str(backup), *at)
    assert backed_up.exit_code == 0, backed_up.stderr
    assert backed_up.stdout == f"{backup}\n"
    assert f"==> Backing up the SQLite database of {app_name} to {backup}" in backed_up.stderr
    with sqlite3.connect(backup) as copy:  # a database of its own, with what the app wrote, in one file
        assert copy.execute("SELECT username FROM auth_user").fetchall() == [("alice",)]
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    again = dockerhello("db", "backup", str(backup), *at)
    assert (again.exit_code, again.stderr.splitlines()[0]) == (1, f"Error: {backup} exists already")
    to_stdout = dockerhello("db", "backup", "-", *at)
    assert to_stdout.exit_code == 0 and to_stdout.stdout_bytes.startswith(b"SQLite format 3\x00")
    # Backups under the default name, one after the other (a second apart or not): each its own file.
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    named = [dockerhello("db", "backup", *at) for _ in range(2)]
    assert [result.exit_code for result in named] == [0, 0]
    files = sorted(path.name for path in (tmp_path / "here").iterdir())
    assert len(files) == 2 and sorted(result.stdout.strip() for result in named) == files

    manage(dockerhello, site, app_name, "from django.contrib.auth.models import User; User.objects.create_user('bob')")
    assert manage(dockerhello, site, app_name, NAMES) == "users alice bob"
    restored = dockerhello("db", "restore", str(backup), "--yes", *at)
    assert restored.exit_code == 0, restored.stderr
    assert f"Restored {backup} into the database of {app_name}." in restored.stderr
    assert manage(dockerhello, site, app_name, NAMES) == "users alice"
    # The serving release saw it too, without a restart, and no copy was left beside the file.
    assert in_release(docker_client, app_name, f"import django; django.setup(); {NAMES}") == "users alice"
    [serving] = release_containers(docker_client, app_name)
    assert (serving.id, serving.attrs["RestartCount"]) == (release.id, 0)
    assert in_release(docker_client, app_name, LEFT_IN_DATA) == "left"

    # A file that is not an SQLite database is refused before anything is copied in.
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("not a database\n")
    refused = dockerhello("db", "restore", str(not_a_database), "--yes", *at)
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        f"Error: {not_a_database} is not an SQLite database",
        "Hint: Restore a file `dockerhello db backup` wrote for an app whose database is SQLite.",
    ]
    # A damaged one: the integrity check fails in the release, and the database is as it was.
    damaged = tmp_path / "damaged.sqlite3"
    data = bytearray(backup.read_bytes())
    data[len(data) // 2 :] = b"\xff" * (len(data) - len(data) // 2)
    damaged.write_bytes(bytes(data))
    failed = dockerhello("db", "restore", str(damaged), "--yes", *at)
    assert failed.exit_code == 1
    assert failed.stderr.splitlines()[1].startswith("Error: The restore into /data/db.sqlite3 failed (exit code 1): "
                                                    "the database is as it was")  # fmt: skip
    assert manage(dockerhello, site, app_name, NAMES) == "users alice"
    assert in_release(docker_client, app_name, LEFT_IN_DATA) == "left"

    shell = dockerhello("db", "shell", *at)
    assert shell.exit_code == 1
    assert shell.stderr.splitlines() == [
        f"Error: db shell is psql, for PostgreSQL; the database of {app_name} is SQLite",
        f"Hint: Django's shell reaches it: dockerhello run --app {app_name} -- python manage.py shell",
    ]
