"""The release record and the deploy lock on the engine, against the engine in memory."""

from __future__ import annotations

import os
import socket

import pytest

from provision.adapters.engine_model import ContainerSpec
from provision.errors import DockerHelloError
from provision.owned import RECORDS_IMAGE, app_labels
from provision.services.engine_records import (
    LABEL_HOLDER,
    LABEL_HOST,
    LABEL_PID,
    LABEL_SINCE,
    EngineRecords,
)
from provision.services.releases import Release, ReleaseState, ReleaseStore
from tests.unit.fake_engine import FakeEngine


def held_by(engine: FakeEngine, host: str, pid: int, since: str = "2099-01-01T00:00:00Z") -> None:
    engine.add_image(RECORDS_IMAGE)
    labels = app_labels("shop", "lock", **{LABEL_HOST: host, LABEL_PID: str(pid), LABEL_SINCE: since,
                                           LABEL_HOLDER: f"pid {pid} on {host}, since 09:15:00 UTC"})  # fmt: skip
    engine.create(ContainerSpec(image=RECORDS_IMAGE, name="shop-deploy-lock", network="none", labels=labels))


def test_records_written_from_one_host_are_read_from_another() -> None:
    engine = FakeEngine()
    warnings: list[str] = []
    laptop = ReleaseStore(EngineRecords(engine, "shop"), "shop", warnings.append)  # type: ignore[arg-type]
    assert laptop.load() == [] and engine.containers() == []  # reading makes nothing
    laptop.add(Release("20261125-120000", "shop:20261125-120000", "abc1234", "2026-11-25T12:00:00Z",
                       ReleaseState.ACTIVE))  # fmt: skip
    runner = ReleaseStore(EngineRecords(engine, "shop"), "shop", warnings.append)  # type: ignore[arg-type]
    assert [r.id for r in runner.load()] == ["20261125-120000"]
    assert warnings == []


def test_a_damaged_record_is_kept_aside_and_what_was_readable_goes_on() -> None:
    engine = FakeEngine()
    warnings: list[str] = []
    box = EngineRecords(engine, "shop")  # type: ignore[arg-type]
    box.write(b'{"releases": [{"id": "1", "image": "shop:1", "created": "x", "state": "active"}, 5]}')
    store = ReleaseStore(box, "shop", warnings.append)
    store.mark("1", ReleaseState.HEALTHY)
    assert warnings[0] == "the release record of shop: entry 2: not an object: skipped"
    assert warnings[1].startswith(
        "the damaged release record was kept as shop-releases:/records/releases.json.damaged-"
    )
    assert [(r.id, r.state) for r in store.load()] == [("1", ReleaseState.HEALTHY)]


def test_a_lock_held_by_a_live_deploy_stops_a_second_that_will_not_wait() -> None:
    engine = FakeEngine()
    held_by(engine, "ci-runner-7", 4242)
    with pytest.raises(DockerHelloError) as raised, EngineRecords(engine, "shop").lock(False, print):  # type: ignore[arg-type]
        pass
    assert raised.value.message == "Another deploy of this app is running (pid 4242 on ci-runner-7, since 09:15:00 UTC)"


def test_a_second_deploy_waits_for_the_lock_and_says_so() -> None:
    engine = FakeEngine()
    held_by(engine, "ci-runner-7", 4242)
    said: list[str] = []

    def the_other_finishes(seconds: float) -> None:
        engine.remove("shop-deploy-lock")

    with EngineRecords(engine, "shop").lock(True, said.append, sleep=the_other_finishes):  # type: ignore[arg-type]
        assert engine.container("shop-deploy-lock") is not None
    assert said == ["Waiting for another deploy of this app to finish (pid 4242 on ci-runner-7, since 09:15:00 UTC)..."]
    assert engine.container("shop-deploy-lock") is None  # released


def test_a_lock_left_by_a_deploy_that_died_is_taken_over() -> None:
    engine = FakeEngine()
    dead = 2**22 + 17  # above pid_max's default: no such process
    assert not os.path.exists(f"/proc/{dead}")
    held_by(engine, socket.gethostname(), dead)
    with EngineRecords(engine, "shop").lock(False, print):  # type: ignore[arg-type]
        lock = engine.container("shop-deploy-lock")
        assert lock is not None and lock.labels[LABEL_PID] == str(os.getpid())
    held_by(engine, "elsewhere", 1, since="2020-01-01T00:00:00Z")  # an hour old and more: stale too
    with EngineRecords(engine, "shop").lock(False, print):  # type: ignore[arg-type]
        pass


class CountingBox(EngineRecords):
    """The record on the engine in memory, counting its reads."""

    def __init__(self, engine: FakeEngine, app: str) -> None:
        super().__init__(engine, app)  # type: ignore[arg-type]
        self.reads = 0

    def read(self) -> bytes | None:
        self.reads += 1
        return super().read()


def test_under_the_lock_the_record_is_read_once_and_again_by_the_next_holder() -> None:
    engine = FakeEngine()
    box = CountingBox(engine, "shop")
    warnings: list[str] = []
    store = ReleaseStore(box, "shop", warnings.append)
    one, two = (Release(f"2026112{n}-120000", f"shop:2026112{n}-120000", None, "x", ReleaseState.BUILDING)
                for n in (5, 6))  # fmt: skip
    with store.lock(wait=False, on_wait=print):
        store.add(one)
        store.mark(one.id, ReleaseState.ACTIVE)
        assert store.images_to_keep(5) == {one.image}
    assert box.reads == 1  # mark and images_to_keep used what add read and wrote
    other = ReleaseStore(EngineRecords(engine, "shop"), "shop", warnings.append)  # type: ignore[arg-type]
    other.add(two)  # another host's deploy, after the lock was let go
    with store.lock(wait=False, on_wait=print):
        assert [r.id for r in store.load()] == [one.id, two.id]
    assert [r.id for r in store.load()] == [one.id, two.id] and box.reads == 3  # unlocked: read each time


def test_a_write_that_failed_is_read_again_not_taken_as_written() -> None:
    engine = FakeEngine()
    box = CountingBox(engine, "shop")
    warnings: list[str] = []
    store = ReleaseStore(box, "shop", warnings.append)
    release = Release("20261125-120000", "shop:20261125-120000", None, "x", ReleaseState.BUILDING)
    with store.lock(wait=False, on_wait=print):
        store.add(release)
        written = box.write

        def lost(data: bytes) -> None:  # it landed, and the answer was lost
            written(data)
            raise DockerHelloError("Cannot reach the Docker engine")

        box.write = lost  # type: ignore[method-assign]
        with pytest.raises(DockerHelloError):
            store.mark(release.id, ReleaseState.ACTIVE)
        box.write = written  # type: ignore[method-assign]
        assert [r.state for r in store.load()] == [ReleaseState.ACTIVE] and box.reads == 2
