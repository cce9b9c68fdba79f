"""`proxy upgrade`: replace an app's proxy that an earlier dockerhello made with the one this
dockerhello makes, keeping its route volume, its published address and the release it serves.

A proxy is made once, by the deploy that first needs one, and kept after that: its nginx owns
the app's port, and no second one can take the port while the first holds it. So a newer
dockerhello's settings (the image's nginx.conf, the upstreams in slots.conf, the workers in
its command) reach a running app only here, with a moment in which the app does not answer:
the new proxy is made first (image, container, files), then the old nginx quits gracefully
(its requests in flight finish), then the new one starts. Anything that fails, or a Ctrl-C,
puts the old proxy back as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from provision.adapters.engine import Engine
from provision.adapters.engine_model import ContainerInfo, NetworkInfo
from provision.console import Console
from provision.errors import DockerHelloError
from provision.owned import ROUTE_DIR, network_name, proxy_name, retiring_proxy_name
from provision.services.proxy import Proxy
from provision.services.proxy_layout import LISTEN_FILE, NO_RELEASE, PROXY_UID, SLOTS_FILE, old_layout, published
from provision.validators import Publish

# nginx's graceful quit waits for the requests it has; one longer than this is cut.
QUIT_TIMEOUT = 30
KEPT_FILES = (SLOTS_FILE, LISTEN_FILE)


@dataclass(frozen=True)
class ProxyUpgraded:
    app: str
    image: str  # the proxy's image now
    reason: str | None  # how the old proxy differed; None: it was this dockerhello's, and stays
    unanswered: float = 0.0  # seconds from the old nginx's quit to the new one's start


class ProxyUpgrade:
    def __init__(
        self,
        engine: Engine,
        proxy: Proxy,
        console: Console,
        confirm_served: Callable[[str, str, Publish], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.proxy = proxy
        self.console = console
        self.confirm_served = confirm_served
        self.clock = clock

    def outdated(self, app: str) -> str | None:
        """How the app's proxy differs from this dockerhello's; None if it does not."""
        current, network = self._current(app)
        return self.proxy.outdated(app, current, network)

    def upgrade(self, app: str) -> ProxyUpgraded:
        """Under the app's deploy lock (the caller's): no deploy switches meanwhile."""
        current, network = self._current(app)
        made_now = self.proxy.as_made_now(app, current)
        spec = made_now.spec
        image = self.proxy.image_tag(spec.base_image)
        reason = self.proxy.outdated(app, current, network, made_now)
        if reason is None:
            return ProxyUpgraded(app, image, None)
        self.proxy.ensure_image(spec.base_image)  # built while the old proxy still serves
        route = self.proxy.route(app)
        kept = {name: self.engine.get_file(current.id, f"{ROUTE_DIR}/{name}") for name in KEPT_FILES}
        self.console.step(f"Replacing the proxy of {app}: {reason}")
        made: ContainerInfo | None = None
        try:
            self.engine.rename(current.id, retiring_proxy_name(app))
            made = self.proxy.create(spec, made_now.bind_ip, network)
            quit_at = self.clock()
            self.engine.quit(current.id, "SIGQUIT", QUIT_TIMEOUT)
            self.proxy.start(made, spec)
            unanswered = self.clock() - quit_at
            if route is not None and route[0] != NO_RELEASE:
                self.confirm_served(app, route[0], published(current))
        except BaseException:
            try:
                self._put_back(app, current, made, kept)
            except DockerHelloError as failed:
                self.console.warn(f"the previous proxy could not be put back ({failed.message}): "
                                  "`dockerhello deploy` makes a new one")  # fmt: skip
            raise
        self.engine.remove(current.id, force=True)
        return ProxyUpgraded(app, image, reason, unanswered)

    def _current(self, app: str) -> tuple[ContainerInfo, NetworkInfo]:
        current = self.proxy.get(app)
        if current is None:
            raise DockerHelloError(
                f"{app} has no proxy on the {self.engine.target.describe()}",
                hint="Deploy it with `dockerhello deploy`: the proxy a deploy makes is this dockerhello's.",
            )
        network = self.engine.network(network_name(app))
        if network is None or old_layout(current, network):
            raise DockerHelloError(
                f"The proxy of {app} is one that reloads nginx to switch, from before releases had slots",
                hint="Run `dockerhello deploy`: it replaces that proxy and its network, once.",
            )
        return current, network

    def _put_back(self, app: str, old: ContainerInfo, made: ContainerInfo | None,
                  kept: dict[str, bytes | None]) -> None:  # fmt: skip
        """The old proxy as it was: the new one removed, the old files back on the route
        volume (the new proxy wrote its own), the old name, started if it was running."""
        self.console.warn(f"putting the previous proxy of {app} back")
        if made is not None:
            self.engine.remove(made.id, force=True)
        for name, content in kept.items():
            if content is not None:
                self.engine.put_file(old.id, ROUTE_DIR, name, content, PROXY_UID)
        if (self.engine.container(old.id) or old).name != proxy_name(app):
            self.engine.rename(old.id, proxy_name(app))
        if old.running:
            self.engine.start(old.id)
