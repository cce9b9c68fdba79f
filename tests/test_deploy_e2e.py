"""`dockerhello deploy` against the real Docker engine, read back as a user would: over HTTP.

Every test publishes on a free port: port 8000 may be in use on the machine running them.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import docker
import pytest

from provision.owned import ROUTE_DIR
from provision.services.drain import DRAINED, STILL_CONNECTED, connected_until
from tests.conftest import REPO, Dockerhello, app_containers, copy_project, free_port, release_containers, wait_for

pytestmark = pytest.mark.docker


def get(port: int, path: str = "/") -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.status, response.read()


def test_deploys_this_repository_and_serves_hello_world(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str
) -> None:
    port = free_port()
    result = dockerhello(
        "deploy", str(REPO), "--app", app_name, "--publish", f"127.0.0.1:{port}", "--base-image", base_image
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"http://localhost:{port}/\n"
    assert "Step 1/" in result.stderr  # the build was shown as it went
    assert get(port) == (200, b"Hello, World!")

    # The app's name is its front door, the proxy; the release runs behind it.
    proxy = docker_client.containers.get(app_name)
    # It listens on the published address itself, on the host's network: no userland proxy.
    assert (proxy.attrs["HostConfig"]["NetworkMode"], proxy.attrs["HostConfig"]["PortBindings"]) == ("host", None)
    assert proxy.labels["dockerhello.publish"] == f"127.0.0.1:{port}"
    assert proxy.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    # One nginx worker per 4 of the engine's CPUs, at least one: the rest are Gunicorn's.
    nginx_workers = max(1, (os.cpu_count() or 1) // 4)
    top = proxy.top(ps_args="-o pid,args")["Processes"]
    assert sum("nginx: worker process" in row[-1] for row in top) == nginx_workers, top
    [container] = release_containers(docker_client, app_name)
    # The deploy ran the image's health check itself; Docker's own verdict follows within an interval (5 s).
    deadline = time.monotonic() + 15
    while container.attrs["State"]["Health"]["Status"] != "healthy" and time.monotonic() < deadline:
        time.sleep(0.5)
        container.reload()
    assert container.attrs["State"]["Health"]["Status"] == "healthy"
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert not container.attrs["HostConfig"]["PortBindings"]  # reachable only through the proxy
    assert container.attrs["Config"]["User"] == "10001:10001"
    # Gunicorn is PID 1: one threaded worker per CPU, no CPU quota by default.
    assert container.attrs["HostConfig"]["NanoCpus"] == 0
    code, cmdline = container.exec_run(["cat", "/proc/1/cmdline"])
    assert code == 0 and isinstance(cmdline, bytes)
    assert cmdline.split(b"\0")[1:3] == [b"/opt/venv/bin/gunicorn", b"helloworld.wsgi:application"]
    workers = len(os.sched_getaffinity(0))
    logs = container.logs().decode()
    assert f"Starting Gunicorn with {workers} workers of 4 threads" in logs
    assert logs.count("Booting worker with pid") == workers
    assert "Using worker: gthread" in logs
    # One access log, the proxy's, buffered for up to 1 s; the health checks are not in it.
    deadline = time.monotonic() + 5
    while '"GET / HTTP/1.1" 200 13' not in proxy.logs().decode() and time.monotonic() < deadline:
        time.sleep(0.2)
    access = proxy.logs(stderr=False).decode()
    assert '"GET / HTTP/1.1" 200 13' in access and "/healthz" not in access
    assert "GET /" not in logs

    # The secret is given to the container, not baked into the image.
    image = docker_client.images.get(container.attrs["Image"])
    assert f"{app_name}:latest" in image.tags
    # The image is the Dockerfile's, step for step: no step of dockerhello's after the code's,
    # which the classic builder would spend a committed container on in every deploy.
    steps = [line for line in result.stderr.splitlines() if re.match(r"Step \d+/\d+ : ", line)]
    assert steps[-1].split(" : ", 1)[1] == "COPY helloworld ./helloworld", steps[-1]
    assert not [k for k in image.labels or {} if k.startswith("dockerhello.")]
    secret = (dockerhello.state_dir / "apps" / app_name / "secret_key").read_text().strip()
    assert f"SECRET_KEY={secret}" in container.attrs["Config"]["Env"]
    assert not any(e.startswith("SECRET_KEY") for e in image.attrs["Config"]["Env"] or [])
    history = " ".join(str(layer.get("CreatedBy", "")) for layer in image.history())
    assert secret not in history

    # `check --deploy` against the container's own settings: no errors.
    code, output = container.exec_run(["python", "manage.py", "check", "--deploy", "--fail-level", "ERROR"])
    assert code == 0, output


def test_redeploy_after_a_code_change_serves_the_new_text_and_leaves_one_container(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")
    port = free_port()
    first = dockerhello("deploy", str(project), "--app", app_name, "--publish", str(port), "--base-image", base_image)
    assert first.exit_code == 0, first.stderr
    assert get(port) == (200, b"Hello, World!")
    secret = (dockerhello.state_dir / "apps" / app_name / "secret_key").read_text()

    views = project / "helloworld" / "views.py"
    views.write_text(views.read_text().replace('"Hello, World!"', '"Hello again, World!"'))
    result = dockerhello("deploy", str(project), "--app", app_name, "--publish", str(port), "--base-image", base_image)
    assert result.exit_code == 0, result.stderr
    # Only the code layer was rebuilt: the dependency layer came from the cache.
    assert " ---> Using cache" in result.stderr.split("COPY requirements.txt")[1].split("COPY manage.py")[0]
    assert get(port) == (200, b"Hello again, World!")
    # One release container is left, behind the proxy.
    assert len(release_containers(docker_client, app_name)) == 1
    assert len(app_containers(docker_client, app_name)) == 2
    # The same SECRET_KEY across deploys: it is made once per app.
    assert (dockerhello.state_dir / "apps" / app_name / "secret_key").read_text() == secret


def test_a_release_watched_for_its_drain_sees_the_proxy_connected_until_nginx_lets_go(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str
) -> None:
    """The watch a retiring release runs (`provision.services.drain`), in a real hardened release:
    it sees nginx's kept-alive connection while a client uses it, and none 1 s after its last
    request, when nginx closes it."""
    port = free_port()
    result = dockerhello("deploy", str(REPO), "--app", app_name, "--publish", str(port), "--base-image", base_image)
    assert result.exit_code == 0, result.stderr
    [release] = release_containers(docker_client, app_name)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        stop = threading.Event()

        def keep_asking() -> None:
            while not stop.wait(0.1):
                client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                client.recv(65536)

        asking = threading.Thread(target=keep_asking)
        asking.start()
        try:
            time.sleep(0.3)
            code, _ = release.exec_run(connected_until(0.6))
        finally:
            stop.set()
            asking.join()
        assert code == STILL_CONNECTED
        started = time.monotonic()
        code, _ = release.exec_run(connected_until(5.0))
        # nginx lets go of an upstream connection idle for 1 s, while the client's stays open.
        assert (code, time.monotonic() - started < 3) == (DRAINED, True)


def ask(port: int, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """GET / with exactly these headers besides Host, redirects not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/", headers={"Host": f"localhost:{port}", **headers})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_https_on_behind_a_tls_terminator_deploys_serves_it_and_redirects_plain_http(
    dockerhello: Dockerhello, base_image: str, app_name: str
) -> None:
    """HTTPS=on: TLS ends in front of the proxy, which says so in X-Forwarded-Proto. The proxy
    passes that on (it used to overwrite it with its own http, and Django redirected every
    request to https without end), and the health gate asks as such a front does (it was
    redirected, and the deploy failed after the health timeout)."""
    port = free_port()
    result = dockerhello("deploy", str(REPO), "--app", app_name, "--publish", f"127.0.0.1:{port}",
                         "--base-image", base_image, "--env", "HTTPS=on", "--health-timeout", "30")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    status, headers, body = ask(port, {"X-Forwarded-Proto": "https"})
    assert (status, body) == (200, b"Hello, World!")
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    status, headers, _ = ask(port, {})  # plain HTTP straight to the proxy
    assert (status, headers["Location"]) == (301, f"https://localhost:{port}/")


def crashing_project(path: Path, base_image: str) -> Path:
    path.mkdir()
    (path / "Dockerfile").write_text(
        f'FROM {base_image}\nCMD ["sh", "-c", "echo starting; echo boom: DATABASE_URL is not set >&2; exit 3"]\n'
    )
    return path


def test_an_app_that_exits_at_start_fails_with_its_log_and_leaves_no_container(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str, tmp_path: Path
) -> None:
    project = crashing_project(tmp_path / "crash", base_image)
    result = dockerhello("deploy", str(project), "--app", app_name, "--publish", str(free_port()))
    assert result.exit_code == 4, result.stderr
    assert result.stdout == ""
    errors = result.stderr[result.stderr.index("Error: ") :].splitlines()
    assert errors[0] == "Error: The container exited at start (exit code 3)"
    assert "  | starting" in errors
    assert "  | boom: DATABASE_URL is not set" in errors
    assert errors[-1] == "Hint: Its last log lines are below; fix the cause and deploy again."
    assert app_containers(docker_client, app_name) == []  # the proxy of this first deploy is gone too
    assert docker_client.networks.list(names=[f"dockerhello-{app_name}"]) == []


def test_a_command_that_cannot_run_says_why_and_what_to_do(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str, tmp_path: Path
) -> None:
    """The classic two: a start script checked out on Windows (CRLF: the kernel looks for an
    interpreter named `sh\\r`), and a CMD the image does not have."""
    project = tmp_path / "crlf"
    project.mkdir()
    (project / "Dockerfile").write_text(f'FROM {base_image}\nWORKDIR /app\nCOPY start.sh .\nCMD ["./start.sh"]\n')
    (project / "start.sh").write_bytes(b"#!/bin/sh\r\nexec python3 -m http.server 8000\r\n")
    (project / "start.sh").chmod(0o755)
    result = dockerhello("deploy", str(project), "--app", app_name, "--publish", str(free_port()))
    assert result.exit_code == 4, result.stderr
    errors = result.stderr[result.stderr.index("Error: ") :].splitlines()
    assert re.fullmatch(r"Error: The container exited at start \(exit code \d+\)", errors[0]), errors
    assert "  | exec ./start.sh: no such file or directory" in errors
    assert errors[-1] == (
        "Hint: ./start.sh is in the image, but the interpreter its first line (#!) names is not, or the file has "
        "Windows line endings (CRLF): `sed -i 's/\\r$//' ./start.sh` fixes the second (and `* text eol=lf` in "
        ".gitattributes keeps it fixed); then deploy again."
    )
    (project / "Dockerfile").write_text(f'FROM {base_image}\nCMD ["gunicorn"]\n')
    result = dockerhello("deploy", str(project), "--app", app_name, "--publish", str(free_port()))
    assert result.exit_code == 4, result.stderr
    errors = result.stderr[result.stderr.index("Error: ") :].splitlines()
    assert errors[0] == (
        'Error: The container did not start: The command "gunicorn" is not in the image: executable file not '
        "found in $PATH"
    )
    assert errors[-1].startswith("Hint: Name a program the image has, or its full path")
    assert app_containers(docker_client, app_name) == []


def test_an_app_bound_where_the_proxy_cannot_reach_it_fails_at_once_and_says_where(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str, tmp_path: Path
) -> None:
    """Not after the 120 s health timeout with a hint to raise it: the app is up, and would
    never answer. Gunicorn's own default bind is 127.0.0.1:8000."""
    project = copy_project(tmp_path / "loopback")
    start = project / "start.sh"
    start.write_text(start.read_text().replace("--bind 0.0.0.0:8000", "--bind 127.0.0.1:8000"))
    errors = failed_at_once(dockerhello, str(project), "--app", app_name, "--publish", str(free_port()),
                            "--base-image", base_image)  # fmt: skip
    assert errors[0] == (
        "Error: The app listens on 127.0.0.1:8000 inside its container, where only the container itself can reach it"
    )
    assert any("Listening at: http://127.0.0.1:8000" in line for line in errors)  # its log, below
    assert errors[-1].startswith("Hint: Bind it to all of the container's addresses: Gunicorn's `--bind 0.0.0.0:8000`")
    assert app_containers(docker_client, app_name) == []

    # Healthy by its own check, on another port: the same, at once.
    other = tmp_path / "other-port"
    other.mkdir()
    (other / "Dockerfile").write_text(
        f"FROM {base_image}\n"
        'HEALTHCHECK --interval=1s CMD ["python3", "-c", "import socket; socket.create_connection((\'127.0.0.1\', '
        '5000), 1)"]\n'
        'CMD ["python3", "-m", "http.server", "5000"]\n'
    )
    result = dockerhello("deploy", str(other), "--app", app_name, "--publish", str(free_port()))
    assert result.exit_code == 4, result.stderr
    errors = result.stderr[result.stderr.index("Error: ") :].splitlines()
    assert errors[0] == (
        "Error: The app is healthy by its own check but listens on port 5000, not 8000, where the proxy sends requests"
    )
    assert errors[-1] == "Hint: Make it listen on 0.0.0.0:8000 (Gunicorn: `--bind 0.0.0.0:8000`)."
    assert app_containers(docker_client, app_name) == []


def failed_at_once(dockerhello: Dockerhello, *deploy: str) -> list[str]:
    """`dockerhello deploy ...` that fails as a deploy (exit 4) well before the 120 s health
    timeout; its lines from the first `Error:` on."""
    started = time.monotonic()
    result = dockerhello("deploy", *deploy)
    assert result.exit_code == 4, result.stderr
    assert time.monotonic() - started < 60
    return result.stderr[result.stderr.index("Error: ") :].splitlines()


def test_an_app_whose_allowed_hosts_leave_out_localhost_fails_at_once_and_says_so(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str
) -> None:
    """Django answers 400 to the health gate's Host: localhost, and would to every try."""
    errors = failed_at_once(dockerhello, str(REPO), "--app", app_name, "--publish", str(free_port()),
                            "--base-image", base_image, "--env", "ALLOWED_HOSTS=example.com")  # fmt: skip
    assert errors[0] == (
        "Error: The app refuses the Host header the health gate sends (localhost): Django's ALLOWED_HOSTS does not "
        "allow it"
    )
    assert any("Invalid HTTP_HOST header: 'localhost'" in line for line in errors)  # its log, below
    assert errors[-1].endswith("e.g. `--env ALLOWED_HOSTS=localhost,example.com`.")
    assert app_containers(docker_client, app_name) == []


def test_a_release_killed_for_memory_fails_at_once_with_the_limit_to_raise(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str
) -> None:
    """At 30 MB the kernel kills Gunicorn's workers as they load Django, or its master with
    them; either way the release would never serve, and the deploy says why at once."""
    errors = failed_at_once(dockerhello, str(REPO), "--app", app_name, "--publish", str(free_port()),
                            "--base-image", base_image, "--memory", "30m")  # fmt: skip
    assert re.fullmatch(
        r"Error: (The container ran out of memory at start: the kernel killed it at its limit of 30 MB"
        r"|Gunicorn's workers are killed as they boot \(\d+ times in its last log lines\), most likely by the kernel "
        r"at the container's memory limit of 30 MB)",
        errors[0],
    ), errors[0]
    assert errors[-1] == (
        "Hint: Raise --memory (memory in dockerhello.toml), or run fewer Gunicorn workers, each of which loads the "
        "whole app: `--env WEB_CONCURRENCY=1`."
    )
    assert app_containers(docker_client, app_name) == []


def test_a_project_without_dockerignore_is_warned_what_it_sends_and_copies(
    dockerhello: Dockerhello, base_image: str, app_name: str, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "no-ignore")
    (project / ".dockerignore").unlink()
    (project / ".env").write_text("SECRET_KEY=do-not-ship-me\n")
    (project / ".git").mkdir()
    deploy = ("deploy", str(project), "--app", app_name, "--publish", str(free_port()), "--base-image", base_image)
    result = dockerhello(*deploy)
    assert result.exit_code == 0, result.stderr
    assert (
        f"Warning: {project} has no .dockerignore: .env, .git go to the engine with every build, and into the image "
        "wherever the Dockerfile copies the whole directory (a secret in .env with them). List them in a "
        ".dockerignore (the one `dockerhello init` writes leaves out each)."
    ) in result.stderr.splitlines()
    (project / ".dockerignore").write_text(".env\n.git\n")
    again = dockerhello(*deploy)
    assert again.exit_code == 0, again.stderr
    assert "no .dockerignore" not in again.stderr


def test_a_module_the_image_lacks_is_named(dockerhello: Dockerhello, base_image: str, app_name: str,
                                           tmp_path: Path) -> None:  # fmt: skip
    """A WSGI module misnamed in start.sh, as a project renamed after its Dockerfile was written."""
    project = copy_project(tmp_path / "renamed")
    start = project / "start.sh"
    start.write_text(start.read_text().replace("helloworld.wsgi:application", "mysite.wsgi:application"))
    result = dockerhello("deploy", str(project), "--app", app_name, "--publish", str(free_port()),
                         "--base-image", base_image)  # fmt: skip
    assert result.exit_code == 4, result.stderr
    errors = result.stderr[result.stderr.index("Error: ") :].splitlines()
    assert errors[0].startswith("Error: The container exited at start")
    assert errors[-1].startswith("Hint: The app imports mysite, which is not in the image: add the package")
    assert errors[-1].endswith("check the WSGI module Gunicorn is given (PROJECT.wsgi:application).")


def test_an_app_that_writes_to_its_read_only_root_filesystem_is_told_where_to_write(
    dockerhello: Dockerhello, base_image: str, app_name: str, tmp_path: Path
) -> None:
    project = tmp_path / "writes"
    project.mkdir()
    (project / "Dockerfile").write_text(f'FROM {base_image}\nCMD ["python3", "-c", "open(\'/state.json\', \'w\')"]\n')
    result = dockerhello("deploy", str(project), "--app", app_name, "--publish", str(free_port()))
    assert result.exit_code == 4, result.stderr
    errors = result.stderr[result.stderr.index("Error: ") :].splitlines()
    assert "  | OSError: [Errno 30] Read-only file system: '/state.json'" in errors
    assert errors[-1].startswith("Hint: The release's root filesystem is read-only (dockerhello's default): write to")
    assert errors[-1].endswith("or deploy with `--writable`.")


def live_route(client: docker.DockerClient, app: str) -> str:
    """Where the app's proxy routes: its `live` link, `to/RELEASE.SLOT`."""
    code, output = client.containers.get(app).exec_run(["readlink", f"{ROUTE_DIR}/live"])
    assert code == 0 and isinstance(output, bytes), output
    return output.decode().strip()


def test_a_failed_deploy_leaves_the_previous_release_serving(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str, tmp_path: Path
) -> None:
    port = free_port()
    good = copy_project(tmp_path / "good")
    result = dockerhello("deploy", str(good), "--app", app_name, "--publish", str(port), "--base-image", base_image)
    assert result.exit_code == 0, result.stderr
    [serving] = release_containers(docker_client, app_name)
    route = live_route(docker_client, app_name)
    assert route.startswith(f"to/{serving.labels['dockerhello.release']}.")
    bad = crashing_project(tmp_path / "bad", base_image)
    result = dockerhello("deploy", str(bad), "--app", app_name, "--publish", str(port))
    assert result.exit_code == 4
    assert get(port) == (200, b"Hello, World!")
    # Untouched: the same container, never stopped.
    [still] = release_containers(docker_client, app_name)
    assert (still.id, still.attrs["State"]["StartedAt"]) == (serving.id, serving.attrs["State"]["StartedAt"])
    # The switch started in the proxy beside the failed release got no target: it ended, and
    # only nginx runs there; the route is the one before.
    proxy = docker_client.containers.get(app_name)
    wait_for(lambda: all("nginx" in row[-1] for row in proxy.top()["Processes"]), 5, "only nginx in the proxy", 0.1)
    assert live_route(docker_client, app_name) == route


def test_a_container_that_never_gets_healthy_fails_with_the_health_output(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str, tmp_path: Path
) -> None:
    project = tmp_path / "sick"
    project.mkdir()
    (project / "Dockerfile").write_text(
        f"FROM {base_image}\n"
        'HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD ["sh", "-c", "echo database unreachable; exit 1"]\n'
        'CMD ["sleep", "600"]\n'
    )
    result = dockerhello("deploy", str(project), "--app", app_name, "--publish", str(free_port()))
    assert result.exit_code == 4
    assert "Error: The container is unhealthy: database unreachable" in result.stderr
    assert app_containers(docker_client, app_name) == []


def health_gated_project(directory: Path, base_image: str, image_tail: str) -> Path:
    """An app whose HEALTHCHECK passes only once /tmp/up exists (3 s after start), and whose
    Docker interval (60 s) is longer than the deploy may wait: only dockerhello's own runs
    of the check can let it through."""
    directory.mkdir()
    (directory / "Dockerfile").write_text(
        f"FROM {base_image}\n"
        "HEALTHCHECK --interval=60s --timeout=2s --start-period=60s "
        'CMD ["python3", "-c", "import os, sys; sys.exit(not os.path.exists(\'/tmp/up\'))"]\n'
        'CMD ["python3", "-c", "import http.server as h, threading, time, pathlib; '
        "threading.Timer(3, pathlib.Path('/tmp/up').touch).start(); "
        "h.ThreadingHTTPServer(('', 8000), h.SimpleHTTPRequestHandler).serve_forever()\"]\n" + image_tail
    )
    return directory


@pytest.mark.parametrize(
    "image_tail",
    ["", "RUN rm /usr/bin/sh /bin/sh 2>/dev/null; true\n"],
    ids=["with-a-shell", "without-bin-sh"],
)
def test_the_switch_waits_for_the_image_health_check_to_pass(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str, tmp_path: Path,
    image_tail: str,
) -> None:  # fmt: skip
    project = health_gated_project(tmp_path / "slow", base_image, image_tail)
    port = free_port()
    result = dockerhello("deploy", str(project), "--app", app_name, "--publish", f"127.0.0.1:{port}",
                         "--health-timeout", "30")  # fmt: skip
    returned = time.time()
    assert result.exit_code == 0, result.stderr
    assert get(port)[0] == 200
    [container] = release_containers(docker_client, app_name)
    # GET / answered at once; the check passed 3 s after the start, and the switch (which a
    # first deploy returns right after) came after that.
    started = datetime.fromisoformat(container.attrs["State"]["StartedAt"][:26] + "+00:00").timestamp()
    assert 3 <= returned - started < 20
    assert container.attrs["State"]["Health"]["Status"] == "starting"  # Docker has not run it yet
    # What `status` says of it: not only Docker's word, which would read as not yet checked.
    status = dockerhello("status", "--app", app_name)
    assert status.exit_code == 0, status.stderr
    health = "starting: Docker has not run its check yet; the deploy's passed before the switch"
    assert f"\nHealth     {health}\n" in status.stdout
    as_json = json.loads(dockerhello("status", "--app", app_name, "--json").stdout)
    assert (as_json["health"], as_json["serving"]) == ("starting", True)
    if image_tail:  # the image really has no shell: the check ran without one, once a try
        assert container.exec_run(["/bin/sh", "-c", "true"]).exit_code == 126


def test_a_build_error_shows_the_failing_step_and_runs_nothing(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str, tmp_path: Path
) -> None:
    project = tmp_path / "broken"
    project.mkdir()
    (project / "Dockerfile").write_text(f"FROM {base_image}\nRUN echo compiling && exit 7\n")
    result = dockerhello("deploy", str(project), "--app", app_name, "--publish", str(free_port()))
    assert result.exit_code == 4
    assert (
        "Error: The image did not build: The command '/bin/sh -c echo compiling && exit 7' returned a non-zero code: 7"
        in result.stderr
    )
    assert "  | compiling" in result.stderr
    assert app_containers(docker_client, app_name) == []


def test_a_missing_base_image_names_the_way_out(dockerhello: Dockerhello, app_name: str, docker_client: object) -> None:
    result = dockerhello(
        "deploy", str(REPO), "--app", app_name, "--publish", str(free_port()), "--base-image", "dhtest/does-not-exist:1"
    )
    assert result.exit_code == 4
    assert result.stderr.splitlines()[-2:] == [
        "Error: Base image dhtest/does-not-exist:1 is not on the Docker engine at unix:///var/run/docker.sock",
        "Hint: Build one without a registry with `dockerhello base build`, or name an image that `docker images` lists.",
    ]


def test_where_the_default_base_cannot_be_pulled_a_base_build_image_is_used_and_said(
    dockerhello: Dockerhello, app_name: str, docker_client: docker.DockerClient, base_image: str
) -> None:
    # The tutorial reader's next command after the README's first: a plain deploy.
    try:
        docker_client.images.get("python:3.12-slim")
        pytest.skip("python:3.12-slim is present on this engine, so nothing needs pulling")
    except docker.errors.ImageNotFound:
        pass
    port = free_port()
    result = dockerhello("deploy", str(REPO), "--app", app_name, "--publish", str(port))
    assert result.exit_code == 0, result.stderr
    assert (
        "Warning: the Dockerfile's base image cannot be pulled: building on dockerhello/python:trixie, which "
        "`dockerhello base build` made (--base-image or DOCKERHELLO_BASE_IMAGE chooses another)"
    ) in result.stderr.splitlines()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        assert response.read() == b"Hello, World!"


def test_a_base_that_cannot_be_pulled_and_is_not_an_argument_names_base_build(
    dockerhello: Dockerhello, app_name: str, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text('FROM registry.invalid/python:3\nCMD ["true"]\n')
    result = dockerhello("deploy", str(tmp_path), "--app", app_name, "--publish", str(free_port()))
    assert result.exit_code == 4
    error, hint = result.stderr.splitlines()[-2:]
    assert error.startswith("Error: Cannot pull the base image registry.invalid/python:3: ")
    assert hint.startswith(
        "Hint: No registry is reachable from this engine. Build a base image from Debian packages "
        "with `dockerhello base build`"
    )
    assert "Warning: the Dockerfile's base image cannot be pulled" not in result.stderr


def test_a_taken_port_is_found_before_anything_is_built(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str, tmp_path: Path
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        project = copy_project(tmp_path / "p")
        result = dockerhello(
            "deploy", str(project), "--app", app_name, "--publish", str(port), "--base-image", base_image
        )
    assert result.exit_code == 4
    assert result.stderr.splitlines()[-2:] == [
        f"Error: Port 127.0.0.1:{port} is already in use on this host",
        "Hint: Stop what listens there (`ss -ltnp 'sport = :PORT'` shows it), or publish elsewhere with --publish, "
        "e.g. --publish 127.0.0.1:8001.",
    ]
    assert "Step 1/" not in result.stderr
    assert app_containers(docker_client, app_name) == []


@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        (("--cpus", "64"), "Error: --cpus 64 is more than the {ncpu} CPUs of the Docker engine at "
         "unix:///var/run/docker.sock", "Hint: Give at most --cpus {ncpu}, or --cpus 0 for no limit."),
        (("--memory", "512g"), None, 'Hint: Give less, or --memory "" for no limit.'),
    ],
)  # fmt: skip
def test_limits_the_engine_cannot_give_are_refused_before_the_build(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, app_name: str, tmp_path: Path,
    args: tuple[str, ...], error: str | None, hint: str,
) -> None:  # fmt: skip
    ncpu = docker_client.info()["NCPU"]
    project = copy_project(tmp_path / "p")
    result = dockerhello("deploy", str(project), "--app", app_name, "--publish", str(free_port()), *args)
    assert result.exit_code == 4
    last = result.stderr.splitlines()[-2:]
    if error is not None:
        assert last[0] == error.format(ncpu=ncpu)
    else:
        assert last[0].startswith("Error: --memory 524288 MB is more than the ")
    assert last[1] == hint.format(ncpu=ncpu)
    assert "Step 1/" not in result.stderr
    assert app_containers(docker_client, app_name) == []
