"""The end of step 5 of a deploy: the previous release keeps what it serves until the proxy
has let go of it, then stops.

After the switch, nginx sends the old release no new request; those it has finish, and nginx
closes each of its connections there once idle for its upstream keepalive_timeout (1 s, in
`proxy_layout`). Stopping the release before that would have Gunicorn close a connection
nginx may be sending a request on. A fixed wait (`drain`, 2 s) was always the most it could
take, and most deploys waited a second for nothing: the release is now watched, and stopped
the moment no connection to its port is left, within `drain` at most.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from provision.adapters.engine import Engine
from provision.adapters.engine_model import ContainerInfo
from provision.errors import DockerHelloError
from provision.owned import APP_PORT
from provision.services.health import IN_STATE

# Run by the old release's own /bin/sh: until no connection to PORT (hex, as the kernel's socket
# tables write it) is established, tried every WATCH_EVERY seconds, TRIES times at most, read with
# the shell's builtins only (`health.IN_STATE`, which the health check's loop uses too). Where the
# tables cannot be read, it cannot tell, and waits the whole window.
WATCH_EVERY = 0.05
CONNECTED_UNTIL = (
    f"tries=$1; port=$2; {IN_STATE}"
    f'while in_state 01; do [ "$tries" -gt 0 ] || exit 1; tries=$((tries - 1)); sleep {WATCH_EVERY}; done'
)
# The loop's exit codes: no connection is left, or some still were when the window ended. Any
# other (126 or 127: the image has no /bin/sh) means it could not watch.
DRAINED, STILL_CONNECTED = 0, 1


def connected_until(within: float, port: int = APP_PORT) -> list[str]:
    """The watch as one exec: it returns once nothing is connected to `port`, or after about
    `within` seconds."""
    tries = math.ceil(within / WATCH_EVERY)
    return ["/bin/sh", "-c", CONNECTED_UNTIL, "drain", str(tries), f"{port:04X}"]


class Drain:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.sleep = sleep

    def wait(self, releases: Sequence[ContainerInfo], within: float) -> None:
        """Return once the proxy has no connection left to any of `releases`, or after
        `within` seconds, all of them together."""
        deadline = self.clock() + within
        for release in (r for r in releases if r.running):  # one that has exited has nothing to drain
            if self._watched(release, max(0.0, deadline - self.clock())):
                continue
            # It could not be watched (no /bin/sh, an engine error), or it is still connected
            # and the image's sleep ended the loop early: the rest of the window, as it is.
            self.sleep(max(0.0, deadline - self.clock()))
            return

    def _watched(self, release: ContainerInfo, within: float) -> bool:
        """Whether nothing is connected to the release any more."""
        try:
            code, _ = self.engine.exec(release.id, connected_until(within))
        except DockerHelloError:
            return not self._runs(release)  # it exited meanwhile: done; else the engine failed
        return code == DRAINED

    def _runs(self, release: ContainerInfo) -> bool:
        try:
            found = self.engine.container(release.id)
        except DockerHelloError:
            return True  # the engine cannot say: wait the window
        return found is not None and found.running
