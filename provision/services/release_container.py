"""Step 3 of a deploy: the release's container, hardened, as the engine is asked to run it;
and, for a rollback, the settings of the release that serves, read back from the engine."""

from __future__ import annotations

import math
import posixpath
from dataclasses import replace

from provision.adapters.engine_model import ContainerInfo, ContainerSpec, ImageInfo
from provision.owned import (
    DATA_DIR,
    LABEL_APP,
    LABEL_HEALTH_PATH,
    LABEL_RELEASE,
    LABEL_ROLE,
    POSTGRES_USER,
    ROLE_ONE_OFF,
    ROLE_RELEASE,
    SQLITE_URL,
    app_labels,
    data_volume,
    image_volume,
    network_name,
    postgres_url,
    release_name,
)
from provision.services.plan import DeployOptions
from provision.services.proxy_layout import published
from provision.settings import Hardening

# Gunicorn's graceful timeout (25 s in start.sh) must fit inside this.
STOP_TIMEOUT = 30
UNPRIVILEGED = "10001:10001"  # needs no passwd entry, so it works on any base image
ROOT_USERS = ("", "root", "0", "0:0")


def sized(hardening: Hardening) -> dict[str, str]:
    """start.sh sizes Gunicorn by nproc, which sees every CPU of the host, not a --cpus quota:
    under one, the worker count follows the quota (the app's own WEB_CONCURRENCY wins)."""
    return {"WEB_CONCURRENCY": str(max(1, math.ceil(hardening.cpus)))} if hardening.cpus else {}


def data_env(app: str, database: str, password: str | None = None) -> dict[str, str]:
    """What the app is told of its database: SQLite's file on the data volume, or the app's
    PostgreSQL by its name on the app's network."""
    if database == "postgres":
        assert password, "the database's password, for its URL"
        return {"DATABASE_URL": postgres_url(app, password)}
    return {"DATABASE_URL": SQLITE_URL} if database == "sqlite" else {}


def data_mounts(app: str, database: str) -> dict[str, str]:
    """The data volume: a SQLite database's file, and the uploads of any app with a database."""
    return {data_volume(app): DATA_DIR} if database != "none" else {}


def tmpfs_mounts(hardening: Hardening) -> dict[str, str]:
    """A read-only root's one writable place."""
    return {"/tmp": "rw,nosuid,nodev,size=64m"} if hardening.read_only else {}


def image_mounts(app: str, image: ImageInfo, options: DeployOptions) -> dict[str, str]:
    """A volume of the app's (`image_volume`) for each path the image declares VOLUME outside
    what dockerhello mounts itself: the engine refuses two mounts at one path, a volume over
    the hardening's /tmp would make it a disk's, and one under /data would hide the uploads
    there from the proxy, which serves them from the data volume."""
    ours = [*data_mounts(app, options.database).values(), *tmpfs_mounts(options.hardening)]
    taken = tuple(f"{path.rstrip('/')}/" for path in ours)
    paths = {posixpath.normpath(path) for path in image.volumes}
    return {image_volume(app, path): path for path in sorted(paths) if not f"{path}/".startswith(taken)}


def release_spec(app: str, release: str, image: ImageInfo, options: DeployOptions, secret_key: str,
                 address: str | None = None, database_password: str | None = None) -> ContainerSpec:  # fmt: skip
    """The container of `release`: on the app's network at its slot's `address`, no port of its
    own (the proxy owns it), restarted unless stopped, hardened as `options` say, SECRET_KEY
    (and the database's password) given at run time."""
    hardening = options.hardening
    user = UNPRIVILEGED if image.user in ROOT_USERS and not hardening.allow_root else None
    database = data_env(app, options.database, database_password)
    environment = {**sized(hardening), **database, **dict(options.environment)}
    return ContainerSpec(
        image=image.id,
        name=release_name(app, release),
        labels=app_labels(app, ROLE_RELEASE, **{LABEL_RELEASE: release, LABEL_HEALTH_PATH: options.health_path}),
        network=network_name(app),
        env={"SECRET_KEY": secret_key, **environment},
        user=user,
        read_only=hardening.read_only,
        tmpfs=tmpfs_mounts(hardening),
        cap_drop=("ALL",) if hardening.drop_capabilities else (),
        no_new_privileges=hardening.no_new_privileges,
        memory=hardening.memory,
        nano_cpus=int(hardening.cpus * 1e9) if hardening.cpus else None,
        pids_limit=512,
        stop_timeout=STOP_TIMEOUT,
        ipv4_address=address,
        volumes={**image_mounts(app, image, options), **data_mounts(app, options.database)},
    )


def one_off_spec(release: ContainerSpec, name: str, command: tuple[str, ...], tty: bool = False) -> ContainerSpec:
    """A one-off container of a release (a migration, `dockerhello run`): the release's image,
    variables, volumes, network and hardening, its own command, no fixed address, no restart."""
    labels = {**release.labels, LABEL_ROLE: ROLE_ONE_OFF}
    return replace(release, name=name, labels=labels, command=command, ipv4_address=None, restart="no", tty=tty)


def serving_options(proxy: ContainerInfo, serving: ContainerInfo | None, image: ImageInfo | None,
                    health_timeout: float) -> DeployOptions:  # fmt: skip
    """The run settings of the release that serves, for a rollback to run under: its
    published address, the app's variables (secrets from env files included, which
    dockerhello never stores) and its hardening. Without one: the defaults."""
    if serving is None or image is None:
        return DeployOptions(publish=published(proxy), health_timeout=health_timeout)
    hardening = Hardening(
        read_only=serving.read_only,
        drop_capabilities=serving.cap_drop == ("ALL",),
        no_new_privileges="no-new-privileges:true" in serving.security_opt,
        allow_root=serving.user in ROOT_USERS,
        memory=serving.memory,
        cpus=serving.nano_cpus / 1e9 if serving.nano_cpus else None,
    )
    app = app_of(serving)
    password = database_password_of(serving)
    database = "postgres" if password else "sqlite" if serving.mounts.get(data_volume(app)) == DATA_DIR else "none"
    ours = {f"{name}={value}" for name, value in {**sized(hardening), **data_env(app, database, password)}.items()}
    ours |= set(image.env)
    environment = tuple(
        (name, value)
        for name, _, value in (item.partition("=") for item in serving.env)
        if f"{name}={value}" not in ours and name != "SECRET_KEY"
    )
    return DeployOptions(
        publish=published(proxy), health_timeout=health_timeout, environment=environment, hardening=hardening,
        database=database, health_path=serving.labels.get(LABEL_HEALTH_PATH, "/"),
    )  # fmt: skip


def secret_key_of(container: ContainerInfo) -> str | None:
    """The SECRET_KEY a release runs with."""
    return next((e.partition("=")[2] for e in container.env if e.startswith("SECRET_KEY=")), None)


def database_password_of(container: ContainerInfo) -> str | None:
    """The password in a release's DATABASE_URL, when it names the app's own PostgreSQL."""
    url = next((e.partition("=")[2] for e in container.env if e.startswith("DATABASE_URL=")), "")
    head = url.partition("@")[0]
    password = head.rpartition(":")[2] if head.startswith(f"postgres://{POSTGRES_USER}:") else ""
    return password if password and url == postgres_url(app_of(container), password) else None


def app_of(container: ContainerInfo) -> str:
    return container.labels.get(LABEL_APP, "")


def release_of(container: ContainerInfo) -> str | None:
    return container.labels.get(LABEL_RELEASE)
