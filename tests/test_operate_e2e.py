"""Deploys that never take the app down, and operating them, on the real engine."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from click.testing import Result

from provision.owned import image_volume
from provision.services.proxy_layout import slot_addresses
from tests.conftest import REPO, Dockerhello, copy_project, free_port, release_containers, remove_app

pytestmark = pytest.mark.docker


def fetch(port: int, host: str = "127.0.0.1") -> tuple[int, bytes, str | None]:
    """One request on a fresh connection, as a browser's first request is."""
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": f"localhost:{port}"})
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("X-Dockerhello-Release")
    finally:
        conn.close()


def variant(tmp_path: Path, name: str, text: str) -> Path:
    """A copy of this repository's app answering `text`."""
    return copy_project(
        tmp_path / name,
        lambda file, source: source.replace('"Hello, World!"', f'"{text}"') if file == "views.py" else source,
    )


class App:
    def __init__(self, dockerhello: Dockerhello, name: str, base_image: str) -> None:
        self.dockerhello = dockerhello
        self.name = name
        self.base_image = base_image
        self.port = free_port()

    def deploy(self, path: Path, *extra: str) -> Result:
        return self.dockerhello(
            "deploy",
            str(path),
            "--app",
            self.name,
            "--publish",
            str(self.port),
            "--base-image",
            self.base_image,
            *extra,
        )

    def __call__(self, *args: str) -> Result:
        return self.dockerhello(*args, "--app", self.name)


@pytest.fixture
def app(dockerhello: Dockerhello, app_name: str, base_image: str) -> App:
    return App(dockerhello, app_name, base_image)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.stderr
    return result


def test_a_release_that_never_gets_healthy_leaves_the_previous_one_serving(
    app: App, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    ok(app.deploy(variant(tmp_path, "v1", "Hello, World!")))
    _, _, serving = fetch(app.port)
    sick = variant(tmp_path, "sick", "never served")
    views = sick / "helloworld" / "views.py"
    views.write_text(views.read_text().replace('return HttpResponse("ok"', 'return HttpResponse("down", status=503)#'))
    result = app.deploy(sick, "--health-timeout", "20")
    assert result.exit_code == 4
    stderr = result.stderr
    assert (
        "Error: The container is unhealthy: " in stderr or "Error: The container was not healthy after 20 s" in stderr
    )
    assert f"Release {serving} is still serving; the failed container was removed." in stderr
    assert fetch(app.port) == (200, b"Hello, World!", serving)
    assert [c.labels["dockerhello.release"] for c in release_containers(docker_client, app.name)] == [serving]
    states = {r["id"]: r["state"] for r in json.loads(ok(app("releases", "--json")).stdout)}
    assert sorted(states.values()) == ["active", "failed"]


def test_zero_downtime_redeploy_under_steady_requests(app: App, tmp_path: Path) -> None:
    ok(app.deploy(variant(tmp_path, "v1", "Hello, World!")))
    failures: list[str] = []
    bodies: dict[bytes, int] = {}
    stop = threading.Event()

    def client() -> None:
        deadline = time.monotonic() + 180  # bounded, whatever happens to the deploy
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                status, body, _ = fetch(app.port)
                if status != 200:
                    failures.append(f"HTTP {status}")
                bodies[body] = bodies.get(body, 0) + 1
            except OSError as exc:
                failures.append(repr(exc))

    threads = [threading.Thread(target=client) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        ok(app.deploy(variant(tmp_path, "v2", "Hello again, World!")))
        time.sleep(2)  # requests after the old release is gone
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    served = sum(bodies.values())
    print(f"zero-downtime redeploy: {served} requests, {len(failures)} failed, answers {bodies}")
    assert failures == []
    assert bodies.get(b"Hello, World!", 0) > 0 and bodies.get(b"Hello again, World!", 0) > 0
    assert served > 100


def test_a_client_keeping_its_connection_open_sees_no_error_through_switches(app: App, tmp_path: Path) -> None:
    ok(app.deploy(variant(tmp_path, "v1", "Hello, World!")))
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    connection.connect()
    kept = connection.sock
    failures: list[str] = []
    bodies: dict[bytes, int] = {}
    stop = threading.Event()

    def client() -> None:  # strict: a request that fails on the open connection is not retried
        nonlocal kept
        deadline = time.monotonic() + 300
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                connection.request("GET", "/", headers={"Host": "localhost"})
                response = connection.getresponse()
                body = response.read()
                bodies[body] = bodies.get(body, 0) + 1
                if response.will_close:  # nginx's keepalive_requests reached: a close it announced, no error
                    connection.connect()
                    kept = connection.sock
                elif response.status != 200 or connection.sock is not kept:
                    failures.append(f"HTTP {response.status}, connection kept: {connection.sock is kept}")
            except OSError as exc:
                failures.append(repr(exc))
                return

    thread = threading.Thread(target=client)
    thread.start()
    try:
        ok(app.deploy(variant(tmp_path, "v2", "Hello again, World!")))
        ok(app("rollback"))
        time.sleep(1)
    finally:
        stop.set()
        thread.join()
        connection.close()
    assert failures == []
    assert bodies.get(b"Hello, World!", 0) > 0 and bodies.get(b"Hello again, World!", 0) > 0


def test_rollback_with_no_argument_restores_the_previous_text(app: App, tmp_path: Path) -> None:
    ok(app.deploy(variant(tmp_path, "v1", "Hello, World!")))
    ok(app.deploy(variant(tmp_path, "v2", "Hello again, World!")))
    assert fetch(app.port)[1] == b"Hello again, World!"
    result = ok(app("rollback"))
    assert fetch(app.port)[1] == b"Hello, World!"
    assert result.stdout == f"http://localhost:{app.port}/\n"
    releases = json.loads(ok(app("releases", "--json")).stdout)
    assert [(r["state"], r["note"]) for r in releases] == [("active", "rolled back to"), ("healthy", "")]


def test_status_shows_a_restart_after_the_app_is_killed(
    app: App, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    ok(app.deploy(variant(tmp_path, "v1", "Hello, World!")))
    [container] = release_containers(docker_client, app.name)
    # A crash as the kernel makes it: SIGKILL to Gunicorn from the host, not `docker kill`
    # (which Docker counts as a wanted stop).
    os.kill(container.attrs["State"]["Pid"], signal.SIGKILL)
    deadline = time.monotonic() + 60
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        status = json.loads(ok(app("status", "--json")).stdout)
        if status["restarts"] and status["health"] == "healthy":
            break
        time.sleep(1)
    assert status["restarts"] == 1
    assert status["state"] == "running"
    assert fetch(app.port)[:2] == (200, b"Hello, World!")
    table = ok(app("status")).stdout
    assert "Restarts   1" in table


def test_logs_tail(app: App, tmp_path: Path) -> None:
    ok(app.deploy(variant(tmp_path, "v1", "Hello, World!")))
    fetch(app.port)
    logs = ok(app("logs", "--tail", "200")).stdout
    assert "Starting Gunicorn with" in logs and "GET /" not in logs
    deadline = time.monotonic() + 5  # the proxy's access log is flushed every second
    while '"GET / HTTP/1.1" 200 13' not in (access := ok(app("logs", "--access")).stdout):
        assert time.monotonic() < deadline, access
        time.sleep(0.2)
    assert "/healthz" not in access
    # The deploy's own request to the published URL says who it is.
    assert '"GET / HTTP/1.1" 200 13 "-" "dockerhello (deploy check)"' in access


def test_down_keeps_images_and_prune_says_what_it_freed(
    app: App, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    for n in range(3):
        ok(app.deploy(variant(tmp_path, f"v{n}", f"Hello {n}"), "--keep", "5"))
    result = ok(app("prune", "--keep", "1"))
    assert result.stdout.startswith("Freed ")
    tags = sorted(t for i in docker_client.images.list(name=app.name) for t in i.tags)
    releases = json.loads(ok(app("releases", "--json")).stdout)
    # The serving release and the one rollback would go to are kept; the oldest went.
    assert tags == sorted([f"{app.name}:latest", releases[1]["image"], releases[2]["image"]])
    down = ok(app("down"))
    assert f"Removed: {app.name}-{releases[2]['id']}, {app.name}" in down.stderr
    assert release_containers(docker_client, app.name) == []
    assert docker_client.images.list(name=app.name)  # images kept for a later deploy or rollback
    assert "nothing to remove" in ok(app("down")).stderr


@pytest.fixture
def other_app(dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str) -> Iterator[App]:
    """A second app on the same engine, removed after the test as `app` is."""
    name = f"dhtest-{uuid.uuid4().hex[:8]}"
    yield App(dockerhello, name, base_image)
    remove_app(docker_client, name)


def test_down_images_of_one_app_leaves_another_built_from_the_same_source(
    app: App, other_app: App, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    project = variant(tmp_path, "v1", "Hello, World!")
    ok(app.deploy(project))
    ok(other_app.deploy(project))
    [mine] = release_containers(docker_client, app.name)
    [theirs] = release_containers(docker_client, other_app.name)
    assert mine.attrs["Image"] == theirs.attrs["Image"]  # the same build: the engine made one image
    _, _, serving = fetch(other_app.port)
    ok(app("down", "--images"))
    image = docker_client.images.get(theirs.attrs["Image"])
    # Only this app's tags went (an app deployed outside the tests from this source tags it too).
    assert {f"{other_app.name}:{serving}", f"{other_app.name}:latest"} <= set(image.tags)
    assert [tag for tag in image.tags if tag.startswith(f"{app.name}:")] == []
    assert fetch(other_app.port) == (200, b"Hello, World!", serving)
    assert docker_client.images.list(name=app.name) == []


def test_secrets_appear_in_no_layer_config_or_output(
    app: App, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    secret = "s3cr3t-value-4f1d9c"
    env_file = tmp_path / "prod.env"
    env_file.write_text(f"# production secrets\nAPI_TOKEN={secret}\nexport DB_PASSWORD='{secret}-db'\n")
    result = ok(app.deploy(variant(tmp_path, "v1", "Hello, World!"), "--env-file", str(env_file), "--env", "MODE=demo"))
    [container] = release_containers(docker_client, app.name)
    # The app gets them...
    assert container.exec_run(["printenv", "API_TOKEN"]).output == f"{secret}\n".encode()
    assert container.exec_run(["printenv", "DB_PASSWORD"]).output == f"{secret}-db\n".encode()
    # ...and nothing else shows them.
    image = docker_client.images.get(container.attrs["Image"])
    seen = {
        "dockerhello output": result.stdout + result.stderr,
        "docker history": json.dumps(image.history()),
        "docker image inspect": json.dumps(image.attrs),
        "app logs": container.logs().decode(errors="replace"),
        "proxy logs": docker_client.containers.get(app.name).logs().decode(errors="replace"),
        "dockerhello status": ok(app("status", "--json")).stdout,
        "dockerhello releases": ok(app("releases", "--json")).stdout,
    }
    assert [where for where, text in seen.items() if secret in text] == []


def test_container_hardening_by_default_and_switchable(
    app: App, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    project = variant(tmp_path, "v1", "Hello, World!")
    ok(app.deploy(project))
    [container] = release_containers(docker_client, app.name)
    host = container.attrs["HostConfig"]
    assert (host["ReadonlyRootfs"], host["CapDrop"], host["SecurityOpt"]) == (True, ["ALL"], ["no-new-privileges:true"])
    assert (host["Memory"], host["NanoCpus"], host["Tmpfs"]) == (
        512 * 2**20,
        0,  # no CPU limit unless --cpus sets one: Gunicorn gets every CPU, one worker each
        {"/tmp": "rw,nosuid,nodev,size=64m"},
    )
    assert container.attrs["Config"]["User"] == "10001:10001"
    assert container.exec_run(["touch", "/app/x"]).exit_code != 0  # read-only

    ok(
        app.deploy(
            project, "--writable", "--keep-capabilities", "--allow-new-privileges", "--memory", "", "--cpus", "0"
        )
    )
    [container] = release_containers(docker_client, app.name)
    host = container.attrs["HostConfig"]
    assert (host["ReadonlyRootfs"], host["CapDrop"], host["SecurityOpt"], host["Memory"], host["NanoCpus"]) == (
        False, None, None, 0, 0,
    )  # fmt: skip


def test_what_a_release_writes_where_its_image_declares_volume_the_next_release_finds(
    app: App, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    def declaring_volume(name: str, text: str) -> Path:
        project = variant(tmp_path, name, text)
        dockerfile = project / "Dockerfile"
        # /tmp too, as some images declare: the read-only root's tmpfs stays there, with no volume.
        dockerfile.write_text(dockerfile.read_text() + "VOLUME /app/media /tmp\n")
        return project

    def volumes_of(container: Any) -> list[tuple[str, str]]:
        return [(m["Name"], m["Destination"]) for m in container.attrs["Mounts"] if m["Type"] == "volume"]

    volume = image_volume(app.name, "/app/media")
    ok(app.deploy(declaring_volume("v1", "Hello 1")))
    [first] = release_containers(docker_client, app.name)
    assert volumes_of(first) == [(volume, "/app/media")]  # not an anonymous one, which `docker rm` leaves
    assert first.exec_run(["sh", "-c", "echo kept > /app/media/note"], user="0").exit_code == 0
    ok(app.deploy(declaring_volume("v2", "Hello 2")))
    [second] = release_containers(docker_client, app.name)
    assert second.name != first.name and volumes_of(second) == [(volume, "/app/media")]
    assert second.exec_run(["cat", "/app/media/note"]).output == b"kept\n"
    assert second.attrs["HostConfig"]["Tmpfs"] == {"/tmp": "rw,nosuid,nodev,size=64m"}
    assert docker_client.volumes.get(volume).attrs["Labels"]["dockerhello.volume-path"] == "/app/media"
    assert f"\nVolumes    {volume}\n" in ok(app("status")).stdout
    ok(app("down"))
    assert docker_client.volumes.get(volume).name == volume  # data stays unless asked
    asked = app.dockerhello("down", "--volumes", "--app", app.name, stdin="n\n")
    assert asked.exit_code == 1  # told no: nothing removed
    assert (f"Remove the data of {app.name} for good: {volume} (what its releases wrote at a path its image "
            "declares VOLUME)? [y/N]: n") in asked.stderr  # fmt: skip
    assert docker_client.volumes.get(volume).name == volume
    unanswered = app.dockerhello("down", "--volumes", "--app", app.name, stdin="")  # as from a script or CI
    assert unanswered.exit_code == 1
    assert unanswered.stderr.splitlines()[-2:] == [
        f"Error: Not removing the data of {app.name}: asked to confirm, and stdin ended without an answer",
        "Hint: Pass -y/--yes to confirm where no one can answer.",
    ]
    assert docker_client.volumes.get(volume).name == volume
    assert volume in ok(app("down", "--volumes", "--yes")).stderr
    assert not docker_client.volumes.list(filters={"name": volume})


def run_cli(args: list[str], home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "DOCKERHELLO_HOME": str(home)}
    env.pop("DOCKER_HOST", None)
    return subprocess.Popen(
        [sys.executable, "-m", "provision", *args], cwd=REPO, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_concurrent_deploys_do_not_interleave(
    app_name: str, base_image: str, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    port = free_port()
    home = tmp_path / "home"
    project = variant(tmp_path, "v1", "Hello, World!")
    # A build step that lasts makes the first hold the lock while the others come: a deploy of this
    # app alone takes about 2 s, too short to race against by the clock.
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("COPY manage.py", "RUN sleep 10\nCOPY manage.py", 1))
    args = ["deploy", str(project), "--app", app_name, "--publish", str(port), "--base-image", base_image]
    first = run_cli(args, home)
    assert first.stderr is not None
    for line in first.stderr:
        if "RUN sleep 10" in line:  # building, so past the lock
            break
    refused = run_cli([*args, "--no-wait"], home)
    _, refused_err = refused.communicate(timeout=120)
    second = run_cli(args, home)
    outputs = [first.communicate(timeout=300), second.communicate(timeout=300)]
    assert refused.returncode == 1
    assert "Error: Another deploy of this app is running (pid " in refused_err
    assert (first.returncode, second.returncode) == (0, 0), outputs
    assert "Waiting for another deploy of this app to finish (pid " in outputs[1][1]
    assert len(release_containers(docker_client, app_name)) == 1
    assert fetch(port)[:2] == (200, b"Hello, World!")


def test_ctrl_c_during_the_build_leaves_the_previous_release_serving(
    app_name: str, base_image: str, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    port = free_port()
    home = tmp_path / "home"
    good = variant(tmp_path, "v1", "Hello, World!")
    first = run_cli(["deploy", str(good), "--app", app_name, "--publish", str(port), "--base-image", base_image], home)
    assert first.wait(timeout=300) == 0
    slow = variant(tmp_path, "slow", "never built")
    dockerfile = slow / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("COPY manage.py", "RUN sleep 60\nCOPY manage.py", 1))
    second = run_cli(["deploy", str(slow), "--app", app_name, "--publish", str(port), "--base-image", base_image], home)
    assert second.stderr is not None
    for line in second.stderr:
        if "RUN sleep 60" in line:
            break
    time.sleep(1)
    second.send_signal(signal.SIGINT)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 130
    assert "Interrupted." in err
    assert fetch(port)[:2] == (200, b"Hello, World!")
    assert len(release_containers(docker_client, app_name)) == 1


def test_right_after_a_first_deploy_every_request_reaches_the_release(app: App, tmp_path: Path) -> None:
    # The proxy was created a moment ago, and its first switch is already what every request sees.
    result = ok(app.deploy(variant(tmp_path, "v1", "Hello, World!")))
    release = result.stderr.split("is up: release ")[1].split()[0]
    answers = {fetch(app.port) for _ in range(50)}
    assert answers == {(200, b"Hello, World!", release)}


def test_rollback_keeps_the_apps_variables_and_limits(
    app: App, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text("API_TOKEN=t0ken\n")
    settings = ("--env-file", str(env_file), "--env", "MODE=demo", "--memory", "256m", "--writable")
    ok(app.deploy(variant(tmp_path, "v1", "Hello, World!"), *settings))
    ok(app.deploy(variant(tmp_path, "v2", "Hello again, World!"), *settings))
    ok(app("rollback"))
    assert fetch(app.port)[1] == b"Hello, World!"
    [container] = release_containers(docker_client, app.name)
    env = container.attrs["Config"]["Env"]
    assert {"API_TOKEN=t0ken", "MODE=demo"} <= set(env)
    assert sum(e.startswith("SECRET_KEY=") for e in env) == 1
    assert (container.attrs["HostConfig"]["Memory"], container.attrs["HostConfig"]["ReadonlyRootfs"]) == (
        256 * 2**20,
        False,
    )


def test_two_hosts_deploying_to_one_engine_share_its_record_its_lock_and_the_apps_key(
    dockerhello: Dockerhello, app_name: str, base_image: str, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    # A laptop and a CI runner: each its own state directory, one engine.
    laptop = Dockerhello(environ=dockerhello.environ, state_dir=tmp_path / "laptop")
    runner = Dockerhello(environ=dockerhello.environ, state_dir=tmp_path / "runner")
    port = str(free_port())
    common = ("--app", app_name, "--publish", port, "--base-image", base_image)
    ok(laptop("deploy", str(variant(tmp_path, "v1", "Hello, World!")), *common))
    ok(runner("deploy", str(variant(tmp_path, "v2", "Hello again, World!")), *common))
    for host in (laptop, runner):
        listed = json.loads(ok(host("releases", "--app", app_name, "--json")).stdout)
        assert [r["state"] for r in listed] == ["healthy", "active"]
    # The runner's release signs with the key the laptop's made: users stay signed in.
    keys = {(tmp_path / h / "apps" / app_name / "secret_key").read_text() for h in ("laptop", "runner")}
    assert len(keys) == 1
    [container] = release_containers(docker_client, app_name)
    assert f"SECRET_KEY={keys.pop().strip()}" in container.attrs["Config"]["Env"]
    # A deploy the runner holds the lock for stops the laptop's, whatever host it is on.
    labels = {"dockerhello.app": app_name, "dockerhello.role": "lock", "dockerhello.lock.host": "ci-runner-7",
              "dockerhello.lock.pid": "4242", "dockerhello.lock.since": "2099-01-01T00:00:00Z",
              "dockerhello.lock.holder": "pid 4242 on ci-runner-7, since 09:15:00 UTC"}  # fmt: skip
    docker_client.containers.create("dockerhello/records:1", name=f"{app_name}-deploy-lock", labels=labels,
                                    network_mode="none")  # fmt: skip
    held = laptop("deploy", str(variant(tmp_path, "v3", "x")), *common, "--no-wait")
    assert held.exit_code == 1
    assert "Error: Another deploy of this app is running (pid 4242 on ci-runner-7, since 09:15:00 UTC)" in held.stderr
    assert fetch(int(port))[1] == b"Hello again, World!"  # nothing was touched


def test_an_app_of_an_earlier_dockerhello_moves_into_the_slots_at_its_next_deploy(
    app: App, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    first = ok(app.deploy(variant(tmp_path, "v1", "Hello, World!")))
    old_release = first.stderr.split("is up: release ")[1].split()[0]
    # Rebuild what an earlier dockerhello left: a network whose subnet the engine picked, the
    # release on it, and a proxy whose route is a file naming the release (not a link).
    proxy = docker_client.containers.get(app.name)
    proxy_image = proxy.attrs["Config"]["Image"]
    proxy.remove(force=True)
    docker_client.volumes.get(f"{app.name}-route").remove(force=True)
    [release] = release_containers(docker_client, app.name)
    network = docker_client.networks.get(f"dockerhello-{app.name}")
    network.disconnect(release, force=True)
    network.remove()
    docker_client.networks.create(f"dockerhello-{app.name}", driver="bridge", labels={"dockerhello.app": app.name})
    docker_client.networks.get(f"dockerhello-{app.name}").connect(release)
    old_proxy = docker_client.containers.run(
        proxy_image, ["sleep", "infinity"], name=app.name, detach=True,
        labels={"dockerhello.app": app.name, "dockerhello.role": "proxy"},
        ports={"8000/tcp": ("127.0.0.1", app.port)}, network=f"dockerhello-{app.name}",
        volumes={f"{app.name}-route": {"bind": "/var/lib/dockerhello-proxy", "mode": "rw"}},
    )  # fmt: skip
    route = f'set $upstream "http://{release.name}:8000";\nset $release "{old_release}";\n'.encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("route.conf")
        info.size = len(route)
        tar.addfile(info, io.BytesIO(route))
    old_proxy.put_archive("/var/lib/dockerhello-proxy", archive.getvalue())

    second = ok(app.deploy(variant(tmp_path, "v2", "Hello again, World!")))
    assert "was deployed by an earlier dockerhello: replacing its proxy and network once" in second.stderr
    assert fetch(app.port)[:2] == (200, b"Hello again, World!")
    network = docker_client.networks.get(f"dockerhello-{app.name}")
    assert network.attrs["Labels"]["dockerhello.slots"] == "blue,green"
    assert docker_client.containers.get(app.name).labels["dockerhello.slots"] == "blue,green"
    [serving] = release_containers(docker_client, app.name)  # the old one was moved, then retired
    subnet = network.attrs["IPAM"]["Config"][0]["Subnet"]
    address = serving.attrs["NetworkSettings"]["Networks"][f"dockerhello-{app.name}"]["IPAddress"]
    assert address == slot_addresses(subnet)["green"]  # the moved release took blue
    ok(app("rollback"))
    assert fetch(app.port)[:2] == (200, b"Hello, World!")
