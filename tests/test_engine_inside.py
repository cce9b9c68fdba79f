"""What `Engine` does inside containers, on the real engine: the calls the deploy's switch and
route read stand on, whose answers a fake engine would only restate."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from provision.adapters.engine import Engine
from provision.engine import EngineTarget
from provision.errors import DockerHelloError
from tests.conftest import wait_for

pytestmark = pytest.mark.docker


@pytest.fixture
def box(docker_client: docker.DockerClient, base_image: str) -> Iterator[Any]:
    """A running container with a link `/tmp/live -> to/r1.blue` and a plain file beside it."""
    container = docker_client.containers.run(
        base_image, ["sh", "-c", "mkdir -p /tmp/to/r1.blue && ln -s to/r1.blue /tmp/live && touch /tmp/file && "
                     "exec sleep 300"], name=f"dhtest-inside-{uuid.uuid4().hex[:8]}", detach=True,
    )  # fmt: skip
    wait_for(lambda: container.exec_run(["test", "-e", "/tmp/file"]).exit_code == 0, 10, "the box's files", 0.05)
    yield container
    container.remove(force=True)


def test_a_links_target_is_read_without_an_exec(box: Any, docker_client: docker.DockerClient) -> None:
    engine = Engine(docker_client, EngineTarget())
    assert engine.link_target(box.id, "/tmp/live") == "/tmp/to/r1.blue"
    assert engine.link_target(box.id, "/tmp/missing") is None
    assert engine.link_target(box.id, "/tmp/file") is None  # not a link
    assert engine.link_target("dhtest-no-such-container", "/tmp/live") is None


def test_a_held_exec_runs_when_given_its_line_and_ends_unchanged_when_closed(
    box: Any, docker_client: docker.DockerClient
) -> None:
    engine = Engine(docker_client, EngineTarget())
    script = ["sh", "-c", 'read -r line && [ "$line" = go ] && touch /tmp/went']
    assert engine.exec_held(box.id, script).finish("go\n") == (0, "")
    assert box.exec_run(["test", "-e", "/tmp/went"]).exit_code == 0

    box.exec_run(["rm", "/tmp/went"])
    held = engine.exec_held(box.id, script)
    held.close()  # its stdin ends (`held` still referenced: the close does it): `read` fails, nothing is done
    wait_for(lambda: not any("read -r line" in row[-1] for row in box.top()["Processes"]), 5, "the command ended", 0.05)
    assert box.exec_run(["test", "-e", "/tmp/went"]).exit_code == 1
    assert held.raw.fileno() == -1  # closed on this side too


def test_a_held_command_that_does_not_end_fails_the_finish_in_time(
    box: Any, docker_client: docker.DockerClient
) -> None:
    engine = Engine(docker_client, EngineTarget())
    held = engine.exec_held(box.id, ["sh", "-c", "read -r line; exec sleep 30"])
    started = time.monotonic()
    with pytest.raises(DockerHelloError) as raised:
        held.finish("go\n", timeout=0.5)
    assert time.monotonic() - started < 5
    assert raised.value.message == f"The command given its input in container {box.id[:12]} did not end within 0.5 s"
