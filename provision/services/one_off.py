"""One-off containers of a release: the migration a deploy runs before the release takes
traffic, and `dockerhello run`. Each is the release's own container spec (image, variables,
volumes, network, hardening) with its own command, and is removed when it ends, whatever
ends it: an exit, an error or Ctrl-C.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from provision.adapters.engine import Engine
from provision.adapters.engine_model import ContainerSpec
from provision.console import Console
from provision.errors import DeployFailed, DockerHelloError
from provision.services.known_apps import not_deployed
from provision.services.proxy import Proxy
from provision.services.release_container import (
    database_password_of,
    one_off_spec,
    release_of,
    release_spec,
    secret_key_of,
    serving_options,
)

if TYPE_CHECKING:
    from provision.terminal import Terminal

MIGRATE = ("python", "manage.py", "migrate", "--noinput")
LOG_LINES = 30


class OneOff:
    def __init__(self, engine: Engine, proxy: Proxy, console: Console) -> None:
        self.engine = engine
        self.proxy = proxy
        self.console = console

    def migrate(self, release: ContainerSpec, release_id: str) -> None:
        """`manage.py migrate --noinput` in a container of the new release; DeployFailed with
        its output if it fails, before the release has served anything."""
        self.console.step(f"Migrating the database with release {release_id}: {' '.join(MIGRATE)}")
        code, output = self._run(one_off_spec(release, f"{release.name}-migrate", MIGRATE), self.console.stream)
        if code != 0:
            raise DeployFailed(
                f"The migration failed (exit code {code}): release {release_id} was not started",
                hint="Its output is below; fix the migration and deploy again (`--no-migrate` skips it).",
                details=output[-LOG_LINES:],
            )

    def run(self, app: str, command: Sequence[str], terminal: Terminal | None) -> int:
        """`command` in a new container of the serving release, with its variables, volumes and
        network; on `terminal` when one is given. Its exit code."""
        spec = self.serving_spec(app)
        name = f"{spec.name}-run-{_suffix()}"
        one_off = one_off_spec(spec, name, tuple(command), tty=terminal is not None)
        if terminal is None:
            code, _ = self._run(one_off, self.console.raw)  # its output is the command's result: stdout
            return code
        self.engine.create(one_off)
        try:
            sock = self.engine.attach_terminal(name)
            self.engine.start(name)
            terminal(sock, lambda height, width: self.engine.resize(name, height, width))
            return self.engine.wait(name)
        finally:
            self.engine.remove(name, force=True)

    def serving_spec(self, app: str) -> ContainerSpec:
        proxy = self.proxy.get(app)
        serving = self.proxy.serving(app) if proxy is not None else None
        if proxy is None or serving is None:
            raise not_deployed(self.engine, app, "has no serving release")
        image = self.engine.image(serving.image_id)
        if image is None:
            raise DockerHelloError(f"The image of the serving release ({serving.image_id[:19]}) is gone")
        options = serving_options(proxy, serving, image, health_timeout=1)
        spec = release_spec(app, release_of(serving) or "run", image, options, secret_key_of(serving) or "",
                            database_password=database_password_of(serving))  # fmt: skip
        # The volumes the serving release has, where it has one at a path: a release an earlier
        # dockerhello made has an anonymous one where the image declares VOLUME.
        mounted = {path: volume for volume, path in serving.mounts.items()}
        return replace(spec, volumes={mounted.get(path, volume): path for volume, path in spec.volumes.items()})

    def _run(self, spec: ContainerSpec, show: Callable[[str], None]) -> tuple[int, list[str]]:
        self.engine.remove(spec.name, force=True)  # left by a run that was killed
        self.engine.create(spec)
        lines: list[str] = []
        try:
            output = self.engine.attach_output(spec.name)
            self.engine.start(spec.name)
            for chunk in output:
                show(chunk)
                lines.extend(chunk.splitlines())
            return self.engine.wait(spec.name), lines
        finally:
            self.engine.remove(spec.name, force=True)


def _suffix() -> str:
    import secrets

    return secrets.token_hex(3)
