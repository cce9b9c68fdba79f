"""The deploy wing on an engine in memory (tests/unit/fake_engine.py), the clock and the sleeps
injected: the world the unit tests of deploys, day-2 operations and the database run in."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from provision.adapters.engine import Engine
from provision.adapters.host import Git
from provision.console import Console
from provision.engine import EngineTarget
from provision.owned import ROUTE_DIR
from provision.process import Runner
from provision.project import Project
from provision.secret_store import SecretStore
from provision.services.deploy import Deployer
from provision.services.operate import Operator
from provision.services.plan import DeployOptions
from provision.services.proxy import Proxy
from provision.services.proxy_layout import parse_route
from provision.services.releases import ReleaseState
from provision.validators import Publish
from tests.unit.fake_engine import FakeEngine

APP = "shop"
ROUTE = f"{ROUTE_DIR}/live"


class Clock:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class World:
    def __init__(self, tmp_path: Path, target: EngineTarget | None = None) -> None:
        self.engine = FakeEngine(target or EngineTarget())
        self.engine.add_image("python:3.12-slim")
        self.err = io.StringIO()
        self.console = Console(out=io.StringIO(), err=self.err)
        self.clock = Clock()
        self.state = tmp_path / "state"
        self.project = Project(tmp_path / "project", APP)
        self.project.path.mkdir()
        self.deployer = Deployer(
            self.engine, self.console, SecretStore(self.state), Git(Runner({"PATH": ""})),  # type: ignore[arg-type]
            served_release=self.served, clock=self.clock, sleep=self.clock.sleep,
        )  # fmt: skip

    def served(self, host: str, port: int) -> str | None:
        return self.routed()

    def routed(self) -> str | None:
        """The release the proxy's `live` link names, on its volume."""
        link = self.engine.get_file(APP, ROUTE) if self.engine.container(APP) else None
        route = parse_route(link.decode()) if link else None
        return route[0] if route and route[0] != "none" else None

    def deploy(self, **options: object) -> str:
        return self.deployer.deploy(self.project, DeployOptions(publish=Publish("127.0.0.1", 18000), **options)).release  # type: ignore[arg-type]

    def records(self) -> dict[str, ReleaseState]:
        return {r.id: r.state for r in self.deployer.store(APP).load()}

    def releases(self) -> list[str]:
        return sorted(c.name for c in self.engine.containers({"dockerhello.role": "release"}))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    # Release ids come from the time: two deploys in the same second get distinct ones here.
    stamps: Iterator[int] = iter(range(100000, 999999))
    monkeypatch.setattr("provision.services.deploy.new_release_id", lambda commit: f"20261125-{next(stamps)}")
    monkeypatch.setattr("provision.services.preflight.host_port_free", lambda publish: True)
    monkeypatch.setattr("provision.services.deploy.host_port_free", lambda publish: True)
    return World(tmp_path)


def operator_of(world: World, app: str = APP) -> Operator:
    engine: Engine = world.engine  # type: ignore[assignment]  # the fake stands in for the adapter
    return Operator(
        engine, engine.target, world.deployer.store(app), Proxy(engine, world.console), world.deployer.database
    )
