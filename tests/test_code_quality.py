"""The checks a reviewer would run: ruff (lint and format) and mypy --strict."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def tool(name: str) -> str:
    exe = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if exe is None:
        pytest.fail(f"{name} is not installed: `pip install -e .[lint]` (scripts/test does it)")
    return exe


@pytest.mark.parametrize("argv", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff(argv: list[str]) -> None:
    proc = subprocess.run([tool("ruff"), *argv], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict() -> None:
    proc = subprocess.run([tool("mypy")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# The deploy wing: what decides how a deploy, a rollback and the day-2 commands go.
DEPLOY_WING = [
    "provision.services.deploy", "provision.services.build", "provision.services.health",
    "provision.services.preflight", "provision.services.release_container", "provision.services.proxy",
    "provision.services.proxy_layout", "provision.services.proxy_upgrade",
    "provision.services.operate", "provision.services.releases", "provision.services.plan",
    "provision.adapters.engine_model",
]  # fmt: skip


def test_the_deploy_wing_is_covered_by_unit_tests_without_an_engine(tmp_path: Path) -> None:
    """At least 85% of its lines run in tests/unit, which need no engine (DOCKER_HOST points
    nowhere, so an engine call would fail, not pass)."""
    report = tmp_path / "coverage.json"
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit",
            *(f"--cov={module}" for module in DEPLOY_WING), f"--cov-report=json:{report}"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DOCKERHELLO_"))}
    env.update(DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock", HOME=str(tmp_path))
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    totals = json.loads(report.read_text())["totals"]
    assert totals["percent_covered"] >= 85, f"{totals['percent_covered']:.1f}% of the deploy wing"


def test_only_the_engine_adapter_imports_the_docker_sdk() -> None:
    importers = sorted(
        str(path.relative_to(REPO))
        for path in (REPO / "provision").rglob("*.py")
        if any(line.strip().startswith(("import docker", "from docker")) for line in path.read_text().splitlines())
    )
    assert importers == [
        "provision/adapters/engine/client.py",
        "provision/adapters/engine/connection.py",
        "provision/adapters/engine/errors.py",
        "provision/adapters/engine/inside.py",
        "provision/adapters/engine/swarm.py",
    ]


def test_no_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(REPO)): n for p in (REPO / "provision").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}  # fmt: skip
    assert long == {}
