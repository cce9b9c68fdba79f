"""`Drain` when the engine will not run its watch: a release that still runs gets the rest of
the window, as before the watch; one that exited meanwhile has nothing left to drain."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from provision.adapters.engine_model import ContainerInfo, parse_container
from provision.errors import DockerHelloError
from provision.services.drain import Drain
from tests.unit.deploy_world import Clock

RELEASE = parse_container(
    json.loads((Path(__file__).parent.parent / "data/engine/inspect-release.json").read_text())[0]
)


class RefusingEngine:
    """Refuses every exec, as the engine does one in a container that has stopped or that it
    cannot reach; says the release runs (or not), or cannot say."""

    def __init__(self, now_running: bool | None) -> None:
        self.now_running = now_running
        self.execs: list[str] = []

    def exec(self, container: str, argv: Sequence[str]) -> tuple[int, str]:
        self.execs.append(container)
        raise DockerHelloError(f"Error response from daemon: Container {container} is not running")

    def container(self, name: str) -> ContainerInfo | None:
        if self.now_running is None:
            raise DockerHelloError("Cannot connect to the Docker engine at unix:///var/run/docker.sock")
        return replace(RELEASE, running=self.now_running)


@pytest.mark.parametrize(("now_running", "slept"), [(True, [2.0]), (None, [2.0]), (False, [])])
def test_a_watch_the_engine_refuses_waits_the_window_unless_the_release_has_exited(
    now_running: bool | None, slept: list[float]
) -> None:
    engine, clock = RefusingEngine(now_running), Clock()
    Drain(engine, clock, clock.sleep).wait([replace(RELEASE, running=True)], within=2.0)  # type: ignore[arg-type]
    assert engine.execs == [RELEASE.id]
    assert clock.slept == slept
