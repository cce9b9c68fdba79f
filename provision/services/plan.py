"""What a deploy or a rollback is asked to do, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class DeployResult:
    app: str
    release: str
    image: str
    url: str
