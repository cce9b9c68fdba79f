"""An app's release records and its deploy lock, kept on the engine that runs the app.

The records are a JSON file on a volume of the app's (APP-releases), read and written through
a container that is never started (APP-records). The lock is a container named
APP-deploy-lock: creating it succeeds for one deploy only, because the engine refuses a
second container of the same name; its labels say who holds it and since when.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import tarfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from provision.adapters.engine import Engine
from provision.adapters.engine_model import ContainerSpec
from provision.errors import DockerHelloError, NameTaken
from provision.owned import (
    RECORDS_DIR,
    RECORDS_IMAGE,
    ROLE_LOCK,
    ROLE_RECORDS,
    app_labels,
    lock_name,
    records_name,
    records_volume,
)

RECORDS_FILE = "releases.json"
LABEL_HOLDER = "dockerhello.lock.holder"
LABEL_HOST = "dockerhello.lock.host"
LABEL_PID = "dockerhello.lock.pid"
LABEL_SINCE = "dockerhello.lock.since"
STALE_AFTER = 3600.0  # a lock this old was left by a deploy that died: no deploy takes an hour


class EngineRecords:
    def __init__(self, engine: Engine, app: str) -> None:
        self.engine = engine
        self.app = app

    def _ensure_image(self) -> None:
        if self.engine.image(RECORDS_IMAGE) is not None:
            return
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            directory = tarfile.TarInfo(RECORDS_DIR.strip("/"))
            directory.type, directory.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(directory)
        repository, _, tag = RECORDS_IMAGE.partition(":")
        self.engine.import_archive(archive.getvalue(), repository, tag, ['CMD ["none"]'])

    def _holder(self) -> str:
        name = records_name(self.app)
        if self.engine.container(name) is None:
            self._ensure_image()
            with contextlib.suppress(NameTaken):  # another deploy made it a moment ago
                self.engine.create(ContainerSpec(image=RECORDS_IMAGE, name=name, network="none", restart="no",
                                                 labels=app_labels(self.app, ROLE_RECORDS),
                                                 volumes={records_volume(self.app): RECORDS_DIR}))  # fmt: skip
        return name

    def read(self) -> bytes | None:
        if self.engine.container(records_name(self.app)) is None:
            return None  # nothing recorded yet, and reading makes nothing
        return self.engine.get_file(records_name(self.app), f"{RECORDS_DIR}/{RECORDS_FILE}")

    def write(self, data: bytes) -> None:
        self.engine.put_file(self._holder(), RECORDS_DIR, RECORDS_FILE, data, 0)

    def set_aside(self, data: bytes) -> str:
        """Keep a damaged record beside the new one, for a person to look at."""
        name = f"{RECORDS_FILE}.damaged-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}"
        self.engine.put_file(self._holder(), RECORDS_DIR, name, data, 0)
        return f"{records_volume(self.app)}:{RECORDS_DIR}/{name}"

    @contextlib.contextmanager
    def lock(self, wait: bool, on_wait: Callable[[str], None], timeout: float = 1800,
             sleep: Callable[[float], None] = time.sleep) -> Iterator[None]:  # fmt: skip
        """One deploy of this app on this engine at a time, from whatever host; the second
        waits, or with wait=False stops, saying who holds the lock."""
        self._ensure_image()
        host, pid = socket.gethostname(), os.getpid()
        since = datetime.now(UTC)
        labels = app_labels(self.app, ROLE_LOCK, **{
            LABEL_HOST: host, LABEL_PID: str(pid), LABEL_SINCE: since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            LABEL_HOLDER: f"pid {pid} on {host}, since {since.strftime('%H:%M:%S')} UTC"})  # fmt: skip
        spec = ContainerSpec(image=RECORDS_IMAGE, name=lock_name(self.app), network="none", labels=labels, restart="no")
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                self.engine.create(spec)
                break
            except NameTaken:
                holder = self._stale_or_holder()
                if holder is None:
                    continue  # a stale lock, removed: try again
                if not wait:
                    raise DockerHelloError(
                        f"Another deploy of this app is running ({holder})",
                        hint="Wait for it to finish, or run without --no-wait to queue behind it.",
                    ) from None
                if not waited:
                    on_wait(f"Waiting for another deploy of this app to finish ({holder})...")
                    waited = True
                if time.monotonic() > deadline:
                    raise DockerHelloError(f"Gave up waiting for the other deploy ({holder})") from None
                sleep(0.5)
        try:
            yield
        except BaseException:
            # The deploy's own failure is the one to report. A lock the engine would not remove
            # now is found stale by the next deploy: its process is gone.
            with contextlib.suppress(DockerHelloError):
                self.engine.remove(lock_name(self.app), force=True)
            raise
        self.engine.remove(lock_name(self.app), force=True)

    def _stale_or_holder(self) -> str | None:
        """Who holds the lock; None if it was stale (its deploy died) and is now removed."""
        found = self.engine.container(lock_name(self.app))
        if found is None:
            return None  # released a moment ago
        labels = found.labels
        holder = labels.get(LABEL_HOLDER, "another deploy")
        dead_here = labels.get(LABEL_HOST) == socket.gethostname() and not _alive(labels.get(LABEL_PID, ""))
        try:
            age = datetime.now(UTC) - datetime.fromisoformat(labels.get(LABEL_SINCE, "").replace("Z", "+00:00"))
            old = age.total_seconds() > STALE_AFTER
        except ValueError:
            old = True
        if dead_here or old:
            self.engine.remove(found.id, force=True)
            return None
        return holder


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
