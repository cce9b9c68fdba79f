"""The loop that runs an image's health check inside a starting release, run here by this
host's own /bin/sh as a release's runs it: a try waits until the port listens."""

from __future__ import annotations

import socket
from pathlib import Path

from provision.services.health import NOT_YET, PASSED, check_until
from tests.unit.shell_loops import run

SHORTEST = 0.0  # `check_until` gives the loop one whole second more than asked: a one-second window


def test_nothing_listening_runs_no_check_and_says_not_yet_when_the_window_ends(tmp_path: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listened: nothing there
    tries = tmp_path / "tries"
    code, took = run(check_until(("sh", "-c", f"echo try >> {tries}"), SHORTEST, port=port))
    assert code == NOT_YET and took < 3
    assert not tries.exists()  # no check was started while the port was not listening


def test_once_the_port_listens_the_check_runs_and_its_pass_ends_the_loop(
    listener: socket.socket, tmp_path: Path
) -> None:
    port = listener.getsockname()[1]
    tries = tmp_path / "tries"
    code, took = run(check_until(("sh", "-c", f"echo try >> {tries}"), SHORTEST, port=port))
    assert code == PASSED and took < 1
    assert tries.read_text() == "try\n"


def test_a_check_that_fails_while_the_port_listens_is_tried_again_until_the_window_ends(
    listener: socket.socket, tmp_path: Path
) -> None:
    tries = tmp_path / "tries"
    code, _ = run(check_until(("sh", "-c", f"echo try >> {tries}; exit 1"), SHORTEST, port=listener.getsockname()[1]))
    assert code == NOT_YET
    assert tries.read_text().count("try") > 1
