"""`deploy --pull` and `deploy --no-cache` against the real Docker engine: what the release is
built on, and which steps the build ran, read back from the build output and the release.

The base image's registry is one of the user's own on this engine's loopback (the engine talks
plain HTTP to a registry there, as to any on 127.0.0.0/8): no registry outside is reachable.
"""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from provision.owned import LABEL_PROXY_BASE
from tests.conftest import Dockerhello, copy_project, free_port, release_containers, remove_app, wait_for

pytestmark = pytest.mark.docker

MARK = "/dhtest-base-version"


def served(port: int) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        return bytes(response.read())


@pytest.fixture
def registry(docker_client: docker.DockerClient, registry_image: str, app_name: str) -> Iterator[str]:
    """HOST:PORT of a registry on the engine's loopback, for the duration of one test."""
    port = free_port()
    container = docker_client.containers.run(registry_image, detach=True, name=f"{app_name}-registry",
                                             ports={"5000/tcp": ("127.0.0.1", port)})  # fmt: skip
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/v2/"), 30, "the registry answering", every=0.2)
        yield f"127.0.0.1:{port}"
    finally:
        container.remove(force=True)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def push(client: docker.DockerClient, repository: str, tag: str) -> None:
    for line in client.images.push(repository, tag=tag, stream=True, decode=True):
        assert "error" not in line, line


def test_pull_builds_on_the_registrys_newer_base_not_the_engines_copy(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str, registry: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    repository = f"{registry}/{app_name}/python"
    base = f"{repository}:3"
    # The registry has a newer base than the engine: the same tag, one more layer.
    (tmp_path / "newer").mkdir()
    (tmp_path / "newer" / "Dockerfile").write_text(f"FROM {base_image}\nRUN echo newer > {MARK}\n")
    # Not from the build cache: an image of its own, which no other run's images are children of.
    newer, _ = docker_client.images.build(path=str(tmp_path / "newer"), tag=base, nocache=True, rm=True,
                                          forcerm=True)  # fmt: skip
    try:
        push(docker_client, repository, "3")
        docker_client.images.get(base_image).tag(repository, "3")  # the engine's copy: the older one
        project = copy_project(tmp_path / "project")
        port = free_port()

        result = dockerhello("deploy", str(project), "--app", app_name, "--publish", str(port), "--base-image", base,
                             "--pull")  # fmt: skip

        assert result.exit_code == 0, result.stderr
        assert f"==> Building {app_name}:" in result.stderr
        assert f"from {project} (its base image pulled anew)" in result.stderr
        # The pull shows, as `docker build --pull` shows it without a terminal.
        assert f"3: Pulling from {app_name}/python" in result.stderr.splitlines()
        assert f"Status: Downloaded newer image for {base}" in result.stderr.splitlines()
        assert served(port) == b"Hello, World!"
        (release,) = release_containers(docker_client, app_name)
        code, output = release.exec_run(["cat", MARK])
        assert (code, output) == (0, b"newer\n")
        assert docker_client.images.get(base).id == newer.id  # the engine's copy is the registry's now
    finally:
        # The app's images are children of the newer base, and so is the proxy's, built on it.
        remove_app(docker_client, app_name)
        for image in docker_client.images.list(filters={"label": f"{LABEL_PROXY_BASE}={base}"}):
            docker_client.images.remove(image.id or "", force=True)
        for reference in (base, newer.id or ""):  # removing the tag takes the newer base with it, once pulled
            with contextlib.suppress(docker.errors.ImageNotFound):
                docker_client.images.remove(reference, force=True)


def test_pull_of_a_base_in_no_registry_says_to_deploy_without_it(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str, tmp_path: Path
) -> None:
    # A base `dockerhello base build` made is on the engine and in no registry.
    result = dockerhello("deploy", str(copy_project(tmp_path / "project")), "--app", app_name, "--publish",
                         str(free_port()), "--base-image", base_image, "--pull")  # fmt: skip
    assert result.exit_code == 4
    error, hint = result.stderr.splitlines()[-2:]
    assert error.startswith(f"Error: Cannot pull the base image {base_image}: ")
    assert hint == (
        "Hint: --pull asks the base image's registry for a newer version, and this engine could not get it there "
        "(a base that `dockerhello base build` made is in no registry). Deploy without --pull to build on the "
        "engine's copy."
    )
    assert "building on" not in result.stderr  # no other base was tried
    assert release_containers(docker_client, app_name) == []
    assert docker_client.images.get(base_image)  # the engine's copy is still there


def test_no_cache_runs_every_step_again(
    dockerhello: Dockerhello, docker_client: docker.DockerClient, base_image: str, app_name: str, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")
    port = free_port()
    deploy = ("deploy", str(project), "--app", app_name, "--publish", str(port), "--base-image", base_image)
    assert dockerhello(*deploy).exit_code == 0  # the build cache now holds every step

    result = dockerhello(*deploy, "--no-cache")

    assert result.exit_code == 0, result.stderr
    assert f"from {project} (no cached step)" in result.stderr
    assert "Using cache" not in result.stderr
    assert "Successfully installed" in result.stderr  # the dependencies were installed again
    assert served(port) == b"Hello, World!"
    assert len(release_containers(docker_client, app_name)) == 1
