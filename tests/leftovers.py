"""What the tests' own engines leave on the host when their run is killed before its teardown.

OwnEngine and SwarmCluster put network namespaces, veth pairs, a bridge, NAT rules and dockerd
data roots on the host, at fixed addresses. A run killed by SIGKILL or a lost session never
tears them down, and the next run's engine then shares its address with a namespace nobody
serves: the host routes to the old one, and the new dockerd "does not answer" although it
listens. So each fixture writes down what it makes, with the pid of the run that made it,
before it makes it (`record`), and sweeps whatever a run that is gone wrote down (`sweep`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

LEDGER = Path("/run/dockerhello-tests")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), check=False, timeout=60, capture_output=True, text=True)


def _started(pid: int) -> str | None:
    """The start time of pid (field 22 of its stat), so that a reused pid is not taken for the run."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True)
class Leftover:
    name: str
    root: str
    netns: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    undo: tuple[tuple[str, ...], ...] = ()  # argv lists that take back host rules (iptables -D ...)
    pid: int = field(default_factory=os.getpid)
    started: str | None = field(default_factory=lambda: _started(os.getpid()))

    def alive(self) -> bool:
        return self.started is not None and _started(self.pid) == self.started


def record(leftover: Leftover) -> None:
    LEDGER.mkdir(parents=True, exist_ok=True)
    (LEDGER / f"{leftover.name}.json").write_text(json.dumps(asdict(leftover)) + "\n")


def tear_down(leftover: Leftover) -> None:
    """Everything the entry names goes, in an order that lets each step succeed."""
    for netns in leftover.netns:
        for pid in _run("ip", "netns", "pids", netns).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
    _run("pkill", "-KILL", "-f", f"containerd-shim.*{leftover.root}")
    # What dockerd left mounted under its root must go before the directory can, deepest first.
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if f"{m}/".startswith(f"{leftover.root}/")), reverse=True):
        _run("umount", "-l", mount)
    shutil.rmtree(leftover.root, ignore_errors=True)
    for netns in leftover.netns:
        _run("ip", "netns", "delete", netns)
    for link in leftover.links:
        _run("ip", "link", "delete", link)
    for argv in leftover.undo:
        _run(*argv)
    (LEDGER / f"{leftover.name}.json").unlink(missing_ok=True)


def sweep() -> list[str]:
    """Tear down what runs that are gone left; the names of what went."""
    swept = []
    for entry in sorted(LEDGER.glob("*.json")) if LEDGER.is_dir() else []:
        try:
            data = json.loads(entry.read_text())
            leftover = Leftover(**{**data, "netns": tuple(data["netns"]), "links": tuple(data["links"]),
                                   "undo": tuple(tuple(argv) for argv in data["undo"])})  # fmt: skip
        except (OSError, ValueError, TypeError, KeyError):
            entry.unlink(missing_ok=True)
            continue
        if not leftover.alive():
            tear_down(leftover)
            swept.append(leftover.name)
    return swept
