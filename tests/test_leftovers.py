"""A killed run's namespaces and links are swept before the next run's engine takes their address."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests import leftovers

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30).stdout


def test_what_a_killed_run_left_is_swept_and_what_a_live_run_holds_is_not(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)  # fmt: skip
    dead_pid = int(gone.stdout)
    tag = secrets.token_hex(3)
    netns, veth = f"dhleft-{tag}", f"dhl{tag}"
    root = tmp_path / "engine"
    (root / "data").mkdir(parents=True)
    ip("netns", "add", netns)
    ip("link", "add", f"{veth}h", "type", "veth", "peer", "name", f"{veth}n")
    ip("link", "set", f"{veth}n", "netns", netns)
    ip("addr", "add", "10.253.78.1/30", "dev", f"{veth}h")
    killed = leftovers.Leftover(name=netns, root=str(root), netns=(netns,), links=(f"{veth}h",), pid=dead_pid,
                                started="1")  # fmt: skip
    live = leftovers.Leftover(name=f"dhlive-{tag}", root=str(tmp_path / "live"))
    (tmp_path / "live").mkdir()
    try:
        leftovers.record(killed)
        leftovers.record(live)

        swept = leftovers.sweep()

        assert netns in swept and live.name not in swept
        assert netns not in ip("netns", "list")
        assert "10.253.78.1" not in ip("-o", "addr", "show")
        assert not root.exists() and (tmp_path / "live").exists()
        assert not (leftovers.LEDGER / f"{netns}.json").exists()
        assert (leftovers.LEDGER / f"{live.name}.json").exists()
    finally:
        leftovers.tear_down(killed)
        leftovers.tear_down(live)
