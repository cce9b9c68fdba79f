"""Why a release did not become healthy, and what to do about it: verdicts and hints from what
the engine says of the container, what it answered the health gate, and its last log lines.
Pure functions: the health gate (`services/health.py`) asks the engine, these read."""

from __future__ import annotations

import re

from provision.adapters.engine_model import ContainerInfo
from provision.owned import APP_PORT
from provision.services.listening import Listener, only_on_loopback, other_ports
from provision.services.proxy_scripts import PROBE_HEADERS


def exited(container: ContainerInfo) -> bool:
    """Exited since it was started: stopped, restarting, or restarted by its restart policy."""
    return container.exited or container.restarting or container.restart_count > 0


def failure(container: ContainerInfo) -> str | None:
    """Why the container can never become healthy, if it cannot: it ran out of memory,
    exited (and may be restarting), or is unhealthy by its own HEALTHCHECK."""
    if exited(container):
        if container.oom_killed:
            limit = f" of {container.memory // 2**20} MB" if container.memory else ""
            return f"The container ran out of memory at start: the kernel killed it at its limit{limit}"
        if container.running and container.exit_code == 0:  # restarted: the engine cleared the code
            times = "once" if container.restart_count == 1 else f"{container.restart_count} times"
            return f"The container exited at start (restarted {times} by its restart policy)"
        return f"The container exited at start (exit code {container.exit_code})"
    if container.health == "unhealthy":
        return "The container is unhealthy: " + (container.health_output or "no health check output")
    return None


# What runc writes as the container's only output when the kernel refuses its command's file.
_EXEC_FAILED = re.compile(r"exec (?P<file>\S+): (?P<why>no such file or directory|exec format error)")


def exited_hint(log_lines: list[str], out_of_memory: bool = False) -> str:
    """What to do about a release that exited at start: killed for memory, what its last log
    lines say plainly (`log_hint`), where runc could not execute the command's file the two
    usual causes (a script with Windows line endings, checked out on Windows, is the classic
    one), else the log lines themselves."""
    if out_of_memory:
        return MEMORY_HINT
    said = log_hint(log_lines)
    if said is not None:
        return said
    for line in reversed(log_lines):
        found = _EXEC_FAILED.fullmatch(line.strip())
        if found is None:
            continue
        script = found["file"]
        if found["why"] == "exec format error":
            return (f"{script} is not a program the container can run: a script needs a first line such "
                    "as #!/bin/sh, and a binary must be built for the engine's architecture.")  # fmt: skip
        return (f"{script} is in the image, but the interpreter its first line (#!) names is not, or the file "
                f"has Windows line endings (CRLF): `sed -i 's/\\r$//' {script}` fixes the second "
                "(and `* text eol=lf` in .gitattributes keeps it fixed); then deploy again.")  # fmt: skip
    return "Its last log lines are below; fix the cause and deploy again."


# Django's log line, where its logging reaches the container's streams (this repository's and
# `init`'s settings send it there; Django's defaults do only with DEBUG on).
DISALLOWED_HOST = f"Invalid HTTP_HOST header: '{PROBE_HEADERS['Host']}'"
ALLOWED_HOSTS_HINT = (
    f"Keep {PROBE_HEADERS['Host']} in ALLOWED_HOSTS, beside the app's own names: the health checks send it "
    "(the image's from inside the release too), e.g. `--env ALLOWED_HOSTS=localhost,example.com`."
)


def answer_hint(answer: str, path: str) -> str | None:
    """What to do about an app that answered the health gate, but not 200, by its answer."""
    if not answer.isdigit():
        return None
    status = int(answer)
    if status == 400:
        return f"Django answers 400 to a Host header its ALLOWED_HOSTS does not allow. {ALLOWED_HOSTS_HINT}"
    if status == 404:
        return (f"GET {path} is not a page of the app: `--health-path` (health_path in dockerhello.toml) "
                "names one that answers 200.")  # fmt: skip
    if status in (401, 403):
        return (f"GET {path} is not open to anyone ({status}): `--health-path` names a page that answers 200 "
                "without a login.")  # fmt: skip
    if status >= 500:
        return f"The app fails on GET {path} (HTTP {status}): its last log lines below say why."
    return None


# Gunicorn's words for a worker killed by SIGKILL, which on a container is the kernel's OOM
# killer at the memory limit nearly always; the master lives on and boots another, for ever.
GUNICORN_KILLED = "was sent SIGKILL! Perhaps out of memory?"
MEMORY_HINT = (
    "Raise --memory (memory in dockerhello.toml), or run fewer Gunicorn workers, each of which loads the "
    "whole app: `--env WEB_CONCURRENCY=1`."
)


# What Python and SQLite say when the app writes where the release's read-only root
# filesystem (a default of dockerhello's) allows no writes.
READ_ONLY = ("[Errno 30] Read-only file system", "attempt to write a readonly database")
READ_ONLY_HINT = (
    "The release's root filesystem is read-only (dockerhello's default): write to /tmp (a tmpfs), and keep data "
    "on a volume (`--db sqlite` mounts the app's at /data, for its database and uploads; a path the Dockerfile "
    "declares VOLUME gets one of its own), or deploy with `--writable`."
)


# The database's own words for a table that is not there: SQLite, PostgreSQL, MySQL.
NO_TABLE = re.compile(r"no such table: \S+|relation \"[^\"]+\" does not exist|\(1146, \"Table '[^']+' doesn't exist")
NO_TABLE_HINT = (
    "The database lacks the app's tables: deploy with `--migrate` (migrate = true in dockerhello.toml), which "
    "migrates before the release takes traffic, or `dockerhello run -- python manage.py migrate` once."
)
# The drivers' words for a database server the release looks for on its own loopback:
# psycopg (2 and 3), and MySQL's client.
LOOPBACK_DATABASE = re.compile(
    r"connection to server at \"(?:localhost|127\.0\.0\.1|::1)\"|Is the server running on host \"localhost\""
    r"|Can't connect to MySQL server on '(?:localhost|127\.0\.0\.1)'|Can't connect to local MySQL server"
)
LOOPBACK_DATABASE_HINT = (
    "Inside the release, localhost is the release itself, not this host: `--db postgres` runs a PostgreSQL "
    "server for the app and points DATABASE_URL at it; a server of your own needs an address the container "
    "reaches (its name on the app's network, or the host's address), in DATABASE_URL."
)


# Python's words for an import of a module the image does not have.
NO_MODULE = re.compile(r"ModuleNotFoundError: No module named '(?P<module>[^']+)'")


def log_hint(log_lines: list[str]) -> str | None:
    """What the release's log lines say to do, where they say it plainly."""
    missing = next((found for line in reversed(log_lines) if (found := NO_MODULE.search(line))), None)
    if missing is not None:
        module = missing["module"]
        return (f"The app imports {module}, which is not in the image: add the package that provides it to "
                f"requirements.txt (its name on PyPI may differ: Pillow gives PIL), then deploy again; where "
                f"{module.split('.')[0]} is the project's own package, check the WSGI module Gunicorn is given "
                "(PROJECT.wsgi:application).")  # fmt: skip
    if any(GUNICORN_KILLED in line for line in log_lines):
        return f"Gunicorn's workers were killed as they booted, most likely for memory. {MEMORY_HINT}"
    if any(marker in line for line in log_lines for marker in READ_ONLY):
        return READ_ONLY_HINT
    if any(LOOPBACK_DATABASE.search(line) for line in log_lines):
        return LOOPBACK_DATABASE_HINT
    if any(NO_TABLE.search(line) for line in log_lines):
        return NO_TABLE_HINT
    return None


# Workers killed this many times in the last log lines: not one unlucky boot, a loop.
KILLED_LOOP = 3


def hopeless(log_lines: list[str], status: int | None, memory: int | None) -> tuple[str, str] | None:
    """Why a release that is not healthy yet never will be, with the hint, where its log lines
    say so: Django refusing the health gate's Host, or Gunicorn's workers killed as they boot."""
    if status == 400 and any(DISALLOWED_HOST in line for line in log_lines):
        return (f"The app refuses the Host header the health gate sends ({PROBE_HEADERS['Host']}): Django's "
                "ALLOWED_HOSTS does not allow it", ALLOWED_HOSTS_HINT)  # fmt: skip
    killed = sum(GUNICORN_KILLED in line for line in log_lines)
    if killed >= KILLED_LOOP:
        limit = f" of {memory // 2**20} MB" if memory else ""
        return (f"Gunicorn's workers are killed as they boot ({killed} times in its last log lines), most likely "
                f"by the kernel at the container's memory limit{limit}", MEMORY_HINT)  # fmt: skip
    return None


BIND_ALL = f"Gunicorn: `--bind 0.0.0.0:{APP_PORT}`"


def unreachable(listeners: tuple[Listener, ...], ready: bool) -> tuple[str, str] | None:
    """Why a release that the proxy cannot reach never will be, with the hint, from where it
    listens: on port 8000 on loopback only (it is up; while it holds 127.0.0.1:8000, nothing of
    it can bind 0.0.0.0:8000 either), or, `ready` by its own health check, on other ports only.
    Before its check passes, a port of its own may come up first: `listening_hint` names them
    when the time is up."""
    elsewhere = other_ports(listeners, APP_PORT) if ready else []
    if elsewhere:
        return (f"The app is healthy by its own check but listens on port {', '.join(map(str, elsewhere))}, not "
                f"{APP_PORT}, where the proxy sends requests",
                f"Make it listen on 0.0.0.0:{APP_PORT} ({BIND_ALL}).")  # fmt: skip
    bound = only_on_loopback(listeners, APP_PORT)
    if bound:
        return (f"The app listens on {', '.join(map(str, bound))} inside its container, where only the container "
                "itself can reach it",
                f"Bind it to all of the container's addresses: Gunicorn's `--bind 0.0.0.0:{APP_PORT}` (its default "
                f"is 127.0.0.1:{APP_PORT}), or `runserver 0.0.0.0:{APP_PORT}`; the proxy reaches the release at its "
                "address on the app's network.")  # fmt: skip
    return None


def listening_hint(listeners: tuple[Listener, ...]) -> str | None:
    """Where a release that never answered listens instead of port 8000, if anywhere."""
    elsewhere = other_ports(listeners, APP_PORT)
    if not elsewhere:
        return None
    return (f"The app listens on port {', '.join(map(str, elsewhere))}, not {APP_PORT}, where the proxy sends "
            f"requests: make it listen on 0.0.0.0:{APP_PORT} ({BIND_ALL}).")  # fmt: skip
