"""This host's terminal, relayed to a container's: raw mode while the relay runs, the
window's size passed on, and the terminal as it was afterwards, whatever ends the relay."""

from __future__ import annotations

import os
import select
import shutil
import signal
import sys
import termios
import tty
from collections.abc import Callable
from typing import Any

# What relays a terminal to a socket until it closes, `relay` or a test's: (socket, resize).
Terminal = Callable[[Any, Callable[[int, int], None]], None]


def relay(sock: Any, resize: Callable[[int, int], None]) -> None:
    """Copy stdin to the container and its output to stdout until the container closes."""
    raw = getattr(sock, "_sock", sock)  # docker-py hands out a SocketIO over the socket
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    saved = termios.tcgetattr(stdin)

    def on_resize(*_: object) -> None:
        size = shutil.get_terminal_size()
        resize(size.lines, size.columns)

    previous = signal.signal(signal.SIGWINCH, on_resize)
    try:
        tty.setraw(stdin)
        on_resize()
        while True:
            ready, _, _ = select.select([raw, stdin], [], [])
            if raw in ready:
                data = raw.recv(65536)
                if not data:
                    return
                os.write(stdout, data)
            if stdin in ready:
                data = os.read(stdin, 65536)
                if not data:
                    return
                raw.sendall(data)
    finally:
        termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, previous)
