"""A real Swarm of three engines (`tests.swarm_cluster`), each behind TLS in a network namespace
of its own, listed as machines by the stand-in docker-machine: two VirtualBox machines made by
`cluster create`, one server of the generic driver joined by `cluster join`.

The tests run in order on one cluster, as a user's day goes: make it, deploy, roll a release
under load, fail one, roll back, drain a node, scale, lose a node's engine, take it all down.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.conftest import Dockerhello, MachineWorld, copy_project, dockerhello_in, make_world, wait_for
from tests.load import Load
from tests.swarm_cluster import SwarmCluster

pytestmark = pytest.mark.docker
APP = "hello"


@pytest.fixture(scope="module")
def cluster(docker_client: docker.DockerClient, base_image: str) -> Iterator[SwarmCluster]:
    engines = SwarmCluster()
    try:
        engines.start()
        # The machine that builds needs the base image: the user's VM would pull it.
        engines.nodes[0].load(docker_client, base_image)
        yield engines
    finally:
        engines.close()


@pytest.fixture(scope="module")
def registry(cluster: SwarmCluster, docker_client: docker.DockerClient, registry_image: str) -> str:
    """A registry of the user's own on node 1's port 5000."""
    node = cluster.nodes[0]
    node.load(docker_client, registry_image)
    client = node.client()
    client.containers.run(registry_image, detach=True, name="registry", ports={"5000/tcp": 5000})
    client.close()
    return f"{node.address}:5000"


@pytest.fixture(scope="module")
def world(cluster: SwarmCluster, tmp_path_factory: pytest.TempPathFactory) -> MachineWorld:
    world = make_world(tmp_path_factory.mktemp("cluster-world"), port=2376, certs=cluster.certs)
    world.environ["STANDIN_MACHINE_IP"] = ",".join(node.address for node in cluster.nodes)
    return world


@pytest.fixture(scope="module")
def dh(world: MachineWorld, tmp_path_factory: pytest.TempPathFactory) -> Dockerhello:
    return dockerhello_in(world, tmp_path_factory.mktemp("cluster-state"))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("cluster-project"))


def get(address: str, port: int = 8000) -> str:
    with urllib.request.urlopen(
        urllib.request.Request(f"http://{address}:{port}/", headers={"Host": "localhost"}), timeout=5
    ) as response:
        return bytes(response.read()).decode()


def deploy(dh: Dockerhello, project: Path, base_image: str, *extra: str) -> Any:
    return dh("deploy", str(project), "--cluster", "web", "--app", APP, "--base-image", base_image, *extra)


def app_status(dh: Dockerhello, cluster: str = "web") -> dict[str, Any]:
    result = dh("status", "--cluster", cluster, "--app", APP, "--json")
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def replace_in_views(project: Path, old: str, new: str) -> None:
    views = project / "helloworld" / "views.py"
    assert old in views.read_text()
    views.write_text(views.read_text().replace(old, new))


def test_a_cluster_of_two_new_machines_and_a_generic_server(
    dh: Dockerhello, world: MachineWorld, cluster: SwarmCluster
) -> None:
    refused = dh("cluster", "create", "web", "--nodes", "2", "--managers", "2")
    assert refused.exit_code == 1
    assert "Error: --managers 2: a Swarm needs an odd number of managers" in refused.stderr
    assert "Raft needs a majority of managers up" in refused.stderr
    assert world.calls("docker-machine") == []  # refused before any machine was made

    made = dh("cluster", "create", "web", "--nodes", "2")
    assert made.exit_code == 0, made.stderr
    assert f"Starting the Swarm on web-1, advertising {cluster.nodes[0].address}" in made.stderr
    assert f"Joining web-2 ({cluster.nodes[1].address}) as a worker" in made.stderr
    creates = [c for c in world.calls("docker-machine") if c[1] == "create"]
    assert [c[-1] for c in creates] == ["web-1", "web-2"]
    assert all(c[4:6] == ["--virtualbox-cpu-count", "2"] for c in creates), creates

    generic = world.tool(
        "docker-machine", "create", "--driver", "generic", "--generic-ip-address", cluster.nodes[2].address, "box3"
    )
    assert generic.returncode == 0, generic.stderr
    joined = dh("cluster", "join", "web", "box3")
    assert joined.exit_code == 0, joined.stderr

    again = dh("cluster", "create", "web", "--nodes", "2")  # safe to run twice
    assert again.exit_code == 0, again.stderr
    assert "web-2 is a node already (worker)" in again.stderr
    assert "box3 is a node already (worker)" in again.stderr

    status = dh("cluster", "status", "web", "--json")
    assert status.exit_code == 0, status.stderr
    nodes = json.loads(status.stdout)["nodes"]
    assert [(n["machine"], n["address"], n["role"], n["state"], n["availability"]) for n in nodes] == [
        ("web-1", cluster.nodes[0].address, "manager", "ready", "active"),
        ("web-2", cluster.nodes[1].address, "worker", "ready", "active"),
        ("box3", cluster.nodes[2].address, "worker", "ready", "active"),
    ]
    assert nodes[0]["leader"] and nodes[0]["reachability"] == "reachable"
    assert all(n["engine_version"].startswith("20.10") for n in nodes)
    listed = dh("cluster", "ls")
    assert listed.stdout.splitlines()[1].split() == ["web", "1", "web-1,web-2,box3"]


def test_deploy_runs_a_replica_on_every_node_and_each_node_answers(
    dh: Dockerhello, project: Path, base_image: str, cluster: SwarmCluster
) -> None:
    result = deploy(dh, project, base_image)
    assert result.exit_code == 0, result.stderr
    for node in cluster.nodes:
        assert get(node.address) == "Hello, World!"
    status = app_status(dh)
    assert status["replicas"] == 3 and status["running"] == 3
    logs = dh("logs", "--cluster", "web", "--app", APP, "--tail", "5")
    assert logs.exit_code == 0, logs.stderr
    heads = {line.split(" | ")[0].split("@")[1] for line in logs.stdout.splitlines() if " | " in line}
    assert heads == {"web-1", "web-2", "box3"}, logs.stdout  # every task's lines, each with its node
    assert all(line.startswith("hello-web.") for line in logs.stdout.splitlines()), logs.stdout
    running = [t for t in status["tasks"] if t["state"] == "running"]
    assert sorted(t["machine"] for t in running) == ["box3", "web-1", "web-2"]
    assert {t["health"] for t in running} == {"healthy"}

    # The key is a Swarm secret: a file in each task, in no spec, image or output.
    manager = cluster.nodes[0].client()
    try:
        service = manager.api.inspect_service(  # type: ignore[no-untyped-call]
            f"{APP}-web"
        )
        spec = service["Spec"]["TaskTemplate"]["ContainerSpec"]
        assert not any(e.startswith("SECRET_KEY=") for e in spec["Env"])
        assert "SECRET_KEY_FILE=/run/secrets/secret_key" in spec["Env"]
        assert [s["File"]["Name"] for s in spec["Secrets"]] == ["secret_key"]
        assert spec["ReadOnly"] is True and spec["CapabilityDrop"] == ["ALL"]
        update = service["Spec"]["UpdateConfig"]
        assert (update["Order"], update["Parallelism"], update["FailureAction"]) == ("start-first", 1, "rollback")
        assert update["Monitor"] == 5_000_000_000
        assert service["Spec"]["EndpointSpec"]["Mode"] == "dnsrr"
        key = (Path(dh.state_dir) / "apps" / APP / "secret_key").read_text().strip()
        assert key and key not in result.stdout + result.stderr
        assert key not in json.dumps(service)
        image = manager.api.inspect_image(  # type: ignore[no-untyped-call]
            spec["Image"]
        )
        assert not any(key in e for e in image["Config"]["Env"] or [])
        proxy = manager.api.inspect_service(  # type: ignore[no-untyped-call]
            APP
        )["Spec"]
        assert "Global" in proxy["Mode"]
        assert proxy["EndpointSpec"]["Ports"][0]["PublishMode"] == "host"
    finally:
        manager.close()


def test_a_rolling_update_under_load_fails_no_request(
    dh: Dockerhello, project: Path, base_image: str, cluster: SwarmCluster
) -> None:
    replace_in_views(project, "Hello, World!", "Hello, Swarm!")
    with Load(cluster.nodes[0].address, 8000) as load:
        result = deploy(dh, project, base_image)
        time.sleep(3)
    assert result.exit_code == 0, result.stderr
    assert load.requests > 500 and dict(load.failures) == {}, (load.requests, load.failures)
    assert set(load.bodies) == {b"Hello, World!", b"Hello, Swarm!"}
    for node in cluster.nodes:
        assert get(node.address) == "Hello, Swarm!"
    states = [line.split()[1] for line in dh("releases", "--cluster", "web", "--app", APP).stdout.splitlines()[1:]]
    assert states == ["healthy", "active"]


def test_a_registry_of_the_users_own_carries_the_images_instead(
    dh: Dockerhello, project: Path, base_image: str, cluster: SwarmCluster, registry: str
) -> None:
    replace_in_views(project, "Hello, Swarm!", "Hello, registry!")
    with Load(cluster.nodes[0].address, 8000) as load:
        result = deploy(dh, project, base_image, "--registry", registry)
    assert result.exit_code == 0, result.stderr
    assert f"Pushing {registry}/hello:" in result.stderr
    assert "docker save | docker load" not in result.stderr
    assert dict(load.failures) == {}
    for node in cluster.nodes:
        assert get(node.address) == "Hello, registry!"
    release = app_status(dh)["release"]
    manager = cluster.nodes[0].client()
    try:
        spec = manager.api.inspect_service(f"{APP}-web")["Spec"]  # type: ignore[no-untyped-call]
        assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == f"{registry}/hello:{release}"
    finally:
        manager.close()
    pulled = []  # the nodes that run a task pulled the image from the registry; Swarm says which nodes
    for node in cluster.nodes[1:]:  # (three replicas, at most two on node 1: one of these runs one)
        client = node.client()
        try:
            pulled += [node.address for image in client.images.list() if f"{registry}/hello:{release}" in image.tags]
        finally:
            client.close()
    assert pulled, "no node but the manager has the registry's image"
    replace_in_views(project, "Hello, registry!", "Hello, Swarm!")
    again = deploy(dh, project, base_image)  # back to images sent through the engines
    assert again.exit_code == 0, again.stderr
    assert get(cluster.nodes[2].address) == "Hello, Swarm!"


def test_a_release_that_never_gets_healthy_is_rolled_back_by_swarm(
    dh: Dockerhello, project: Path, base_image: str, cluster: SwarmCluster
) -> None:
    healthy = 'return HttpResponse("ok", content_type'
    replace_in_views(project, healthy, 'return HttpResponse("broken", status=500, content_type')
    try:
        with Load(cluster.nodes[1].address, 8000) as load:
            result = deploy(dh, project, base_image)
    finally:
        replace_in_views(project, 'return HttpResponse("broken", status=500, content_type', healthy)
    assert result.exit_code == 4, result.stderr
    assert "Error: Swarm rolled hello-web back: a task of the new release failed" in result.stderr
    assert "log: Internal Server Error: /healthz" in result.stderr  # the failing task's own log
    assert dict(load.failures) == {} and set(load.bodies) == {b"Hello, Swarm!"}
    states = [line.split()[1] for line in dh("releases", "--cluster", "web", "--app", APP).stdout.splitlines()[1:]]
    assert states[-2:] == ["active", "failed"]
    assert app_status(dh)["running"] == 3


def test_rollback_goes_back_to_the_previous_release(dh: Dockerhello, cluster: SwarmCluster) -> None:
    with Load(cluster.nodes[0].address, 8000) as load:
        result = dh("rollback", "--cluster", "web", "--app", APP)
    assert result.exit_code == 0, result.stderr
    assert dict(load.failures) == {}
    for node in cluster.nodes:  # the release before the one serving: the registry's
        assert get(node.address) == "Hello, registry!"
    states = [line.split()[1] for line in dh("releases", "--cluster", "web", "--app", APP).stdout.splitlines()[1:]]
    assert states == ["healthy", "healthy", "active", "healthy", "failed"]


def test_a_drained_node_loses_its_replicas_and_no_request(dh: Dockerhello, cluster: SwarmCluster) -> None:
    with Load(cluster.nodes[0].address, 8000) as load:
        result = dh("cluster", "drain", "web", "web-2")
        time.sleep(2)
    assert result.exit_code == 0, result.stderr
    assert "web-2 is drained: no task runs there." in result.stderr
    assert load.requests > 200 and dict(load.failures) == {}, load.failures
    wait_for(lambda: app_status(dh)["running"] == 3, 60, "3 replicas again")
    running = [t["machine"] for t in app_status(dh)["tasks"] if t["state"] == "running"]
    assert "web-2" not in running and len(running) == 3
    status = json.loads(dh("cluster", "status", "web", "--json").stdout)
    assert [n["availability"] for n in status["nodes"]] == ["active", "drain", "active"]
    assert dh("cluster", "activate", "web", "web-2").exit_code == 0


def test_scale(dh: Dockerhello) -> None:
    result = dh("scale", "2", "--cluster", "web", "--app", APP)
    assert result.exit_code == 0, result.stderr
    assert "hello runs 2 replicas." in result.stderr
    assert app_status(dh)["replicas"] == 2
    assert dh("scale", "3", "--cluster", "web", "--app", APP).exit_code == 0


def test_a_node_whose_engine_dies_has_its_replicas_started_elsewhere(dh: Dockerhello, cluster: SwarmCluster) -> None:
    cluster.nodes[2].kill()  # box3: as a server that loses power

    def back_to_three() -> bool:
        status = app_status(dh)
        wanted = [t["machine"] for t in status["tasks"] if t["desired"] == "running" and t["state"] == "running"]
        return status["running"] == 3 and "box3" not in wanted

    wait_for(back_to_three, 120, "3 replicas running, none of them on box3")
    assert get(cluster.nodes[0].address) == "Hello, registry!"


def test_down_and_cluster_rm(dh: Dockerhello, world: MachineWorld, cluster: SwarmCluster) -> None:
    down = dh("down", "--cluster", "web", "--app", APP)
    assert down.exit_code == 0, down.stderr
    assert "hello, hello-web" in down.stderr
    assert app_status(dh)["release"] is None
    removed = dh("cluster", "rm", "web", "-y")
    assert removed.exit_code == 0, removed.stderr
    assert "box3 could not leave the Swarm" in removed.stderr  # its engine is down: said, and the rest go on
    for node in cluster.nodes[:2]:
        client = node.client()
        assert client.api.info()["Swarm"]["LocalNodeState"] == "inactive"
        client.close()
    assert dh("cluster", "ls").stdout.splitlines()[1:] == []
    assert {c[1] for c in world.calls("docker-machine")} >= {"create", "env", "ip"}
    assert not any(c[1] == "rm" for c in world.calls("docker-machine"))  # machines stay unless --machines


def test_up_with_nodes_makes_a_cluster_deploys_and_forwards_to_its_first_node(
    dh: Dockerhello, world: MachineWorld, cluster: SwarmCluster, project: Path, base_image: str
) -> None:
    # A fresh start on the same three engines: the machines of before removed, box3's engine
    # back, out of the Swarm it was in when it died (what `docker swarm leave --force` does).
    for machine in ("web-1", "web-2"):
        assert dh("machine", "rm", "-y", machine).exit_code == 0
    assert world.tool("docker-machine", "rm", "-y", "box3").returncode == 0
    cluster.nodes[2].start()
    client = cluster.nodes[2].client()
    client.api.leave_swarm(force=True)
    client.close()
    world.forget_calls()

    result = dh("up", str(project), "--nodes", "3", "--machine", "site", "--app", APP, "--base-image", base_image)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "http://localhost:8000/\n"
    assert "Up on machine site-1." in result.stderr
    assert [c[-1] for c in world.calls("docker-machine") if c[1] == "create"] == ["site-1", "site-2", "site-3"]
    assert ["VBoxManage", "controlvm", "site-1", "natpf1", "tcp-port8000,tcp,127.0.0.1,8000,,8000"] in world.calls(
        "VBoxManage"
    )
    for node in cluster.nodes:  # where the NAT rule leads, and every other node too
        assert get(node.address) == "Hello, Swarm!"
    assert app_status(dh, "site")["running"] == 3
