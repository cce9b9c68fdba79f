"""Why a release did not become healthy, and the hint that goes with it, from what the engine
said of it, what it answered and its last log lines."""

from __future__ import annotations

from dataclasses import replace

import pytest

from provision.adapters.engine_model import ContainerInfo
from provision.services.diagnosis import (
    LOOPBACK_DATABASE_HINT,
    MEMORY_HINT,
    NO_TABLE_HINT,
    READ_ONLY_HINT,
    answer_hint,
    exited_hint,
    failure,
    hopeless,
    log_hint,
)

RUNNING = ContainerInfo("c" * 64, "shop-20261207-230000", "sha256:" + "i" * 64, {}, "running", True, False, 0,
                        "2026-12-07T23:00:00.1Z", "starting", "", 0, (), "10001:10001", (), True, ("ALL",), (),
                        30 * 2**20, None)  # fmt: skip


@pytest.mark.parametrize(
    ("state", "verdict"),
    [
        ({}, None),
        ({"health": "unhealthy", "health_output": "refused"}, "The container is unhealthy: refused"),
        ({"status": "exited", "running": False, "exit_code": 3}, "The container exited at start (exit code 3)"),
        ({"status": "restarting", "running": False, "restarting": True, "exit_code": 3, "restart_count": 1},
         "The container exited at start (exit code 3)"),
        # Running again after its restart policy's restart: the engine has cleared the exit code.
        ({"restart_count": 1}, "The container exited at start (restarted once by its restart policy)"),
        ({"restart_count": 4}, "The container exited at start (restarted 4 times by its restart policy)"),
        ({"status": "exited", "running": False, "exit_code": 137, "oom_killed": True},
         "The container ran out of memory at start: the kernel killed it at its limit of 30 MB"),
        ({"restart_count": 2, "oom_killed": True, "memory": None},
         "The container ran out of memory at start: the kernel killed it at its limit"),
    ],
)  # fmt: skip
def test_the_verdict_on_a_container_that_cannot_become_healthy(state: dict[str, object], verdict: str | None) -> None:
    assert failure(replace(RUNNING, **state)) == verdict  # type: ignore[arg-type]


def test_a_release_killed_for_memory_gets_the_memory_hint_whatever_its_log() -> None:
    assert exited_hint(["exec ./start.sh: no such file or directory"], out_of_memory=True) == MEMORY_HINT


def test_gunicorns_killed_workers_are_read_as_memory() -> None:
    logs = [
        "[1] [INFO] Booting worker with pid: 12",
        "[1] [ERROR] Worker (pid:12) was sent SIGKILL! Perhaps out of memory?",
    ]
    assert log_hint(logs) == f"Gunicorn's workers were killed as they booted, most likely for memory. {MEMORY_HINT}"
    assert log_hint(["[1] [INFO] Booting worker with pid: 12"]) is None


@pytest.mark.parametrize(
    ("logs", "hint"),
    [
        (["exec /app/start.sh: exec format error"],
         "/app/start.sh is not a program the container can run: a script needs a first line such as #!/bin/sh, "
         "and a binary must be built for the engine's architecture."),
        (["exec ./start.sh: no such file or directory", "exec ./start.sh: no such file or directory"],
         "./start.sh is in the image, but the interpreter its first line (#!) names is not, or the file has "
         "Windows line endings (CRLF): `sed -i 's/\\r$//' ./start.sh` fixes the second (and `* text eol=lf` in "
         ".gitattributes keeps it fixed); then deploy again."),
        # The app's own words that merely mention exec are the app's: its log lines are the hint.
        (["Starting Gunicorn", "ERROR: exec ./x: no such file or directory in a subprocess"],
         "Its last log lines are below; fix the cause and deploy again."),
        ([], "Its last log lines are below; fix the cause and deploy again."),
    ],
)  # fmt: skip
def test_a_release_whose_command_the_kernel_refuses_gets_a_hint_that_names_the_causes(
    logs: list[str], hint: str
) -> None:
    assert exited_hint(logs) == hint


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ("400", "Django answers 400 to a Host header its ALLOWED_HOSTS does not allow. Keep localhost in "
                "ALLOWED_HOSTS, beside the app's own names: the health checks send it (the image's from inside the "
                "release too), e.g. `--env ALLOWED_HOSTS=localhost,example.com`."),
        ("404", "GET /up is not a page of the app: `--health-path` (health_path in dockerhello.toml) names one that "
                "answers 200."),
        ("403", "GET /up is not open to anyone (403): `--health-path` names a page that answers 200 without a login."),
        ("502", "The app fails on GET /up (HTTP 502): its last log lines below say why."),
        ("503", "The app fails on GET /up (HTTP 503): its last log lines below say why."),
        ("204", None),
        ("error [Errno 111] Connection refused", None),
        ("", None),
    ],
)  # fmt: skip
def test_the_timeouts_hint_follows_what_the_app_answered(answer: str, hint: str | None) -> None:
    assert answer_hint(answer, "/up") == hint


KILLED = "[1] [ERROR] Worker (pid:12) was sent SIGKILL! Perhaps out of memory?"
DISALLOWED = "django.core.exceptions.DisallowedHost: Invalid HTTP_HOST header: 'localhost'. You may need to add it"


@pytest.mark.parametrize(
    ("logs", "status", "verdict"),
    [
        ([DISALLOWED], 400, "The app refuses the Host header the health gate sends (localhost): Django's "
                            "ALLOWED_HOSTS does not allow it"),
        ([DISALLOWED], 503, None),  # not what answered this time
        (["Bad Request (400)"], 400, None),  # a 400 of the app's own: the timeout's hint
        ([KILLED] * 3, None, "Gunicorn's workers are killed as they boot (3 times in its last log lines), most "
                             "likely by the kernel at the container's memory limit of 30 MB"),
        ([KILLED] * 2, None, None),  # one unlucky boot or two: not yet a loop
    ],
)  # fmt: skip
def test_log_lines_that_say_a_release_never_will_be_healthy(logs: list[str], status: int | None,
                                                            verdict: str | None) -> None:  # fmt: skip
    found = hopeless(logs, status, 30 * 2**20)
    assert (found[0] if found else None) == verdict


@pytest.mark.parametrize(
    "line",
    [
        "OSError: [Errno 30] Read-only file system: '/app/cache'",
        "django.db.utils.OperationalError: attempt to write a readonly database",
    ],
)
def test_writes_to_the_read_only_root_filesystem_are_named(line: str) -> None:
    logs = ["Starting Gunicorn", "Traceback (most recent call last):", line]
    assert log_hint(logs) == READ_ONLY_HINT
    assert exited_hint(logs) == READ_ONLY_HINT
    assert log_hint(["Starting Gunicorn"]) is None


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("django.db.utils.OperationalError: no such table: django_session", NO_TABLE_HINT),
        ('django.db.utils.ProgrammingError: relation "shop_product" does not exist', NO_TABLE_HINT),
        ("django.db.utils.ProgrammingError: (1146, \"Table 'shop.shop_product' doesn't exist\")", NO_TABLE_HINT),
        ('django.db.utils.OperationalError: connection to server at "localhost" (127.0.0.1), port 5432 failed: '
         "Connection refused", LOOPBACK_DATABASE_HINT),
        ('psycopg.OperationalError: connection failed: connection to server at "127.0.0.1", port 5432 failed: '
         "Connection refused", LOOPBACK_DATABASE_HINT),
        ('\tIs the server running on host "localhost" (127.0.0.1) and accepting', LOOPBACK_DATABASE_HINT),
        ("django.db.utils.OperationalError: (2002, \"Can't connect to MySQL server on 'localhost' (115)\")",
         LOOPBACK_DATABASE_HINT),
        ('connection to server at "shop-postgres" (172.31.0.9), port 5432 failed: Connection refused', None),
        ('relation "x" already exists', None),
    ],
)  # fmt: skip
def test_database_errors_in_the_log_lines_say_what_to_do(line: str, hint: str | None) -> None:
    assert log_hint(["Traceback (most recent call last):", line]) == hint


def test_a_module_the_image_lacks_is_named_with_where_to_add_it() -> None:
    logs = ["[2026-12-07 23:00:00 +0000] [7] [ERROR] Exception in worker process", "Traceback (most recent call last):",
            "ModuleNotFoundError: No module named 'rest_framework'", "[1] [ERROR] Reason: Worker failed to boot."]  # fmt: skip
    assert log_hint(logs) == (
        "The app imports rest_framework, which is not in the image: add the package that provides it to "
        "requirements.txt (its name on PyPI may differ: Pillow gives PIL), then deploy again; where rest_framework "
        "is the project's own package, check the WSGI module Gunicorn is given (PROJECT.wsgi:application)."
    )
    assert exited_hint(logs) == log_hint(logs)
