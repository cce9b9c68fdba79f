"""`dockerhello proxy upgrade` on the real engine: a proxy an earlier dockerhello made (here:
one whose upstreams kept idle connections for 60 s, as before `keepalive_timeout 1s`) is
replaced by this dockerhello's, and the app keeps its release, its address and its route."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path

import docker
import docker.errors
import pytest
from docker.models.containers import Container

from provision.owned import ROUTE_DIR
from tests.conftest import Dockerhello
from tests.test_operate_e2e import App, fetch, ok, variant

pytestmark = pytest.mark.docker


@pytest.fixture
def app(dockerhello: Dockerhello, app_name: str, base_image: str) -> App:
    return App(dockerhello, app_name, base_image)


def slots(container: Container) -> str:
    output = container.exec_run(["cat", f"{ROUTE_DIR}/slots.conf"]).output
    assert isinstance(output, bytes)
    return output.decode()


def deployed_by_an_earlier_dockerhello(app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as earlier:
        earlier.setattr("provision.services.proxy_layout.UPSTREAM_IDLE", "60s")
        ok(app.deploy(variant(tmp_path, "v1", "Hello, World!")))
    status, _, serving = fetch(app.port)
    assert status == 200 and serving
    return serving


def test_proxy_upgrade_replaces_an_earlier_proxy_and_the_app_keeps_its_release(
    app: App, docker_client: docker.DockerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serving = deployed_by_an_earlier_dockerhello(app, tmp_path, monkeypatch)
    old = docker_client.containers.get(app.name)
    assert "keepalive_timeout 60s" in slots(old)
    redeployed = ok(app.deploy(variant(tmp_path, "v1", "Hello, World!")))
    assert (
        f"Warning: the proxy of {app.name} was made by an earlier dockerhello (its nginx settings differ from this "
        f"dockerhello's): `dockerhello proxy upgrade --app {app.name}` replaces it, with a moment of downtime"
    ) in redeployed.stderr
    assert docker_client.containers.get(app.name).id == old.id  # a deploy keeps the proxy it finds
    status = ok(app("status")).stdout
    assert (
        "made by an earlier dockerhello: its nginx settings differ from this dockerhello's; `dockerhello proxy upgrade` replaces it"
        in status
    )
    _, _, now_serving = fetch(app.port)
    assert now_serving and now_serving != serving
    serving = now_serving

    failed: list[str] = []
    answered = 0
    stop = threading.Event()

    def client() -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                status, _, _ = fetch(app.port)
                answered += 1
                if status != 200:
                    failed.append(f"HTTP {status}")
            except OSError as exc:
                failed.append(repr(exc))
                time.sleep(0.01)

    watcher = threading.Thread(target=client)
    watcher.start()
    try:
        upgraded = ok(app("proxy", "upgrade", "-y"))
    finally:
        stop.set()
        watcher.join()
    print(f"proxy upgrade: {answered} answered, {len(failed)} failed: {upgraded.stderr.strip().splitlines()[-1]}")
    assert (
        f"==> Replacing the proxy of {app.name}: its nginx settings differ from this dockerhello's" in upgraded.stderr
    )
    assert upgraded.stdout.startswith(f"The proxy of {app.name} runs dockerhello/proxy:")
    new = docker_client.containers.get(app.name)
    assert new.id != old.id and new.status == "running"
    assert "keepalive_timeout 1s" in slots(new)
    assert fetch(app.port) == (200, b"Hello, World!", serving)
    assert docker_client.containers.list(all=True, filters={"name": f"{app.name}-proxy-retiring"}) == []
    assert answered > 0

    again = ok(app("proxy", "upgrade", "-y"))
    assert again.stdout.strip() == f"The proxy of {app.name} is this dockerhello's: nothing to do."
    assert docker_client.containers.get(app.name).id == new.id
    assert "earlier dockerhello" not in ok(app.deploy(variant(tmp_path, "v1", "Hello, World!"))).stderr
    assert json.loads(ok(app("status", "--json")).stdout)["proxy"] == "current"


def test_a_proxy_upgrade_that_fails_puts_the_old_proxy_back(
    app: App, docker_client: docker.DockerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serving = deployed_by_an_earlier_dockerhello(app, tmp_path, monkeypatch)
    old = docker_client.containers.get(app.name)
    # This dockerhello's nginx then refuses its own command line: the new proxy exits at start.
    monkeypatch.setattr("provision.services.proxy_layout.nginx_command",
                        lambda cpus: ("nginx", "-g", "daemon off; no_such_directive on;"))  # fmt: skip
    result = app("proxy", "upgrade", "-y")
    assert result.exit_code == 4, result.stderr
    assert "Error: The proxy did not start" in result.stderr
    assert f"Warning: putting the previous proxy of {app.name} back" in result.stderr
    back = docker_client.containers.get(app.name)
    assert (back.id, back.status) == (old.id, "running")
    assert "keepalive_timeout 60s" in slots(back)  # its own files, which the new proxy had overwritten
    assert fetch(app.port) == (200, b"Hello, World!", serving)
    proxies = docker_client.containers.list(all=True, filters={"label": [f"dockerhello.app={app.name}",
                                                                         "dockerhello.role=proxy"]})  # fmt: skip
    assert [c.id for c in proxies] == [old.id]


def test_proxy_upgrade_of_an_app_that_is_not_deployed_says_to_deploy(app: App) -> None:
    result = app("proxy", "upgrade", "-y")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {app.name} has no proxy on the Docker engine at unix://")
    assert "Hint: Deploy it with `dockerhello deploy`" in result.stderr


def test_a_proxy_upgrade_whose_base_image_is_gone_names_it_and_leaves_the_proxy_serving(
    dockerhello: Dockerhello, app_name: str, base_image: str, docker_client: docker.DockerClient,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # The app deployed on a base of its own name, which is then removed (as `docker image prune
    # -a` or a clean-up would), and the proxy image with it: the upgrade must build on that base.
    own_base = f"{app_name}-base:1"
    docker_client.images.get(base_image).tag(own_base)
    app = App(dockerhello, app_name, own_base)
    serving = deployed_by_an_earlier_dockerhello(app, tmp_path, monkeypatch)
    old = docker_client.containers.get(app.name)
    proxy_image = old.image
    assert proxy_image is not None and len(proxy_image.tags) == 1, proxy_image  # its own, built on own_base
    docker_client.images.remove(own_base)
    docker_client.images.remove(proxy_image.tags[0], force=True)  # untagged; the running proxy keeps it
    try:
        upgrade_cannot_build(app, own_base, old, serving, docker_client)
    finally:
        old.remove(force=True)
        with contextlib.suppress(docker.errors.APIError):
            docker_client.images.remove(old.attrs["Image"])  # left dangling, else


def upgrade_cannot_build(
    app: App, own_base: str, old: Container, serving: str, docker_client: docker.DockerClient
) -> None:
    result = app("proxy", "upgrade", "-y")
    assert result.exit_code == 4, result.stderr
    error = next(line for line in result.stderr.splitlines() if line.startswith("Error: "))
    assert error.startswith(
        f"Error: The proxy image did not build: its base image {own_base} is not on the Docker engine at unix://"
    ), result.stderr
    assert ", and pulling it failed: " in error
    assert result.stderr.splitlines()[-1] == (
        f"Hint: Put {own_base} back on the engine (`docker pull {own_base}`, or, for an image `dockerhello base "
        "build` made, build it again), then run the command again."
    )
    back = docker_client.containers.get(app.name)
    assert (back.id, back.status) == (old.id, "running")  # nothing was replaced: the build comes first
    assert fetch(app.port) == (200, b"Hello, World!", serving)
