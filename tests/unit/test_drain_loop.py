"""The watch a retiring release runs before it stops, run here by this host's own /bin/sh as a
release's runs it: it returns once nothing is connected to the port, or when its window ends."""

from __future__ import annotations

import socket
import threading

from provision.services.drain import DRAINED, STILL_CONNECTED, connected_until
from tests.unit.shell_loops import run


def test_with_nothing_connected_it_returns_at_once(listener: socket.socket) -> None:
    code, took = run(connected_until(2.0, port=listener.getsockname()[1]))
    assert code == DRAINED and took < 0.5


def test_it_waits_until_the_last_connection_closes(listener: socket.socket) -> None:
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()

    def close() -> None:
        client.close()
        accepted.close()

    closer = threading.Timer(0.4, close)
    closer.start()
    try:
        code, took = run(connected_until(3.0, port=listener.getsockname()[1]))
    finally:
        closer.join()
    assert code == DRAINED and 0.35 < took < 1.5


def test_a_connection_left_open_ends_the_window_still_connected(listener: socket.socket) -> None:
    with socket.create_connection(listener.getsockname()):  # held open to the end
        accepted, _ = listener.accept()
        with accepted:
            code, took = run(connected_until(0.5, port=listener.getsockname()[1]))
    assert code == STILL_CONNECTED and 0.45 < took < 2


def test_a_closed_client_counts_as_gone_before_the_server_closes_its_side(listener: socket.socket) -> None:
    # nginx has closed; Gunicorn's side waits in CLOSE_WAIT until it reads the end: nothing
    # more can come on it.
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    client.close()
    with accepted:
        code, took = run(connected_until(2.0, port=listener.getsockname()[1]))
    assert code == DRAINED and took < 0.5
