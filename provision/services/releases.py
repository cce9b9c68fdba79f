"""Releases: every deploy's image, tagged APP:ID, and what became of it.

The images live on the engine (labelled with their release id and git commit), and so does
the record of what became of each deploy (active, healthy, failed, rolled back), so that
`releases` and `rollback` need no version string looked up anywhere, and every host that
deploys to the engine sees the same history.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from provision.errors import DockerHelloError

if TYPE_CHECKING:
    from provision.adapters.engine import Engine
    from provision.adapters.engine_model import ImageInfo


class ReleaseState(StrEnum):
    BUILDING = "building"  # a deploy is in progress (or was killed)
    ACTIVE = "active"  # the proxy routes to it
    HEALTHY = "healthy"  # was active and healthy, since replaced
    FAILED = "failed"  # never became healthy: never served


@dataclass(frozen=True)
class Release:
    id: str
    image: str
    git: str | None
    created: str  # ISO 8601, UTC
    state: ReleaseState
    note: str = ""


def new_release_id(commit: str | None, now: datetime | None = None) -> str:
    """`20261123-205501-1a2b3c4` from the time and the git commit (`-dirty` with local
    changes), or the time alone outside a git checkout."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{commit}" if commit else stamp


def parse_records(text: str) -> tuple[list[Release], list[str]]:
    """The releases a record holds, and what was skipped and why: a damaged record loses
    what is damaged, never the rest, and never stops a deploy or a rollback."""
    import json

    try:
        data = json.loads(text)
    except ValueError as exc:
        return [], [f"not JSON ({exc})"]
    rows = data.get("releases") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        return [], ['no "releases" list']
    releases: list[Release] = []
    skipped: list[str] = []
    for number, row in enumerate(rows, start=1):
        try:
            releases.append(_release(row))
        except ValueError as exc:
            skipped.append(f"entry {number}: {exc}")
    return releases, skipped


def _release(row: object) -> Release:
    if not isinstance(row, dict):
        raise ValueError("not an object")
    fields = {"id": str, "image": str, "created": str, "state": str}
    for name, kind in fields.items():
        if not isinstance(row.get(name), kind):
            raise ValueError(f"{name} missing or not a string")
    if not all(isinstance(row.get(name), str | None) for name in ("git", "note")):
        raise ValueError("git or note not a string")
    try:
        state = ReleaseState(row["state"])
    except ValueError:
        raise ValueError(f"unknown state {row['state']!r}") from None
    return Release(row["id"], row["image"], row.get("git"), row["created"], state, row.get("note") or "")


class RecordBox(Protocol):
    """Where an app's release record is kept: on the engine (`EngineRecords`)."""

    def read(self) -> bytes | None: ...
    def write(self, data: bytes) -> None: ...
    def set_aside(self, data: bytes) -> str: ...
    def lock(self, wait: bool, on_wait: Callable[[str], None]) -> contextlib.AbstractContextManager[None]: ...


class ReleaseStore:
    """The record of an app's releases on one engine, kept on that engine.

    A record that cannot be read whole is not a reason to stop: what can be read is used,
    what was skipped is said (`warn`), and the damaged record is kept aside when the next
    one is written."""

    def __init__(self, box: RecordBox, app: str, warn: Callable[[str], None]) -> None:
        self.box = box
        self.app = app
        self.warn = warn
        self._damaged: bytes | None = None  # what load() found damaged: save() keeps it aside
        # The record as last read or written, kept only while this store holds the app's lock:
        # then nothing else writes it, and each read is an archive call (about 40 ms).
        self._locked = False
        self._held: list[Release] | None = None

    def load(self) -> list[Release]:
        if self._locked and self._held is not None:
            return list(self._held)
        data = self.box.read()
        if data is None:
            releases: list[Release] = []
        else:
            releases, skipped = parse_records(data.decode("utf-8", errors="replace"))
            for problem in skipped:
                self.warn(f"the release record of {self.app}: {problem}: skipped")
            self._damaged = data if skipped else None
        if self._locked:
            self._held = list(releases)
        return releases

    def save(self, releases: list[Release]) -> None:
        """Write the record; callers load() first, and a damaged record found then is kept aside."""
        import json

        if self._damaged is not None:
            aside = self.box.set_aside(self._damaged)
            self._damaged = None
            self.warn(f"the damaged release record was kept as {aside}; the new one keeps what was readable")
        self._held = None  # a write that fails may still have landed: read it again
        self.box.write(json.dumps({"app": self.app, "releases": [asdict(r) for r in releases]}, indent=2).encode())
        if self._locked:
            self._held = list(releases)

    @contextlib.contextmanager
    def lock(self, wait: bool, on_wait: Callable[[str], None]) -> Iterator[None]:
        """One deploy of this app on this engine at a time; the second waits, or stops."""
        with self.box.lock(wait, on_wait):
            self._locked = True
            try:
                yield
            finally:
                self._locked, self._held = False, None

    def add(self, release: Release) -> None:
        self.save([*self.load(), release])

    def mark(self, release_id: str, state: ReleaseState, note: str = "") -> None:
        """Set one release's state; making one active makes the previously active one healthy."""
        updated = []
        for release in self.load():
            if release.id == release_id:
                release = replace(release, state=state, note=note or release.note)
            elif state is ReleaseState.ACTIVE and release.state is ReleaseState.ACTIVE:
                release = replace(release, state=ReleaseState.HEALTHY)
            updated.append(release)
        self.save(updated)

    def active(self) -> Release | None:
        return next((r for r in self.load() if r.state is ReleaseState.ACTIVE), None)

    def previous_healthy(self) -> Release | None:
        """The newest release that served healthily before the active one."""
        healthy = [r for r in self.load() if r.state is ReleaseState.HEALTHY]
        return healthy[-1] if healthy else None

    def images_to_keep(self, keep: int) -> set[str]:
        """The last `keep` releases' images, plus always the serving release's and the one a
        plain `rollback` would go back to, however old."""
        releases = self.load()  # once: the record is read through the engine
        kept = {r.image for r in releases[-keep:]}
        kept |= {r.image for r in releases if r.state is ReleaseState.ACTIVE}
        healthy = [r for r in releases if r.state is ReleaseState.HEALTHY]
        if healthy:
            kept.add(healthy[-1].image)  # what previous_healthy() gives
        return kept

    def prune_images(self, engine: Engine, keep: int) -> tuple[list[str], int]:
        """Remove the app's release images that `images_to_keep` does not keep; what went and
        the bytes freed. An image the engine will not remove (a proxy is built on it) stays,
        and is said; one another app's tags name too stays for that app, and frees nothing."""
        kept = self.images_to_keep(keep)
        removed: list[str] = []
        freed = 0
        for image in engine.images(self.app):
            tags = [tag for tag in image.tags_in(self.app) if not tag.endswith(":latest")]
            if not tags or any(tag in kept for tag in tags):
                continue
            try:
                if remove_own_image(engine, self.app, image):
                    freed += image.size
            except DockerHelloError as exc:
                self.warn(f"could not prune {', '.join(tags)}: {exc.message}")
                continue
            removed.extend(tags)
        return removed, freed

    def rollback_target(self, release_id: str | None, listing: str) -> Release:
        """RELEASE (a prefix will do), else the newest healthy one before the active; never the
        one serving. `listing` is the command that lists the releases, for the hint."""
        if release_id:
            release = self.find(release_id)
        else:
            found = self.previous_healthy()
            if found is None:
                raise DockerHelloError(f"{self.app} has no earlier healthy release to go back to",
                                       hint=f"`{listing}` lists what there is.")  # fmt: skip
            release = found
        if release.state is ReleaseState.ACTIVE:
            raise DockerHelloError(f"Release {release.id} is the one serving already")
        return release

    def find(self, release_id: str) -> Release:
        matches = [r for r in self.load() if r.id == release_id or r.id.startswith(release_id)]
        if len(matches) != 1:
            known = ", ".join(r.id for r in self.load()[-5:]) or "none yet"
            raise DockerHelloError(
                f"No single release matches {release_id!r}" + (f" ({len(matches)} do)" if matches else ""),
                hint=f"`dockerhello releases` lists them; the latest: {known}.",
            )
        return matches[0]


def remove_own_image(engine: Engine, app: str, image: ImageInfo) -> bool:
    """Remove the app's image, or, where another app's tags name it too (both built the same
    thing, so the engine made one image), only the app's own tags. True if the image went.
    Else by id, so that the engine refuses an image a proxy was built on (its parent), which
    stays tagged, instead of untagging it: a proxy upgrade builds on that tag."""
    own = image.tags_in(app)
    if len(own) < len(image.tags):
        for tag in own:
            engine.remove_image(tag, force=True)
        return False
    return engine.remove_image(image.id, force=True)


def now() -> str:
    """A release's creation time, as the records keep it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_reason(exc: BaseException) -> str:
    """What a failed release's note says of why."""
    if isinstance(exc, DockerHelloError):
        return exc.message
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return str(exc) or type(exc).__name__
