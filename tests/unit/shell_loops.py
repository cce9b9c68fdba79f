"""For the tests of the loops a release's own /bin/sh runs (`health.CHECK_UNTIL`,
`drain.CONNECTED_UNTIL`), run here by this host's /bin/sh."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import pytest


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server
    server.close()


def run(argv: list[str]) -> tuple[int, float]:
    """The loop's exit code, and how long it took."""
    started = time.monotonic()
    code = subprocess.run(argv, timeout=10, check=False).returncode
    return code, time.monotonic() - started
