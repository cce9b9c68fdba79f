"""Deploy: build a release, run it beside the one serving, switch only once it is healthy.

The orchestrator of the five steps the README documents, each a unit of its own:

1. preflight: under a per-app lock, the published port and the limits, before anything is
   built or stopped (`preflight`);
2. build APP:RELEASE (and APP:latest) while the current release keeps serving (`build`);
3. run the release as container APP-RELEASE on the app's network, hardened, no port of
   its own (`release_container`);
4. wait until Docker calls it healthy and GET / answers 200 from the proxy's side (`health`);
5. point the proxy at it (its live link renamed over by a switch started beside the
   release, no reload: `proxy`), check the published URL answers with the new release,
   let the old one drain (until the proxy has let go of it: `drain`), then stop and remove
   it, and prune images.

A failure at any step before 5 (build error, exit at start, unhealthy, timeout, Ctrl-C)
removes the new container and leaves the proxy and the serving release untouched; one in
step 5 before the old release is retired also gives the route back to it. The engine
failing in that cleanup is said beside the release's own error, not in its place.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from provision.adapters.engine import Engine
from provision.adapters.engine_model import ContainerInfo, NetworkInfo
from provision.adapters.host import Git
from provision.console import Console
from provision.engine import EngineTarget
from provision.errors import DeployFailed, DockerHelloError
from provision.owned import LABEL_PROXY_BASE, LABEL_VOLUME_PATH, ROLE_VOLUME, app_labels, proxy_name, release_name
from provision.project import Project
from provision.secret_store import SecretStore
from provision.services.build import ImageBuilder
from provision.services.database import Database
from provision.services.drain import Drain
from provision.services.engine_records import EngineRecords
from provision.services.health import HealthGate
from provision.services.known_apps import not_deployed
from provision.services.one_off import OneOff
from provision.services.operate import STOP_TIMEOUT, app_url
from provision.services.plan import DeployOptions, DeployResult, for_target
from provision.services.preflight import check_limits, check_port, host_port_free
from provision.services.proxy import Proxy, ProxySpec, Routing
from provision.services.proxy_layout import old_layout, other_slot, slot_of, uses_host_network
from provision.services.proxy_scripts import CHECK_AGENT
from provision.services.proxy_upgrade import ProxyUpgrade, ProxyUpgraded
from provision.services.release_container import image_mounts, release_spec, secret_key_of, serving_options
from provision.services.releases import Release, ReleaseState, ReleaseStore, failure_reason, new_release_id, now
from provision.validators import Publish

__all__ = ["DeployOptions", "DeployResult", "Deployer"]


def release_header(host: str, port: int) -> str | None:
    """The release the published URL serves, from the proxy's X-Dockerhello-Release."""
    conn = http.client.HTTPConnection(host, port, timeout=3)
    try:
        conn.request("GET", "/", headers={"Host": f"localhost:{port}", "User-Agent": CHECK_AGENT})
        response = conn.getresponse()
        response.read()
        return response.getheader("X-Dockerhello-Release")
    except OSError:
        return None
    finally:
        conn.close()


def bound(options: DeployOptions) -> Publish:
    """The address the proxy binds on the engine's host: a machine target's bind, else the
    published one."""
    return Publish(options.bind_ip or options.publish.host_ip, options.publish.host_port)


class Deployer:
    def __init__(
        self,
        engine: Engine,
        console: Console,
        secrets: SecretStore,
        git: Git,
        served_release: Callable[[str, int], str | None] = release_header,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.target: EngineTarget = engine.target
        self.console = console
        self.secrets = secrets
        self.git = git
        self.served_release = served_release
        self.clock = clock
        self.sleep = sleep
        self.proxy = Proxy(engine, console, sleep)
        self.builder = ImageBuilder(engine, console)
        self.health = HealthGate(engine, self.proxy, console, clock, sleep)
        self.drain = Drain(engine, clock, sleep)
        self.one_off = OneOff(engine, self.proxy, console)
        self.database = Database(engine, console, secrets, clock, sleep)
        self.proxy_upgrade = ProxyUpgrade(engine, self.proxy, console, self._confirm_served_at, clock)

    def for_target(self, options: DeployOptions) -> DeployOptions:
        """Options adjusted to this deployer's engine (`plan.for_target`)."""
        return for_target(self.target, options)

    def store(self, app: str) -> ReleaseStore:
        """The app's release record and deploy lock, on the engine."""
        return ReleaseStore(EngineRecords(self.engine, app), app, self.console.warn)

    # -- entry points -------------------------------------------------------------------

    def deploy(self, project: Project, options: DeployOptions) -> DeployResult:
        options = self.for_target(options)
        store = self.store(project.app)
        self.secrets.check(project.app)  # a damaged key stops the deploy before the lock makes anything
        with store.lock(options.wait_for_lock, self.console.info):
            self.preflight(project.app, options)
            check_limits(self.engine.info(), options.hardening, self.target.describe())
            commit = self.git.commit(project.path)
            release = Release(new_release_id(commit), "", commit, now(), ReleaseState.BUILDING)
            release = replace(release, image=f"{project.app}:{release.id}")
            # While the image builds: the record is written, and the proxy's route read (once:
            # no other deploy moves it under the lock), with the serving release, whose key the
            # new one adopts. Both are round trips to the engine, and the route an exec, off a
            # redeploy's critical path; both finish before anything reads them again.
            with ThreadPoolExecutor(max_workers=2) as pool:
                recorded = pool.submit(store.add, release)
                routed = pool.submit(self._routed, project.app)
                try:
                    built_on = self.builder.build(
                        project, release.image, options.base_image, pull=options.pull, cache=options.cache
                    )
                except BaseException as exc:
                    recorded.result()
                    store.mark(release.id, ReleaseState.FAILED, f"build: {failure_reason(exc)}")
                    raise
                recorded.result()
                try:
                    route, serving = routed.result()
                except BaseException as exc:
                    store.mark(release.id, ReleaseState.FAILED, failure_reason(exc))
                    raise
            key = self.secret_key(project.app, serving)
            return self._release(project.app, release, options, store, key, proxy_base=built_on, route=route)

    def upgrade_proxy(self, app: str, wait_for_lock: bool = True) -> ProxyUpgraded:
        """The app's proxy replaced by this dockerhello's, if it is an earlier one's."""
        with self.store(app).lock(wait_for_lock, self.console.info):
            return self.proxy_upgrade.upgrade(app)

    def _routed(self, app: str) -> tuple[tuple[str, str] | None, ContainerInfo | None]:
        """Where the proxy routes, and the release container it routes to."""
        route = self.proxy.route(app)
        return route, self.proxy.routed_container(app, route)

    def rollback(self, app: str, release_id: str | None, options: DeployOptions) -> DeployResult:
        options = self.for_target(options)
        store = self.store(app)
        with store.lock(options.wait_for_lock, self.console.info):
            release = store.rollback_target(release_id, "dockerhello releases")
            if self.engine.image(release.image) is None:
                raise DockerHelloError(
                    f"The image of release {release.id} ({release.image}) is no longer on the engine",
                    hint="It was pruned; deploy that commit again instead.",
                )
            self.console.step(f"Rolling {app} back to release {release.id}")
            self.preflight(app, options)
            key = self.secret_key(app, self.proxy.serving(app))
            return self._release(app, release, options, store, key, rollback=True)

    def serving_options(self, app: str, health_timeout: float) -> DeployOptions:
        """The run settings of the release that serves, read back from the engine."""
        proxy = self.proxy.get(app)
        if proxy is None:
            raise not_deployed(self.engine, app)
        serving = self.proxy.serving(app)
        if serving is None:
            self.console.warn("no serving release to copy settings from: rolling back with the defaults")
        image = self.engine.image(serving.image_id) if serving is not None else None
        return serving_options(proxy, serving, image, health_timeout)

    def secret_key(self, app: str, serving: ContainerInfo | None) -> str:
        """The app's SECRET_KEY: the serving release's where it runs (so that a deploy from
        another host keeps users signed in), else the one kept on this host."""
        return self.secrets.secret_key(app, secret_key_of(serving) if serving else None)

    # -- the steps ----------------------------------------------------------------------------

    def preflight(self, app: str, options: DeployOptions) -> None:
        port_free = host_port_free(options.publish) if self.target.is_local else None
        check_port(self.engine, self.target, app, self.proxy.get(app), options.publish, port_free)

    def _release(
        self,
        app: str,
        release: Release,
        options: DeployOptions,
        store: ReleaseStore,
        secret_key: str,
        rollback: bool = False,
        proxy_base: str | None = None,
        route: tuple[str, str] | None = None,
    ) -> DeployResult:
        proxy = self.proxy.get(app)
        first = proxy is None
        base = self._proxy_base(proxy, options, release, proxy_base)
        host_network = uses_host_network(options.publish.host_port, self.engine.info())
        spec = ProxySpec(app, options.publish.host_ip, options.publish.host_port, base, host_network,
                         data=options.database != "none")  # fmt: skip
        routing = self.proxy.ensure(spec, options.bind_ip or options.publish.host_ip, route)
        if proxy is not None and not old_layout(proxy, routing.network):
            self._say_if_outdated(app, proxy, routing.network)
        name = release_name(app, release.id)
        slot = other_slot(routing.slot)
        address = routing.address(slot)
        self.engine.remove(name, force=True)  # left by a deploy that was killed
        for container in self.proxy.releases(app):  # so is a release that holds the slot's address
            if slot_of(routing.network, container) == slot:
                self.engine.remove(container.id, force=True)
        created = sent = False
        try:
            image = self.engine.image(release.image)
            if image is None:
                raise DeployFailed(f"The image {release.image} is gone from the engine")
            # Made once and left running: a release and its migration need it up.
            password = self.database.ensure(app, base) if options.database == "postgres" else None
            to_run = release_spec(app, release.id, image, options, secret_key, address, password)
            # The image's VOLUME paths, on volumes made labelled, so that `down --volumes` finds them.
            for volume, path in image_mounts(app, image, options).items():
                self.engine.create_volume(volume, app_labels(app, ROLE_VOLUME, **{LABEL_VOLUME_PATH: path}))
            if options.migrate and not rollback:  # a rollback's schema is the newer one: Django migrates forward only
                self.one_off.migrate(to_run, release.id)
            self.console.step(f"Starting release {release.id} as container {name}")
            self.engine.create(to_run)
            created = True
            # Started beside the release, so that the switch is made the moment it is healthy.
            with self.proxy.switch_ready(app, options.health_timeout) as switch:
                try:
                    self.engine.start(name)
                except DockerHelloError as exc:
                    raise DeployFailed(f"The container did not start: {exc.message}", hint=exc.hint) from None
                self.health.wait(app, name, address, options.health_timeout, options.health_path)
                self.console.step(f"Switching {app} to release {release.id}")
                sent = True  # from here the route may have moved, even if `to` does not return
                switch.to(release.id, slot)
            self._confirm_served(app, release.id, options)
        except BaseException as exc:
            try:
                try:
                    self._put_back(app, release, routing, sent=sent, created=created, first=first)
                finally:  # the record says it failed, whatever else could be put back
                    if not rollback:
                        store.mark(release.id, ReleaseState.FAILED, failure_reason(exc))
            except (DockerHelloError, KeyboardInterrupt) as undone:
                # The failure the user must see is the release's; what could not be put back is
                # said beside it, not in its place. A second Ctrl-C stops the cleanup (a user who
                # presses it twice wants out), but not the record, nor the lock's release.
                done = "was interrupted" if isinstance(undone, KeyboardInterrupt) else f"failed too: {undone.message}"
                self.console.warn(
                    f"putting things back after the failure {done}; `dockerhello status --app {app}` shows what runs"
                )
            raise
        store.mark(release.id, ReleaseState.ACTIVE, "rolled back to" if rollback else "")
        self._retire_others(app, keep=name, drain=options.drain)
        store.prune_images(self.engine, options.keep)
        publish = bound(options)
        if publish.loopback and not self.target.is_local:
            self.console.warn(
                f"{app} is published on {publish} of the engine's host {self.target.hostname}, which only that host "
                f"reaches: `ssh -N -L {publish.host_port}:{publish} USER@{self.target.hostname}` brings it here; "
                f"--publish 0.0.0.0:{publish.host_port} opens it to the network"
            )
        return DeployResult(app, release.id, release.image, app_url(self.target, publish))

    def _put_back(self, app: str, release: Release, routing: Routing, *, sent: bool, created: bool,
                  first: bool) -> None:  # fmt: skip
        """Undo a release that failed: the route back to the previous release, the new container
        removed (never while the route names it: that would be an outage), a first deploy's
        proxy too."""
        serving = self.proxy.current_release(app)
        if sent and routing.release and routing.slot and serving == release.id:
            # Switched, and failed after (the published URL never served it, Ctrl-C): the
            # previous release, which runs until it is retired, takes the route back.
            try:
                self.proxy.switch(app, routing.release, routing.slot)
            except DockerHelloError as exc:
                raise DockerHelloError(
                    f"the route could not be given back to release {routing.release} ({exc.message}), "
                    f"so release {release.id} was left running and serving"
                ) from None
            serving = routing.release
        elif serving == release.id:
            # Switched to and failed after, with no release to give the route back to (a first
            # deploy): it goes, and a first deploy's proxy with it; nothing else serves.
            serving = None
        if created:
            self.engine.remove(release_name(app, release.id), force=True)
        if serving:
            self.console.info(f"Release {serving} is still serving; the failed container was removed.")
        elif first:  # a first deploy that failed leaves nothing behind but the data
            self.database.remove(app, volume=False)
            self.proxy.remove(app)

    def _proxy_base(self, proxy: ContainerInfo | None, options: DeployOptions, release: Release,
                    built_on: str | None) -> str:  # fmt: skip
        """The proxy is built on the app's base image, which the build just used and so is on
        the engine, where a registry image may not be; else (a rollback builds nothing) on the
        running proxy's own base, so that no new proxy image is built for it; else on the
        release's own image."""
        for candidate in (options.base_image, built_on):
            if candidate and self.engine.image(candidate) is not None:  # not: FROM an earlier build stage
                return candidate
        proxy_image = self.engine.image(proxy.image_id) if proxy is not None else None
        running_base = proxy_image.labels.get(LABEL_PROXY_BASE) if proxy_image is not None else None
        if running_base and self.engine.image(running_base) is not None:
            return running_base
        return release.image

    def _say_if_outdated(self, app: str, proxy: ContainerInfo, network: NetworkInfo) -> None:
        """A proxy is kept once made: a newer dockerhello's settings reach it only by
        `proxy upgrade`, which costs a moment of downtime, so the deploy only says so."""
        why = self.proxy.outdated(app, proxy, network)
        if why is not None:
            machine = f" --machine {self.target.machine}" if self.target.machine else ""
            self.console.warn(
                f"the proxy of {app} was made by an earlier dockerhello ({why}): "
                f"`dockerhello proxy upgrade --app {app}{machine}` replaces it, with a moment of downtime"
            )

    def _confirm_served_at(self, app: str, release: str, publish: Publish) -> None:
        self._confirm_served(app, release, DeployOptions(publish=publish))

    def _confirm_served(self, app: str, release: str, options: DeployOptions) -> None:
        """The published URL answers with the new release: the switch reached the user. Asked
        from here, or, for the loopback of a remote engine's host, from inside the proxy."""
        publish = bound(options)
        inside = publish.loopback and not self.target.is_local
        host = publish.host_ip
        if publish.host_ip in ("0.0.0.0", "::"):
            host = "127.0.0.1" if self.target.is_local else self.target.hostname
        where = f"{publish} of the engine's host" if inside else str(Publish(host, publish.host_port))
        deadline = self.clock() + 10
        seen = None
        while self.clock() < deadline:
            seen = self.proxy.served_inside(app, publish) if inside else self.served_release(host, publish.host_port)
            if seen == release:
                return
            self.sleep(0.2)
        raise DeployFailed(
            f"After the switch, {where} serves release {seen or 'nothing'}, not {release}",
            hint=f"Look at the proxy: `docker logs {proxy_name(app)}`.",
        )

    def _retire_others(self, app: str, keep: str, drain: float) -> None:
        others = [c for c in self.proxy.releases(app) if c.name != keep]
        if not others:
            return
        self.drain.wait(others, within=drain)  # what they serve finishes; nginx sends them nothing new
        for container in others:
            self.console.info(f"Stopping the previous release {container.name}")
            self.engine.stop(container.id, STOP_TIMEOUT)
            self.engine.remove(container.id, force=True)
