"""Deploy to a Swarm: the app as a replicated service that Swarm updates one task at a time,
health-gated, rolling back by itself; dockerhello builds, ships images and watches.

On the cluster an app APP is:
- the service APP-web: the release's image, replicated (one task per node by default), in DNS
  round-robin mode on the overlay network dockerhello-APP, each task hardened as a release
  container is; an update starts the new task first, waits for its health check, then stops
  an old one, and goes back by itself (`failure_action: rollback`) when a new task fails;
- the service APP: nginx on every node (global), on port 8000 of the node itself, resolving
  APP-web's healthy tasks by name;
- the secret APP-secret-key-DIGEST: the app's SECRET_KEY, a file in each task, never in the
  image, the service's spec or any output;
- the release record and deploy lock, on the manager's engine, as on a single engine.

Images reach the nodes without a registry: `docker save` from the manager that built them,
`docker load` into each node that lacks them, in parallel (the README says why).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import replace

from provision.adapters.engine_model import ImageInfo
from provision.adapters.host import Git
from provision.adapters.swarm_model import Healthcheck, ServiceInfo, ServiceSpec, TaskInfo
from provision.console import Console
from provision.errors import DeployFailed, DockerHelloError
from provision.owned import (
    APP_PORT,
    LABEL_RELEASE,
    ROLE_PROXY,
    ROLE_RELEASE,
    app_labels,
    network_name,
)
from provision.project import Project
from provision.secret_store import SecretStore
from provision.services.build import ImageBuilder
from provision.services.cluster import Cluster, Member
from provision.services.cluster_operate import (
    SECRET_FILE,
    ClusterOperator,
    proxy_config,
    proxy_service,
    secret_name,
    web_service,
)
from provision.services.image_transfer import ship
from provision.services.plan import DeployOptions, DeployResult
from provision.services.proxy import PROXY_IMAGE
from provision.services.release_container import ROOT_USERS, UNPRIVILEGED, sized
from provision.services.releases import Release, ReleaseState, failure_reason, new_release_id, now

HEALTH_INTERVAL = 2.0  # the image's own check, run more often than its 5 s: an update waits on it


class ClusterDeployer(ClusterOperator):
    def __init__(
        self,
        cluster: Cluster,
        name: str,
        console: Console,
        secrets: SecretStore,
        git: Git,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(cluster, name, console, clock, sleep)
        self.secrets = secrets
        self.git = git

    # -- entry points -------------------------------------------------------------------

    def deploy(self, project: Project, options: DeployOptions, replicas: int | None) -> DeployResult:
        if options.database != "none":
            raise DockerHelloError(
                f"A {options.database} database is not deployed to a cluster yet",
                hint='Deploy the app with `database = "none"` and a DATABASE_URL of a server of your own '
                "(--env DATABASE_URL=...), or deploy it to one machine.",
            )
        app = project.app
        store = self.store(app)
        with store.lock(options.wait_for_lock, self.console.info):
            commit = self.git.commit(project.path)
            release = Release(new_release_id(commit), "", commit, now(), ReleaseState.BUILDING)
            release = replace(release, image=f"{app}:{release.id}")
            store.add(release)
            try:
                built_on = ImageBuilder(self.engine, self.console).build(
                    project, release.image, options.base_image, pull=options.pull, cache=options.cache
                )
                result = self._release(app, release, options, replicas, proxy_base=options.base_image or built_on)
            except BaseException as exc:
                store.mark(release.id, ReleaseState.FAILED, failure_reason(exc))
                raise
            store.mark(release.id, ReleaseState.ACTIVE)
            return result

    def rollback(self, app: str, release_id: str | None, options: DeployOptions) -> DeployResult:
        store = self.store(app)
        with store.lock(options.wait_for_lock, self.console.info):
            release = store.rollback_target(release_id, "dockerhello releases --cluster NAME")
            if self.engine.image(release.image) is None:
                raise DockerHelloError(
                    f"The image of release {release.id} ({release.image}) is no longer on {self.manager.machine}",
                    hint="Deploy that commit again instead.",
                )
            self.console.step(f"Rolling {app} back to release {release.id}")
            result = self._release(app, release, options, None, proxy_base=None)
            store.mark(release.id, ReleaseState.ACTIVE, "rolled back to")
            return result

    # -- a release onto the Swarm ----------------------------------------------------------------

    def _release(
        self, app: str, release: Release, options: DeployOptions, replicas: int | None, proxy_base: str | None
    ) -> DeployResult:
        image = self.engine.image(release.image)
        if image is None:
            raise DeployFailed(f"The image {release.image} is gone from {self.manager.machine}")
        members = self.cluster.members(self.name, self.manager)
        current = self.engine.service(web_service(app))
        web_image, proxy_image = self._images(app, release, options, proxy_base, members)
        self.engine.ensure_overlay(network_name(app), app_labels(app, "network"))
        spec = replace(self.web_spec(app, release.id, image, options, members, current), image=web_image)
        count = replicas or (current.replicas if current is not None and current.replicas else len(members))
        spec = replace(spec, replicas=count)
        if current is None:
            self.console.step(f"Creating the service {spec.name}: {count} replicas of release {release.id}")
            self.engine.create_service(spec)
        else:
            self.console.step(f"Updating {spec.name} to release {release.id}, one task at a time, new before old")
            self.engine.update_service(current, spec)
        self._wait(app, spec.image, count, options.health_timeout * max(count, 1))
        if proxy_image is not None:
            self._ensure_proxy(app, options.publish.host_port, proxy_image)
        urls = self._confirm(members, options.publish.host_port)
        self.console.info(f"Serving on {len(urls)} nodes: {' '.join(urls)}")
        return DeployResult(app, release.id, release.image, urls[0])

    def _images(self, app: str, release: Release, options: DeployOptions, proxy_base: str | None,
                members: list[Member]) -> tuple[str, str | None]:  # fmt: skip
        """What the services name, once every node can have it: the release's image, and
        nginx's (None where the running proxy stays as it is: a rollback). Pushed to the
        user's registry, or else sent to the nodes that lack it, named by ID."""
        running_proxy = self.engine.service(proxy_service(app))
        keep_proxy = proxy_base is None and running_proxy is not None
        proxy = None if keep_proxy else PROXY_IMAGE.ensure(self.engine, self.console, proxy_base or release.image)
        if options.registry:
            return self.push(options.registry, release.image), proxy and self.push(options.registry, proxy)
        kept = running_proxy.image if keep_proxy and running_proxy is not None else None
        by_id = [kept] if kept and kept.startswith("sha256:") else []  # a registry's reference stays there
        self.ship([release.image, *([proxy] if proxy else []), *by_id], members)
        web = self.engine.image(release.image)
        proxy_info = self.engine.image(proxy) if proxy else None
        assert web is not None and (proxy is None or proxy_info is not None)  # just built or found
        return web.id, proxy_info.id if proxy_info is not None else None

    def web_spec(
        self,
        app: str,
        release: str,
        image: ImageInfo,
        options: DeployOptions,
        members: list[Member],
        current: ServiceInfo | None,
    ) -> ServiceSpec:
        hardening = options.hardening
        environment = {**sized(hardening), **dict(options.environment)}
        if "ALLOWED_HOSTS" not in environment:
            environment["ALLOWED_HOSTS"] = ",".join(["localhost", "127.0.0.1", "[::1]", *(m.address for m in members)])
        secret = self._secret(app, current)
        return ServiceSpec(
            name=web_service(app),
            image=image.id,
            labels=app_labels(app, ROLE_RELEASE, **{LABEL_RELEASE: release}),
            container_labels=app_labels(app, ROLE_RELEASE, **{LABEL_RELEASE: release}),
            env={**environment, "SECRET_KEY_FILE": f"/run/secrets/{SECRET_FILE}"},
            network=network_name(app),
            user=UNPRIVILEGED if image.user in ROOT_USERS and not hardening.allow_root else None,
            read_only=hardening.read_only,
            tmpfs=("/tmp",) if hardening.read_only else (),
            cap_drop_all=hardening.drop_capabilities,
            memory=hardening.memory,
            nano_cpus=int(hardening.cpus * 1e9) if hardening.cpus else None,
            secrets=(secret,),
            healthcheck=Healthcheck(test=(), interval=HEALTH_INTERVAL, timeout=0, retries=0, start_period=0),
        )

    def _secret(self, app: str, current: ServiceInfo | None) -> tuple[str, str, str]:
        """The running service's key where there is one (its value cannot be read back, and a
        deploy from another host must keep users signed in), else the one kept here."""
        if current is not None:
            for secret in current.secrets:
                if secret[2] == SECRET_FILE:
                    return secret
        key = self.secrets.secret_key(app, None)
        name = secret_name(app, key)
        secret_id = self.engine.ensure_secret(name, key.encode(), app_labels(app, "secret"))
        return (secret_id, name, SECRET_FILE)

    def push(self, registry: str, reference: str) -> str:
        """REGISTRY/NAME:TAG pushed from the manager's engine: what every node pulls."""
        name, _, tag = reference.rpartition(":")
        repository = f"{registry}/{name}"
        self.engine.tag(reference, repository, tag)
        self.console.step(f"Pushing {repository}:{tag}")
        self.engine.push(repository, tag)
        return f"{repository}:{tag}"

    def ship(self, images: list[str], members: list[Member]) -> None:
        ship(self.engine, images, members, self.console, self.clock)

    def _wait(self, app: str, image_id: str, replicas: int, timeout: float) -> None:
        """Until Swarm's update completes with every task on the new image running; a rollback
        Swarm made is reported with what the failing task said."""
        name = web_service(app)
        deadline = self.clock() + timeout
        while True:
            service = self.engine.service(name)
            if service is None:
                raise DeployFailed(f"The service {name} is gone")
            state = service.update.state if service.update else "completed"
            tasks = self.engine.tasks(service.id)
            running = [t for t in tasks if t.desired == "running" and t.state == "running" and t.image == image_id]
            if state.startswith("rollback") or state == "paused":
                if state in ("rollback_completed", "rollback_paused", "paused"):
                    raise self._rolled_back(service, tasks, image_id)
            elif state == "completed" and len(running) >= replicas:
                return
            if self.clock() > deadline:
                raise DeployFailed(
                    f"{name} did not reach {replicas} healthy tasks of the new release in "
                    f"{timeout:.0f} s ({len(running)} so far)",
                    details=_task_lines(tasks, image_id),
                    hint=f"`dockerhello status --cluster {self.name}` shows the tasks.",
                )
            self.sleep(0.5)

    def _rolled_back(self, service: ServiceInfo, tasks: list[TaskInfo], image_id: str) -> DeployFailed:
        """What the failing task said: its state, its last health check, the end of its log.
        (A task whose health check fails is stopped by Swarm, so Gunicorn exits cleanly and the
        task ends "complete", not "failed".)"""
        ended = [t for t in tasks if t.image == image_id and t.desired == "shutdown" and t.container_id]
        details = _task_lines(ended[:1], image_id)
        for task in ended[:1]:
            container, lines = self.task_container(task, 20)
            if container is not None and container.health_output.strip():
                details.append(f"health check: {container.health_output.strip().splitlines()[-1]}")
            details += [f"log: {line}" for line in lines]
        message = service.update.message if service.update else ""
        return DeployFailed(
            f"Swarm rolled {service.name} back: a task of the new release failed ({message})",
            details=details,
            hint="The previous release serves on. Fix the release, then deploy again.",
        )

    def _ensure_proxy(self, app: str, port: int, image: str) -> None:
        """nginx on every node, created once; replaced (stop first: it holds the node's port)
        only when its image or configuration changed."""
        config = proxy_config(app)
        config_name = f"{app}-nginx-{hashlib.sha256(config).hexdigest()[:12]}"
        config_id = self.engine.ensure_config(config_name, config, app_labels(app, "config"))
        image_id = image  # an ID, or the reference in the user's registry
        spec = ServiceSpec(
            name=proxy_service(app),
            image=image_id,
            labels=app_labels(app, ROLE_PROXY, **{"dockerhello.config": config_name}),
            container_labels=app_labels(app, ROLE_PROXY),
            network=network_name(app),
            replicas=None,
            configs=((config_id, config_name, "/etc/nginx/nginx.conf"),),
            dnsrr=True,
            host_ports=((port, APP_PORT),),
            start_first=False,
            stop_grace_period=10,
        )
        current = self.engine.service(spec.name)
        if current is None:
            self.console.step(f"Creating the proxy {spec.name} on every node, on port {port}")
            self.engine.create_service(spec)
        elif not (self._same_image(current.image, image) and current.published_port == port
                  and current.labels.get("dockerhello.config") == config_name):  # fmt: skip
            self.console.step(f"Updating the proxy {spec.name}: nginx restarts on one node after the other")
            self.engine.update_service(current, spec)
        else:
            return
        self._wait_global(spec.name, image)

    def _same_image(self, one: str, other: str) -> bool:
        """The same image, named by ID or by a registry's reference (a push keeps the ID)."""
        found = [self.engine.image(reference) for reference in (one, other)]
        return one == other or (None not in found and found[0] == found[1])

    def _wait_global(self, name: str, image: str, timeout: float = 120) -> None:
        """Until a task of `image` runs on every node that takes tasks."""
        nodes = {node.id for node in self.engine.nodes() if node.state == "ready" and node.availability == "active"}
        deadline = self.clock() + timeout
        while True:
            tasks = self.engine.tasks(name)
            serving = {t.node_id for t in tasks if t.desired == "running" and t.state == "running" and t.image == image}
            if nodes <= serving:
                return
            if self.clock() > deadline:
                raise DeployFailed(
                    f"The proxy {name} does not run on every node after {timeout:.0f} s",
                    details=_task_lines(tasks, image),
                    hint=f"`dockerhello logs --access --cluster {self.name}` shows nginx's words.",
                )
            self.sleep(0.5)

    def _confirm(self, members: list[Member], port: int, timeout: float = 60) -> list[str]:
        """Each node's port 8000 answers 200 through its proxy."""
        urls = [f"http://{m.address}:{port}/" for m in members]
        deadline = self.clock() + timeout
        waiting = list(urls)
        while waiting:
            waiting = [url for url in waiting if http_status(url) != 200]
            if not waiting:
                break
            if self.clock() > deadline:
                raise DeployFailed(
                    f"The release runs, but {' '.join(waiting)} does not answer 200",
                    hint=f"Look at the proxy: `dockerhello logs --access --cluster {self.name}`.",
                )
            self.sleep(0.3)
        return urls


def http_status(url: str) -> int | None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=3)
    try:
        conn.request("GET", parts.path or "/", headers={"Host": f"localhost:{parts.port}"})
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        conn.close()


def _task_lines(tasks: list[TaskInfo], image_id: str) -> list[str]:
    return [
        f"task {t.id[:12]} ({'new' if t.image == image_id else 'old'} release): {t.state}"
        + (f": {t.error}" if t.error else "")
        for t in tasks[:6]
    ]
