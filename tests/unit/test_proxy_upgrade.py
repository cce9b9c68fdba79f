"""`proxy upgrade` and the deploy's word on a proxy an earlier dockerhello made, against the
engine in memory (tests/unit/fake_engine.py); tests/test_proxy_upgrade_e2e.py runs them on the
real engine."""

from __future__ import annotations

from dataclasses import replace

import pytest

from provision.errors import DeployFailed, DockerHelloError
from provision.owned import LABEL_PROXY_BASE, ROUTE_DIR
from provision.services.proxy import PROXY_IMAGE
from tests.unit.deploy_world import APP, World

SLOTS = f"{ROUTE_DIR}/slots.conf"
BASE = "python:3.12-slim"


def earlier_deploy(world: World, monkeypatch: pytest.MonkeyPatch) -> str:
    """A deploy by a dockerhello whose upstreams kept idle connections for 60 s."""
    with monkeypatch.context() as earlier:
        earlier.setattr("provision.services.proxy_layout.UPSTREAM_IDLE", "60s")
        return world.deploy()


def slots(world: World) -> str:
    content = world.engine.get_file(APP, SLOTS)
    assert content is not None
    return content.decode()


def test_a_proxy_this_dockerhello_made_is_left_as_it_is(world: World) -> None:
    world.deploy()
    before = world.engine.container(APP)
    world.err.truncate(0)
    world.deploy()
    assert "earlier dockerhello" not in world.err.getvalue()
    upgraded = world.deployer.upgrade_proxy(APP)
    assert (upgraded.reason, world.engine.container(APP)) == (None, before)
    assert not any(call[0] in ("rename", "quit") for call in world.engine.calls)


def test_a_redeploy_says_the_proxy_is_an_earlier_dockerhellos_and_keeps_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier_deploy(world, monkeypatch)
    proxy = world.engine.container(APP)
    release = world.deploy()
    assert world.err.getvalue().count("Warning: the proxy of shop was made by an earlier dockerhello (its nginx "
                                      "settings differ from this dockerhello's): `dockerhello proxy upgrade --app shop` "
                                      "replaces it, with a moment of downtime") == 1  # fmt: skip
    assert world.engine.container(APP) == proxy and "keepalive_timeout 60s" in slots(world)
    assert world.routed() == release


def test_a_redeploy_builds_no_proxy_image_it_would_not_use(world: World) -> None:
    world.deploy()
    # The proxy image an earlier dockerhello built on the same base, from its own nginx.conf.
    older = replace(world.engine.add_image("dockerhello/proxy:0123456789ab"), labels={LABEL_PROXY_BASE: BASE})
    world.engine.images_[older.id] = older
    world.engine._update(APP, image_id=older.id)
    current = PROXY_IMAGE.tag(BASE)
    del world.engine.images_[current]
    world.deploy(base_image=BASE)
    assert current not in world.engine.images_
    assert f"(it runs the image dockerhello/proxy:0123456789ab, not {current})" in world.err.getvalue()


def test_upgrade_makes_the_new_proxy_first_and_keeps_route_and_release(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = earlier_deploy(world, monkeypatch)
    old = world.engine.container(APP)
    assert old is not None
    world.engine.calls.clear()
    upgraded = world.deployer.upgrade_proxy(APP)
    assert upgraded.reason == "its nginx settings differ from this dockerhello's"
    proxy_calls = [c for c in world.engine.calls if c[0] in ("rename", "create", "quit", "start", "remove")
                   and c[1] in (APP, f"{APP}-proxy-retiring")]  # fmt: skip
    assert proxy_calls == [
        ("rename", APP, f"{APP}-proxy-retiring"),
        ("create", APP),
        ("quit", f"{APP}-proxy-retiring", "SIGQUIT"),
        ("start", APP),
        ("remove", f"{APP}-proxy-retiring"),
    ]
    new = world.engine.container(APP)
    assert new is not None and new.id != old.id and new.running
    assert "keepalive_timeout 1s" in slots(world) and world.routed() == release
    assert world.deployer.proxy_upgrade.outdated(APP) is None


@pytest.mark.parametrize("interruption", [DeployFailed("The proxy did not start"), KeyboardInterrupt()])
def test_an_upgrade_that_fails_or_is_interrupted_puts_the_old_proxy_back(
    world: World, monkeypatch: pytest.MonkeyPatch, interruption: BaseException
) -> None:
    release = earlier_deploy(world, monkeypatch)
    old = world.engine.container(APP)
    assert old is not None
    start = world.engine.start

    def failing_start(container: str) -> None:
        if container != old.id:
            raise interruption
        start(container)

    monkeypatch.setattr(world.engine, "start", failing_start)
    with pytest.raises(type(interruption)):
        world.deployer.upgrade_proxy(APP)
    back = world.engine.container(APP)
    assert back is not None and (back.id, back.running) == (old.id, True)
    assert world.engine.container(f"{APP}-proxy-retiring") is None
    assert [c.id for c in world.engine.containers({"dockerhello.role": "proxy"})] == [old.id]
    assert "keepalive_timeout 60s" in slots(world) and world.routed() == release
    assert "Warning: putting the previous proxy of shop back" in world.err.getvalue()
    assert world.engine.container(f"{APP}-deploy-lock") is None


def test_upgrade_without_a_proxy_says_to_deploy(world: World) -> None:
    with pytest.raises(DockerHelloError) as raised:
        world.deployer.upgrade_proxy(APP)
    assert raised.value.message == "shop has no proxy on the Docker engine at unix:///var/run/docker.sock"
    assert raised.value.hint == "Deploy it with `dockerhello deploy`: the proxy a deploy makes is this dockerhello's."
