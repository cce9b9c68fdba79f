"""Step 3 of a deploy: the release's container, hardened, as the engine is asked to run it;
and, for a rollback, the settings of the release that serves, read back from the engine."""

from __future__ import annotations

from provision.adapters.engine_model import ContainerInfo, ContainerSpec, ImageInfo
from provision.owned import LABEL_RELEASE, ROLE_RELEASE, app_labels, network_name, release_name
from provision.services.plan import DeployOptions
from provision.services.proxy import published
from provision.settings import Hardening

# Gunicorn's graceful timeout (25 s in start.sh) must fit inside this.
STOP_TIMEOUT = 30
UNPRIVILEGED = "10001:10001"  # needs no passwd entry, so it works on any base image
ROOT_USERS = ("", "root", "0", "0:0")


def release_spec(app: str, release: str, image: ImageInfo, options: DeployOptions, secret_key: str) -> ContainerSpec:
    """The container of `release`: on the app's network, no port of its own (the proxy
    owns it), restarted unless stopped, hardened as `options` say, SECRET_KEY given at run time."""
    hardening = options.hardening
    user = UNPRIVILEGED if image.user in ROOT_USERS and not hardening.allow_root else None
    return ContainerSpec(
        image=image.id,
        name=release_name(app, release),
        labels=app_labels(app, ROLE_RELEASE, **{LABEL_RELEASE: release}),
        network=network_name(app),
        env={"SECRET_KEY": secret_key, **dict(options.environment)},
        user=user,
        read_only=hardening.read_only,
        tmpfs={"/tmp": "rw,nosuid,nodev,size=64m"} if hardening.read_only else {},
        cap_drop=("ALL",) if hardening.drop_capabilities else (),
        no_new_privileges=hardening.no_new_privileges,
        memory=hardening.memory,
        nano_cpus=int(hardening.cpus * 1e9) if hardening.cpus else None,
        pids_limit=512,
        stop_timeout=STOP_TIMEOUT,
    )


def serving_options(proxy: ContainerInfo, serving: ContainerInfo | None, image: ImageInfo | None,
                    health_timeout: float) -> DeployOptions:  # fmt: skip
    """The run settings of the release that serves, for a rollback to run under: its
    published address, the app's variables (secrets from env files included, which
    dockerhello never stores) and its hardening. Without one: the defaults."""
    if serving is None or image is None:
        return DeployOptions(publish=published(proxy), health_timeout=health_timeout)
    image_env = set(image.env)
    environment = tuple(
        (name, value)
        for name, _, value in (item.partition("=") for item in serving.env)
        if f"{name}={value}" not in image_env and name != "SECRET_KEY"
    )
    hardening = Hardening(
        read_only=serving.read_only,
        drop_capabilities=serving.cap_drop == ("ALL",),
        no_new_privileges="no-new-privileges:true" in serving.security_opt,
        allow_root=serving.user in ROOT_USERS,
        memory=serving.memory,
        cpus=serving.nano_cpus / 1e9 if serving.nano_cpus else None,
    )
    return DeployOptions(
        publish=published(proxy), health_timeout=health_timeout, environment=environment, hardening=hardening
    )


def release_of(container: ContainerInfo) -> str | None:
    return container.labels.get(LABEL_RELEASE)
