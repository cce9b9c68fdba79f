"""What the benches share: this repository, the base image they build on, a free port, the
deployable files, and dockerhello's CLI run in-process with its own state directory."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from click.testing import CliRunner  # noqa: E402

from provision.app import App  # noqa: E402
from provision.cli import cli  # noqa: E402

BASE = os.environ.get("DOCKERHELLO_BASE_IMAGE", "dockerhello/python:trixie")
FILES = ("Dockerfile", ".dockerignore", "start.sh", "requirements.txt", "manage.py", "helloworld")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def copy_project(destination: Path) -> Path:
    """The deployable part of this repository, copied to `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / name)
    return destination


def dockerhello(args: list[str], home: str) -> str:
    """Run `dockerhello -q ARGS` with DOCKERHELLO_HOME=home; its stdout, or exit with its error."""
    app = App.create({**os.environ, "DOCKERHELLO_HOME": home}, state_dir=Path(home))
    result = CliRunner().invoke(cli, ["-q", *args], obj=app, prog_name="dockerhello")
    if result.exit_code != 0:
        raise SystemExit(result.stderr)
    return result.stdout.strip()
