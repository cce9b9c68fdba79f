"""Whether this host's port is free, as a server that is about to listen there would find it."""

from __future__ import annotations

import socket

from provision.services.preflight import host_port_free
from provision.validators import Publish


def test_a_port_whose_server_just_closed_its_connections_is_free_but_a_listened_one_is_not() -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx and Gunicorn listen
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    assert not host_port_free(Publish("127.0.0.1", port))
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server closes first: its side of the connection waits in TIME_WAIT
    client.close()
    server.close()
    assert host_port_free(Publish("127.0.0.1", port))  # what a `down` then `deploy` meets
