"""What marks an engine's objects as dockerhello's: labels, names and the port, defined once.

An app APP is, on an engine: the proxy container APP, release containers APP-RELEASE and
images APP:RELEASE, the network dockerhello-APP and the proxy's route volume APP-route.
"""

from __future__ import annotations

import posixpath
import re

# On every container and network of the app, and on the volumes for its image's VOLUME paths;
# the engine makes the named ones (APP-data, APP-db, APP-releases, APP-route) unlabelled, as a
# mount names them, and they are known by their names.
LABEL_APP = "dockerhello.app"
LABEL_ROLE = "dockerhello.role"  # "proxy" or "release"
LABEL_RELEASE = "dockerhello.release"  # the release id, on its container (its image is tagged with it)
LABEL_PROXY_BASE = "dockerhello.proxy-base"  # on a proxy image: the base it was built on
LABEL_PUBLISH = "dockerhello.publish"  # on the proxy: the address it serves the app on
LABEL_SLOTS = "dockerhello.slots"  # on the app's network and proxy: the slot layout (below)
LABEL_PROXY_CONFIG = "dockerhello.proxy-config"  # on the proxy: a digest of the settings it was made with
LABEL_HEALTH_PATH = "dockerhello.health-path"  # on a release: what its health gate asked for
LABEL_VOLUME_PATH = "dockerhello.volume-path"  # on an image volume: the path it is mounted at

ROLE_PROXY = "proxy"
ROLE_RELEASE = "release"
ROLE_ONE_OFF = "one-off"  # a migration or `dockerhello run`: removed when it ends
ROLE_VOLUME = "volume"  # a volume for a path the app's image declares VOLUME (image_volume)

APP_PORT = 8000  # where a release's server listens, and the proxy's own port inside it
ROUTE_DIR = "/var/lib/dockerhello-proxy"  # the proxy's route, on its volume

# A release runs in one of two slots: fixed addresses on the app's network that the proxy's
# configuration names once. A deploy starts the new release in the slot that is not live,
# then a switch changes which slot is live: never nginx's configuration, so no reload.
SLOTS = ("blue", "green")


def proxy_name(app: str) -> str:
    """The proxy carries the app's own name: it is what serves the app's URL."""
    return app


def release_name(app: str, release: str) -> str:
    return f"{app}-{release}"


def network_name(app: str) -> str:
    return f"dockerhello-{app}"


def retiring_proxy_name(app: str) -> str:
    """The old proxy's name while `proxy upgrade` replaces it: no release id has letters."""
    return f"{proxy_name(app)}-proxy-retiring"


def route_volume(app: str) -> str:
    return f"{proxy_name(app)}-route"


def app_labels(app: str, role: str, **extra: str) -> dict[str, str]:
    return {LABEL_APP: app, LABEL_ROLE: role, **extra}


# The app's release records and its deploy lock live on the engine too, so that every host
# that deploys to it sees the same history and waits for the same lock.
ROLE_RECORDS = "records"
ROLE_LOCK = "lock"
RECORDS_DIR = "/records"
RECORDS_IMAGE = "dockerhello/records:1"  # an empty filesystem, imported: no registry needed


def records_name(app: str) -> str:
    """A container that is never started: it holds the records volume for reading and writing."""
    return f"{app}-records"


def records_volume(app: str) -> str:
    return f"{app}-releases"


def lock_name(app: str) -> str:
    """A container whose creation is the lock: the engine refuses a second of the same name."""
    return f"{app}-deploy-lock"


# The app's data: a volume no release owns, mounted at /data in each (the SQLite database,
# uploads). Nothing removes it but `down --volumes`.
DATA_DIR = "/data"
SQLITE_URL = "sqlite:////data/db.sqlite3"


def data_volume(app: str) -> str:
    return f"{app}-data"


# The app's PostgreSQL (`database = "postgres"`): an accessory container on the app's network,
# its data on a volume of its own that, like APP-data, only `down --volumes` removes.
ROLE_DATABASE = "database"
POSTGRES_DIR = "/var/lib/postgresql/data"  # the volume; the cluster is in pgdata/ under it
POSTGRES_UID = 999  # the server's user, fixed in its image
POSTGRES_PORT = 5432
POSTGRES_USER = "app"  # one server per app: its role and database need no name of their own
POSTGRES_DB = "app"


def database_name(app: str) -> str:
    """The database container; the releases reach it by this name on the app's network."""
    return f"{app}-db"


def database_volume(app: str) -> str:
    return f"{app}-postgres"


def postgres_url(app: str, password: str) -> str:
    return f"postgres://{POSTGRES_USER}:{password}@{database_name(app)}:{POSTGRES_PORT}/{POSTGRES_DB}"


def what_it_keeps(app: str, volume: str) -> str:
    """What a data volume of the app keeps (APP-data, APP-postgres, an image volume), in the
    words `down --volumes` asks with."""
    if volume == data_volume(app):
        return "its uploads, and its database if it is SQLite"
    if volume == database_volume(app):
        return "its PostgreSQL database"
    return "what its releases wrote at a path its image declares VOLUME"


# A path the app's image declares VOLUME, where dockerhello mounts nothing of its own: the
# engine would give each release an anonymous volume there, empty again at every deploy and
# left behind by `docker rm` when the release retires, one a deploy. Instead every release
# mounts one volume of the app's for the path, so that what one release writes the next finds
# (as Compose carries anonymous volumes over to a recreated container). Labelled ROLE_VOLUME;
# like APP-data, only `down --volumes` removes it.
def image_volume(app: str, path: str) -> str:
    """APP-volume-SLUG-HASH: the slug for reading, the hash of the path because two paths
    can have one slug (/a-b, /a/b)."""
    import hashlib  # here: it loads OpenSSL, 5 ms of every command's start-up otherwise

    path = posixpath.normpath(path)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", path)[:41].strip("-") or "root"  # cut, then no dash at either end
    return f"{app}-volume-{slug}-{hashlib.sha256(path.encode()).hexdigest()[:6]}"
