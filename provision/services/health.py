"""Step 4 of a deploy: the new release takes no traffic until its health check passes and
GET / answers 200 from the proxy's side of the network, the path requests will take."""

from __future__ import annotations

import time
from collections.abc import Callable

from provision.adapters.engine import Engine
from provision.adapters.engine_model import ContainerInfo
from provision.console import Console
from provision.errors import DeployFailed
from provision.services.proxy import Proxy

LOG_LINES = 30
POLL = 0.1
# How long one probe keeps trying inside the proxy before the container's state is read again:
# a release that exits at start is seen within this, one that comes up at once.
PROBE_WINDOW = 1.0


def failure(container: ContainerInfo) -> str | None:
    """Why the container can never become healthy, if it cannot: exited, restarting, or
    unhealthy by its own HEALTHCHECK."""
    if container.exited or container.restarting or container.restart_count:
        return f"The container exited at start (exit code {container.exit_code})"
    if container.health == "unhealthy":
        return "The container is unhealthy: " + (container.health_output or "no health check output")
    return None


def ready_for_probe(container: ContainerInfo) -> bool:
    """Healthy, or without a HEALTHCHECK (then / answering is the only test)."""
    return container.health in (None, "healthy")


class HealthGate:
    def __init__(
        self,
        engine: Engine,
        proxy: Proxy,
        console: Console,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.proxy = proxy
        self.console = console
        self.clock = clock
        self.sleep = sleep

    def _checks_now(self, container: ContainerInfo) -> bool:
        """The image's own health check, run now: Docker runs it only every --interval (5 s
        for this repository, which would be most of a redeploy), and Engine 20.10 has no
        --start-interval. Docker's verdict still counts: "unhealthy" fails the deploy."""
        if container.health != "starting" or not container.health_argv:
            return False
        code, _ = self.engine.exec(container.id, container.health_argv)
        return code == 0

    def wait(self, app: str, name: str, address: str, timeout: float, path: str = "/") -> None:
        """Return once the release `name`, at `address`, is healthy and answers; else
        DeployFailed with why and its last log lines."""
        self.console.step(f"Waiting for {name} to be healthy (up to {timeout:.0f} s)")
        deadline = self.clock() + timeout
        answer = ""
        while True:
            container = self.engine.container(name)
            if container is None:
                raise DeployFailed(f"The container {name} was removed while it started")
            why = failure(container)
            if why is not None:
                hint = "Its last log lines are below" + (
                    "; fix the cause and deploy again." if "exited" in why else "."
                )
                raise DeployFailed(why, hint=hint, details=self.engine.logs(container.id, LOG_LINES))
            if ready_for_probe(container) or container.health == "starting":
                within = min(PROBE_WINDOW, max(0.0, deadline - self.clock()))
                status, answer = self.proxy.probe(app, address, path, within)
                if status == 200 and (ready_for_probe(container) or self._checks_now(container)):
                    return
            if self.clock() > deadline:
                raise DeployFailed(
                    f"The container was not healthy after {timeout:.0f} s "
                    f"(health: {container.health or 'no HEALTHCHECK'}; GET {path} answered: {answer or 'nothing yet'})",
                    hint="Raise --health-timeout if the app is slow to start; its last log lines are below.",
                    details=self.engine.logs(container.id, LOG_LINES),
                )
            self.sleep(POLL)
