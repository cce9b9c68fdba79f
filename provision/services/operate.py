"""Day-2: what runs, its logs, taking it down, and freeing disk (a 5 GB VM fills fast)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from provision.adapters.engine import Engine
from provision.adapters.engine_model import ContainerInfo, parse_time
from provision.engine import EngineTarget
from provision.owned import (
    LABEL_APP,
    LABEL_RELEASE,
    LABEL_ROLE,
    ROLE_VOLUME,
    data_volume,
    database_volume,
    network_name,
    records_name,
    records_volume,
)
from provision.services.database import Database
from provision.services.known_apps import known_apps, not_deployed
from provision.services.proxy import Proxy
from provision.services.proxy_layout import old_layout, published
from provision.services.releases import Release, ReleaseState, ReleaseStore, remove_own_image
from provision.validators import Publish

STOP_TIMEOUT = 30  # as a deploy gives a release: Gunicorn's graceful timeout is 25 s


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
    database: str | None = None  # the app's PostgreSQL: "APP-db running, healthy"; None without one
    proxy: str | None = None  # "current", or how an earlier dockerhello's proxy differs; None without one
    volumes: tuple[str, ...] = ()  # where its data is: what `down --volumes` would remove
    # The proxy routes to it: it passed the deploy's health check, whatever Docker says yet.
    serving: bool = False


def app_url(target: EngineTarget, publish: Publish) -> str:
    """Where a user reaches an app published at `publish`: the one rule, for every command. On
    a remote engine published on every address, at the engine's host; on one address of it
    (its loopback too: for someone on that host, or through a tunnel), at that address."""
    if target.is_local:
        host = "localhost"
    elif publish.host_ip in ("0.0.0.0", "::"):
        host = target.hostname
    else:
        host = publish.host
    return f"http://{host}:{publish.host_port}/"


class Operator:
    def __init__(self, engine: Engine, target: EngineTarget, store: ReleaseStore, proxy: Proxy,
                 database: Database) -> None:  # fmt: skip
        self.engine = engine
        self.target = target
        self.store = store
        self.proxy = proxy
        self.database = database

    def serving(self, app: str) -> ContainerInfo | None:
        """The release container the proxy routes to; else any of the app's."""
        return self.proxy.serving(app) or self._any_release(app)

    def _any_release(self, app: str) -> ContainerInfo | None:
        containers = self.proxy.releases(app)
        return containers[0] if containers else None

    def status(self, app: str, now: datetime | None = None) -> AppStatus:
        routed = self.proxy.serving(app)
        container = routed or self._any_release(app)
        proxy = self.proxy.get(app)
        url = app_url(self.target, published(proxy)) if proxy is not None else None
        server = self.database.get(app)
        database = (
            f"{server.name} {server.status}" + (f", {server.health}" if server.health else "") if server else None
        )
        made = self._made_by(app, proxy) if proxy is not None else None
        volumes = tuple(self.data_volumes(app))
        if container is None:
            # Nothing of it at all: a misspelt name, more likely than an app never deployed.
            if proxy is None and server is None and not volumes and app not in known_apps(self.engine):
                raise not_deployed(self.engine, app)
            return AppStatus(app, self.target.host, self.target.machine, None, None, "not deployed", None, 0, None,
                             None, url, database, made, volumes)  # fmt: skip
        started = parse_time(container.started_at)
        now = now or datetime.now(UTC)
        uptime = int((now - started).total_seconds()) if started and container.running else None
        return AppStatus(
            app=app,
            engine=self.target.host,
            machine=self.target.machine,
            release=container.labels.get(LABEL_RELEASE),
            container=container.name,
            state=container.status,
            health=container.health,
            restarts=container.restart_count,
            started=container.started_at or None,
            uptime_seconds=uptime,
            url=url,
            database=database,
            proxy=made,
            volumes=volumes,
            serving=routed is not None,
        )

    def _made_by(self, app: str, proxy: ContainerInfo) -> str:
        """ "current" for a proxy this dockerhello would make; else how it differs."""
        network = self.engine.network(network_name(app))
        if network is None or old_layout(proxy, network):
            return "it reloads nginx to switch; the next deploy replaces it"
        why = self.proxy.outdated(app, proxy, network)
        return f"{why}; `dockerhello proxy upgrade` replaces it" if why else "current"

    def releases(self, app: str) -> list[Release]:
        """The app's release records, oldest first; an app the engine has nothing of is an
        error (a misspelt name), where one taken down keeps its records and shows them."""
        found = self.store.load()
        if not found and app not in known_apps(self.engine):
            raise not_deployed(self.engine, app)
        return found

    def logs(self, app: str, follow: bool, tail: int, access: bool = False) -> Iterator[str]:
        """The serving release's log; with `access`, the proxy's, where the access log is."""
        container = self.proxy.get(app) if access else self.serving(app)
        if container is None:
            raise not_deployed(self.engine, app)
        if follow:
            yield from self.engine.follow_logs(container.id, tail)
        else:
            yield "".join(line + "\n" for line in self.engine.logs(container.id, tail))

    def data_volumes(self, app: str) -> list[str]:
        """The app's volumes that hold its data, of those on the engine: what `down --volumes` loses."""
        return [*(v for v in (data_volume(app), database_volume(app)) if self.engine.has_volume(v)),
                *self.image_volumes(app)]  # fmt: skip

    def image_volumes(self, app: str) -> list[str]:
        """The volumes made for the paths the app's images declare VOLUME."""
        return self.engine.volumes({LABEL_APP: app, LABEL_ROLE: ROLE_VOLUME})

    def down(self, app: str, images: bool, volumes: bool = False) -> list[str]:
        """Stop and remove the app's containers, network and route. With `images`, everything
        of the app goes: its images and its release record too (nothing is left to roll back to).
        Its data volumes (APP-data, APP-postgres, those for its image's VOLUME paths) stay
        unless `volumes`."""
        removed = []
        for container in self.proxy.releases(app):
            self.engine.stop(container.id, STOP_TIMEOUT)
            if self.engine.remove(container.id, force=True):
                removed.append(container.name)
        removed.extend(self.database.remove(app, volume=volumes))  # after the releases that use it
        if self.proxy.remove(app):  # and the network, which the database is on too
            removed.append(app)
        if volumes:
            removed.extend(v for v in (data_volume(app), *self.image_volumes(app)) if self.engine.remove_volume(v))
        if images:
            for image in self.engine.images(app):
                remove_own_image(self.engine, app, image)
                removed.extend(image.tags_in(app))
            if self.engine.remove(records_name(app), force=True):
                removed.append(records_name(app))
            self.engine.remove_volume(records_volume(app))
            return removed
        active = self.store.active()
        if active is not None:
            self.store.mark(active.id, ReleaseState.HEALTHY, "taken down")
        return removed

    def prune(self, app: str, keep: int) -> tuple[list[str], int]:
        """Old release images beyond `keep` (never the active one or the rollback target),
        dangling images and the build cache. Returns what went and the bytes freed."""
        removed, freed = self.store.prune_images(self.engine, keep)
        dangling, reclaimed = self.engine.prune_dangling_images()
        return [*removed, *dangling], freed + reclaimed + self.engine.prune_build_cache()
