"""What a deploy or a rollback is asked to do, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from provision.engine import EngineTarget
from provision.settings import DeploySettings, Hardening
from provision.validators import Publish


@dataclass(frozen=True)
class DeployOptions:
    publish: Publish = field(default_factory=Publish)
    base_image: str | None = None
    pull: bool = False  # the base image asked of its registry anew, as `docker build --pull`
    cache: bool = True  # False: every build step run again, as `docker build --no-cache`
    health_timeout: float = 120.0
    # Engine-side address to bind; a machine target binds all of the VM's interfaces.
    bind_ip: str | None = None
    environment: tuple[tuple[str, str], ...] = ()
    hardening: Hardening = field(default_factory=lambda: DeploySettings().hardening)
    keep: int = 5  # release images kept
    wait_for_lock: bool = True
    drain: float = 2.0  # seconds the old release keeps its in-flight requests after the switch
    database: str = "none"  # "sqlite": the app's data volume, and DATABASE_URL naming a file on it
    migrate: bool = False  # `manage.py migrate` in a one-off container before the release serves
    health_path: str = "/"
    registry: str | None = None  # a cluster's images go through it instead of save/load

    @classmethod
    def from_settings(cls, settings: DeploySettings, wait_for_lock: bool = True) -> DeployOptions:
        return cls(
            publish=settings.publish,
            base_image=settings.base_image,
            pull=settings.pull,
            cache=settings.cache,
            health_timeout=settings.health_timeout,
            environment=settings.environment(),
            hardening=settings.hardening,
            keep=settings.keep,
            database=settings.database,
            migrate=settings.migrate,
            health_path=settings.health_path,
            registry=settings.registry,
            wait_for_lock=wait_for_lock,
        )


def for_target(target: EngineTarget, options: DeployOptions) -> DeployOptions:
    """Options adjusted to the engine. Inside a docker-machine VM the app listens on all the
    VM's interfaces, because VirtualBox's NAT forwards to the guest's address, not its loopback
    (the VM is reachable only from this host); the VM's IP joins ALLOWED_HOSTS so that
    http://VM-IP:PORT works as well as a forwarded http://localhost:PORT. The user's own
    ALLOWED_HOSTS stands, and the app listens on the VM's interfaces all the same: bound to
    the VM's loopback, no forwarded port would reach it."""
    if not target.machine:
        return options
    if any(name == "ALLOWED_HOSTS" for name, _ in options.environment):
        return replace(options, bind_ip="0.0.0.0")
    hosts = f"localhost,127.0.0.1,[::1],{target.hostname}"
    return replace(options, bind_ip="0.0.0.0", environment=(*options.environment, ("ALLOWED_HOSTS", hosts)))


@dataclass(frozen=True)
class DeployResult:
    app: str
    release: str
    image: str
    url: str
