"""Step 4 of a deploy: the new release takes no traffic until its health check passes and
GET / answers 200 from the proxy's side of the network, the path requests will take."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from provision.adapters.engine import Engine
from provision.adapters.engine_model import ContainerInfo
from provision.console import Console
from provision.errors import DeployFailed, DockerHelloError
from provision.owned import APP_PORT
from provision.services.diagnosis import (
    answer_hint,
    exited,
    exited_hint,
    failure,
    hopeless,
    listening_hint,
    log_hint,
    unreachable,
)
from provision.services.listening import LISTENING, Listener, parse_listening
from provision.services.proxy import Proxy

LOG_LINES = 30  # shown with a failure
# Read for the hints: a release that restarts puts its next boot's lines after the ones that
# say why it stopped (a Python traceback through Gunicorn is about 30 lines of its own).
SCANNED_LINES = 200
POLL = 0.1
# How long one probe keeps trying inside the proxy before the container's state is read again:
# a release that exits at start is seen within this, one that comes up at once.
PROBE_WINDOW = 1.0

# Run by the release's own /bin/sh: the image's health check (the arguments after SECONDS and
# PORT), tried again every CHECK_EVERY seconds until it passes, for SECONDS at most (whole
# seconds: `date +%s` is what any image's date has). One exec then sees the app come up the
# moment it does, as the probe does from the proxy's side, where an exec per try would see it an
# exec (about 60 ms) later. A try waits until something listens on PORT (hex, as the kernel's
# socket tables write it), read with the shell's builtins only: a check is a process of its own
# (the image's Python, about 15 ms of CPU), and one every 40 ms took a core's third from
# Gunicorn's boot on 2 cores (17 ms later to serve, medians of 8). Once Gunicorn's master
# listens, the check's connection waits in its backlog for the first worker. The proxy reaches
# a release on that port only, so nothing that would pass waits longer; where the tables cannot
# be read, every try runs the check. The tries' output is dropped: only the exit code is a verdict.
CHECK_EVERY = 0.02
# A shell function for such loops: whether a socket of $port is in state $1 (0A listening, 01
# established, as the tables write them); true where no table can be read, which cannot tell.
IN_STATE = (
    'in_state() { seen=; for table in /proc/net/tcp /proc/net/tcp6; do [ -r "$table" ] || continue; seen=1; '
    'while read -r _ local _ state _; do [ "${local##*:}:$state" = "$port:$1" ] && return 0; done < "$table"; '
    'done; [ -z "$seen" ]; }; '
)
CHECK_UNTIL = (
    "end=$(( $(date +%s) + $1 )); port=$2; shift 2; "
    f"{IN_STATE}"
    'until in_state 0A && "$@" >/dev/null 2>&1; do '
    f'[ "$(date +%s)" -lt "$end" ] || exit 1; sleep {CHECK_EVERY}; done'
)
# What the loop's exit codes mean: passed, or not within the window (an image without date
# gets one try a window). Any other (126: the image has no /bin/sh) means the loop could not
# run, and the check runs once, as it is.
PASSED, NOT_YET = 0, 1


def ready_for_probe(container: ContainerInfo) -> bool:
    """Healthy, or without a HEALTHCHECK (then / answering is the only test)."""
    return container.health in (None, "healthy")


def check_until(health_argv: tuple[str, ...], within: float, port: int = APP_PORT) -> list[str]:
    """The image's health check as one exec that tries it for about `within` seconds, once
    something listens on `port`: the window in whole seconds, plus one, since the first second
    may be nearly over."""
    return ["/bin/sh", "-c", CHECK_UNTIL, "health-check", str(math.ceil(within) + 1), f"{port:04X}", *health_argv]


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

    def _listening(self, container: ContainerInfo) -> tuple[Listener, ...]:
        """Where the release listens; nothing where its image has no /bin/sh to read it with,
        or it stopped meanwhile (the next round's read of its state says why)."""
        try:
            code, output = self.engine.exec(container.id, ["/bin/sh", "-c", LISTENING])
        except DockerHelloError:
            return ()
        return parse_listening(output) if code == 0 else ()

    def _refuse_unreachable(self, container: ContainerInfo, ready: bool) -> None:
        """DeployFailed at once where the place the release listens says it never will answer."""
        verdict = unreachable(self._listening(container), ready)
        if verdict is not None:
            raise DeployFailed(verdict[0], hint=verdict[1], details=self.engine.logs(container.id, LOG_LINES))

    def _timeout_hint(self, container: ContainerInfo) -> str:
        where = listening_hint(self._listening(container)) if container.running else None
        return where or "Raise --health-timeout if the app is slow to start; its last log lines are below."

    def _checks_now(self, container: ContainerInfo, within: float) -> bool:
        """The image's own health check, run now and tried until it passes: Docker runs it
        only every --interval (5 s for this repository, which would be most of a redeploy),
        and Engine 20.10 has no --start-interval. Docker's verdict still counts: "unhealthy"
        fails the deploy."""
        if container.health != "starting" or not container.health_argv:
            return False
        try:
            code, _ = self.engine.exec(container.id, check_until(container.health_argv, within))
            if code not in (PASSED, NOT_YET):
                code, _ = self.engine.exec(container.id, container.health_argv)
        except DockerHelloError:  # it exited or is restarting meanwhile: the next round says which
            return False
        return code == PASSED

    def wait(self, app: str, name: str, address: str, timeout: float, path: str = "/") -> None:
        """Return once the release `name`, at `address`, is healthy and answers; else
        DeployFailed with why and its last log lines."""
        self.console.step(f"Waiting for {name} to be healthy (up to {timeout:.0f} s)")
        checks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health-check")
        try:
            self._wait(app, name, address, timeout, path, checks)
        finally:
            # Not waited for: a deploy that fails or is interrupted removes the container,
            # which ends a check still running in it.
            checks.shutdown(wait=False, cancel_futures=True)

    def _wait(self, app: str, name: str, address: str, timeout: float, path: str, checks: ThreadPoolExecutor) -> None:
        deadline = self.clock() + timeout
        answer = ""
        while True:
            container = self.engine.container(name)
            if container is None:
                raise DeployFailed(f"The container {name} was removed while it started")
            why = failure(container)
            if why is not None:
                logs = self.engine.logs(container.id, SCANNED_LINES)
                if exited(container):
                    hint = exited_hint(logs, out_of_memory=container.oom_killed)
                else:  # unhealthy by its own check
                    hint = "Its last log lines are below."
                raise DeployFailed(why, hint=hint, details=logs[-LOG_LINES:])
            if ready_for_probe(container) or container.health == "starting":
                within = min(PROBE_WINDOW, max(0.0, deadline - self.clock()))
                # The image's check in the release while the proxy probes: both wait for the
                # same start of the app, so the second costs no time of its own. Both end
                # before the next round: never more than one check runs in the release.
                checked: Future[bool] = checks.submit(self._checks_now, container, within)
                status, answer = self.proxy.probe(app, address, path, within)
                passed = checked.result()
                if status == 200 and (ready_for_probe(container) or passed):
                    return
                if status is None:  # nothing answered the proxy: is the app bound where it cannot?
                    self._refuse_unreachable(container, ready=passed or container.health == "healthy")
                if status != 200:  # do its log lines say it never will?
                    logs = self.engine.logs(container.id, LOG_LINES)
                    verdict = hopeless(logs, status, container.memory)
                    if verdict is not None:
                        raise DeployFailed(verdict[0], hint=verdict[1], details=logs)
            if self.clock() > deadline:
                logs = self.engine.logs(container.id, SCANNED_LINES)
                raise DeployFailed(
                    f"The container was not healthy after {timeout:.0f} s "
                    f"(health: {container.health or 'no HEALTHCHECK'}; GET {path} answered: {answer or 'nothing yet'})",
                    hint=log_hint(logs) or answer_hint(answer, path) or self._timeout_hint(container),
                    details=logs[-LOG_LINES:],
                )
            self.sleep(POLL)
