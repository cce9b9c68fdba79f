"""Day-2: what runs, its logs, taking it down, and freeing disk (a 5 GB VM fills fast)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import docker
import docker.errors
from docker.models.containers import Container

from provision.engine import EngineTarget
from provision.errors import DockerHelloError
from provision.services.proxy import Proxy, release_containers
from provision.services.releases import ReleaseState, ReleaseStore


@dataclass(frozen=True)
class AppStatus:
    app: str
    engine: str
    machine: str | None
    release: str | None
    container: str | None
    state: str  # the release container's: running, restarting, exited... or "not deployed"
    health: str | None
    restarts: int
    started: str | None
    uptime_seconds: int | None
    url: str | None


def _parse_time(text: str) -> datetime | None:
    # Docker gives nanoseconds (2026-11-23T21:02:17.123456789Z); Python takes microseconds.
    if not text or text.startswith("0001-"):
        return None
    head, _, rest = text.partition(".")
    micro = "".join(ch for ch in rest if ch.isdigit())[:6]
    return datetime.fromisoformat(f"{head}.{micro or '0'}+00:00")


class Operator:
    def __init__(self, client: docker.DockerClient, target: EngineTarget, store: ReleaseStore, proxy: Proxy) -> None:
        self.client = client
        self.target = target
        self.store = store
        self.proxy = proxy

    def release_containers(self, app: str) -> list[Container]:
        return release_containers(self.client, app)

    def active_container(self, app: str) -> Container | None:
        release = self.proxy.current_release(app)
        containers = self.release_containers(app)
        for container in containers:
            if container.labels.get("dockerhello.release") == release:
                return container
        return containers[0] if containers else None

    def status(self, app: str) -> AppStatus:
        container = self.active_container(app)
        proxy = self.proxy.get(app)
        url = None
        if proxy is not None:
            host = "localhost" if self.target.is_local else self.target.hostname
            url = f"http://{host}:{self.proxy.published(proxy).host_port}/"
        if container is None:
            return AppStatus(app, self.target.host, self.target.machine, None, None, "not deployed", None, 0, None,
                             None, url)  # fmt: skip
        state = container.attrs["State"]
        started = _parse_time(state.get("StartedAt", ""))
        uptime = int((datetime.now(UTC) - started).total_seconds()) if started and state.get("Running") else None
        return AppStatus(
            app=app,
            engine=self.target.host,
            machine=self.target.machine,
            release=container.labels.get("dockerhello.release"),
            container=container.name,
            state=str(state.get("Status")),
            health=(state.get("Health") or {}).get("Status"),
            restarts=int(container.attrs.get("RestartCount") or 0),
            started=state.get("StartedAt"),
            uptime_seconds=uptime,
            url=url,
        )

    def logs(self, app: str, follow: bool, tail: int) -> Iterator[bytes]:
        container = self.active_container(app)
        if container is None:
            raise DockerHelloError(f"{app} is not deployed on the {self.target.describe()}",
                                   hint="`dockerhello deploy` deploys it.")  # fmt: skip
        if follow:
            yield from container.logs(stream=True, follow=True, tail=tail)
        else:
            yield container.logs(tail=tail)

    def down(self, app: str, images: bool) -> list[str]:
        """Stop and remove the app's containers, network and route; images only if asked."""
        removed = []
        for container in self.release_containers(app):
            container.stop(timeout=30)
            container.remove()
            removed.append(container.name or "")
        if self.proxy.remove(app):
            removed.append(app)
        if images:
            for image in self.client.images.list(name=app):
                self.client.images.remove(image.id or "", force=True)
                removed.extend(image.tags)
        active = self.store.active()
        if active is not None:
            self.store.mark(active.id, ReleaseState.HEALTHY, "taken down")
        return removed

    def prune(self, app: str, keep: int) -> tuple[list[str], int]:
        """Old release images beyond `keep` (never the active one or the rollback target),
        dangling images and the build cache. Returns what went and the bytes freed."""
        keep_images = self.store.images_to_keep(keep)
        removed: list[str] = []
        freed = 0
        for image in self.client.images.list(name=app):
            tags = [t for t in image.tags if not t.endswith(":latest")]
            if tags and not any(t in keep_images for t in tags):
                size = int(image.attrs.get("Size") or 0)
                try:
                    self.client.images.remove(image.id or "", force=True)
                except docker.errors.APIError:
                    continue  # in use (a proxy built on it): kept
                removed.extend(tags)
                freed += size
        dangling = self.client.images.prune(filters={"dangling": True})
        freed += int(dangling.get("SpaceReclaimed") or 0)
        removed.extend(d.get("Deleted", "") for d in dangling.get("ImagesDeleted") or [] if d.get("Deleted"))
        cache = self.client.api.prune_builds()
        freed += int(cache.get("SpaceReclaimed") or 0)
        return removed, freed
