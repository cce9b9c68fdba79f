"""A deploy that fails, at each step and in its cleanup, on the fake engine: the serving release
keeps serving, the route stays or is given back, nothing is left half made, and the error the
user sees is the release's own."""

from __future__ import annotations

import pytest

from provision.adapters.engine_model import BuildEvent
from provision.errors import BuildFailed, DeployFailed, DockerHelloError, ExitCode
from provision.services.proxy import Proxy
from provision.services.releases import Release, ReleaseState, ReleaseStore
from tests.unit.deploy_world import APP, World
from tests.unit.fake_engine import Behaviour, FakeEngine


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (Behaviour(exit_code=3), "The container exited at start (exit code 3)"),
        (Behaviour(health="unhealthy"), "The container is unhealthy: curl: (7) Failed to connect"),
        (Behaviour(health="starting", answers=503), "The container was not healthy after 20 s (health: starting; "
                                                    "GET / answered: 503)"),
        (Behaviour(health="starting"), "The container was not healthy after 20 s (health: starting; GET / "
                                       "answered: 200)"),  # its HEALTHCHECK never passed
        (Behaviour(health=None, answers=500), "The container was not healthy after 20 s (health: no HEALTHCHECK; "
                                              "GET / answered: 500)"),
        (Behaviour(health=None, answers=None, listening="0100007F:1F40\n"),
         "The app listens on 127.0.0.1:8000 inside its container, where only the container itself can reach it"),
        (Behaviour(answers=None, listening="0B00007F:89E7\n00000000:1388\n"),  # healthy by its own check
         "The app is healthy by its own check but listens on port 5000, not 8000, where the proxy sends requests"),
    ],
)  # fmt: skip
def test_a_release_that_fails_leaves_the_previous_one_serving(world: World, behaviour: Behaviour, message: str) -> None:
    serving = world.deploy()
    world.engine.behaviour = behaviour
    with pytest.raises(DeployFailed) as raised:
        world.deploy(health_timeout=20)
    assert raised.value.message == message
    assert raised.value.exit_code is ExitCode.DEPLOY_FAILED
    assert raised.value.details == ("Starting Gunicorn with 5 workers",)
    assert world.releases() == [f"{APP}-{serving}"]
    assert world.routed() == serving
    # The switch started beside the release was closed unsent: the route never moved.
    assert world.engine.switches == 2 and [held.closed for held in world.engine.held] == [True, True, True]
    assert sorted(world.records().values()) == [ReleaseState.ACTIVE, ReleaseState.FAILED]
    assert f"Release {serving} is still serving; the failed container was removed." in world.err.getvalue()


@pytest.mark.parametrize(
    ("listening", "hint"),
    [
        ("0B00007F:89E7\n00000000:1388\n", "The app listens on port 5000, not 8000, where the proxy sends requests: "
                                           "make it listen on 0.0.0.0:8000 (Gunicorn: `--bind 0.0.0.0:8000`)."),
        ("0B00007F:89E7\n", "Raise --health-timeout if the app is slow to start; its last log lines are below."),
    ],
)  # fmt: skip
def test_a_release_that_never_answers_is_told_where_it_listens_when_the_time_is_up(
    world: World, listening: str, hint: str
) -> None:
    """Not healthy by its own check yet, so a port of its own may come up first: only the
    timeout's hint says where it listens (never the embedded DNS's port on 127.0.0.11)."""
    world.deploy()
    world.engine.behaviour = Behaviour(health="starting", answers=None, listening=listening)
    with pytest.raises(DeployFailed) as raised:
        world.deploy(health_timeout=20)
    assert raised.value.message == ("The container was not healthy after 20 s (health: starting; GET / answered: "
                                    "error [Errno 111] Connection refused)")  # fmt: skip
    assert raised.value.hint == hint


def test_a_release_the_published_url_never_serves_gives_the_route_back_to_the_previous_one(world: World) -> None:
    serving = world.deploy()
    world.deployer.served_release = lambda host, port: serving  # the switch never reaches the user
    with pytest.raises(DeployFailed) as raised:
        world.deploy()
    assert raised.value.message.startswith("After the switch, 127.0.0.1:18000 serves release ")
    assert world.routed() == serving and world.releases() == [f"{APP}-{serving}"]
    assert f"Release {serving} is still serving; the failed container was removed." in world.err.getvalue()


def test_a_route_that_cannot_be_given_back_keeps_the_release_it_names(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    serving = world.deploy()
    world.deployer.served_release = lambda host, port: serving  # the switch never reaches the user
    switched = Proxy.switch

    def refused(proxy: Proxy, app: str, release: str, slot: str) -> None:
        if release == serving:  # the way back
            raise DockerHelloError("The engine refused: connection reset")
        switched(proxy, app, release, slot)

    monkeypatch.setattr(Proxy, "switch", refused)
    with pytest.raises(DeployFailed) as raised:  # the release's failure, not the cleanup's
        world.deploy()
    assert raised.value.message.startswith("After the switch, 127.0.0.1:18000 serves release ")
    new = world.routed()
    assert new != serving and f"{APP}-{new}" in world.releases()  # not removed under the route
    assert (
        f"Warning: putting things back after the failure failed too: the route could not be given back to release "
        f"{serving} (The engine refused: connection reset), so release {new} was left running and serving; "
        f"`dockerhello status --app {APP}` shows what runs"
    ) in world.err.getvalue()
    assert world.records()[str(new)] is ReleaseState.FAILED


def test_an_engine_failing_during_the_cleanup_leaves_the_releases_own_error(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    serving = world.deploy()
    world.engine.behaviour = Behaviour(exit_code=1)

    removed = FakeEngine.remove

    def gone(engine: FakeEngine, name: str, force: bool = False) -> bool:
        if engine.container(name) is not None:  # the engine goes away once the release has run
            raise DockerHelloError("Cannot reach the Docker engine")
        return removed(engine, name, force)

    monkeypatch.setattr(FakeEngine, "remove", gone)
    with pytest.raises(DeployFailed, match=r"The container exited at start \(exit code 1\)"):
        world.deploy()
    assert "Warning: putting things back after the failure failed too: Cannot reach the Docker engine" in (
        world.err.getvalue()
    )
    assert world.routed() == serving


def test_a_record_that_cannot_be_written_stops_the_deploy_before_its_release_runs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    serving = world.deploy()

    def refused(store: ReleaseStore, release: Release) -> None:
        raise DockerHelloError("The engine refused: no space left on device")

    monkeypatch.setattr(ReleaseStore, "add", refused)  # written while the image builds
    with pytest.raises(DockerHelloError, match="no space left on device"):
        world.deploy()
    assert world.routed() == serving and world.releases() == [f"{APP}-{serving}"]
    assert world.engine.switches == 2 and len(world.engine.held) == 2  # the first deploy's two: nothing started since


def test_a_first_deploy_that_fails_leaves_nothing_behind(world: World) -> None:
    world.engine.behaviour = Behaviour(exit_code=1)
    with pytest.raises(DeployFailed):
        world.deploy()
    # Only the record of what happened stays: a container never started, holding its volume.
    assert [(c.name, c.running) for c in world.engine.containers()] == [("shop-records", False)]
    assert world.engine.networks == {}
    assert list(world.records().values()) == [ReleaseState.FAILED]


def test_ctrl_c_during_the_health_wait_removes_the_new_container(world: World) -> None:
    serving = world.deploy()
    world.engine.behaviour = Behaviour(health="starting")

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    world.deployer.health.sleep = interrupted
    with pytest.raises(KeyboardInterrupt):
        world.deploy()
    assert world.releases() == [f"{APP}-{serving}"]
    assert world.routed() == serving and all(held.closed for held in world.engine.held)
    assert sorted(r.note for r in world.deployer.store(APP).load())[-1] == "interrupted"


def test_a_second_ctrl_c_stops_the_cleanup_but_not_the_record_nor_the_lock(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    serving = world.deploy()
    world.engine.behaviour = Behaviour(health="starting")

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    world.deployer.health.sleep = interrupted
    removed = FakeEngine.remove
    pressed: list[str] = []

    def interrupted_again(engine: FakeEngine, name: str, force: bool = False) -> bool:
        if not pressed and name.startswith(f"{APP}-") and name != f"{APP}-{serving}" and engine.container(name):
            pressed.append(name)
            raise KeyboardInterrupt  # the user presses Ctrl-C again as the cleanup removes the release
        return removed(engine, name, force)

    monkeypatch.setattr(FakeEngine, "remove", interrupted_again)
    with pytest.raises(KeyboardInterrupt):
        world.deploy()
    assert (
        f"Warning: putting things back after the failure was interrupted; `dockerhello status --app {APP}` shows "
        "what runs"
    ) in world.err.getvalue()
    assert world.routed() == serving and world.releases() == [f"{APP}-{serving}", pressed[0]]  # left, stopped short
    assert sorted(r.note for r in world.deployer.store(APP).load())[-1] == "interrupted"
    monkeypatch.setattr(FakeEngine, "remove", removed)
    world.engine.behaviour = Behaviour()
    world.deployer.health.sleep = world.clock.sleep
    new = world.deploy()  # the lock was given back: the next deploy runs, and clears what was left
    assert world.routed() == new and world.releases() == [f"{APP}-{new}"]


def test_a_failing_build_step_runs_nothing_and_is_recorded(world: World) -> None:
    world.engine.build_script = [
        BuildEvent("stream", "Step 1/2 : FROM python:3.12-slim\n"),
        BuildEvent("stream", "Step 2/2 : RUN pip install nothing-such\n"),
        BuildEvent("stream", "ERROR: No matching distribution found for nothing-such\n"),
        BuildEvent("error", "The command '/bin/sh -c pip install nothing-such' returned a non-zero code: 1"),
    ]
    with pytest.raises(BuildFailed) as raised:
        world.deploy()
    assert raised.value.message == (
        "The image did not build: The command '/bin/sh -c pip install nothing-such' returned a non-zero code: 1"
    )
    assert raised.value.details[-1] == "ERROR: No matching distribution found for nothing-such"
    assert [c.name for c in world.engine.containers()] == ["shop-records"]
    assert [state for state in world.records().values()] == [ReleaseState.FAILED]


def test_a_failing_migration_stops_the_deploy_and_the_serving_release_stays(world: World) -> None:
    first = world.deploy(database="sqlite", migrate=True)
    world.engine.behaviour.one_off_exit = 1
    world.engine.behaviour.one_off_output = ("Applying shop.0002_broken...", "ValueError: no")
    with pytest.raises(DeployFailed) as raised:
        world.deploy(database="sqlite", migrate=True)
    assert raised.value.message.startswith("The migration failed (exit code 1): release ")
    assert raised.value.details[-1] == "ValueError: no"
    assert world.routed() == first
    assert world.releases() == [f"{APP}-{first}"]  # the new release never started; the one-off is gone
    assert sorted(world.records().values(), key=str) == sorted([ReleaseState.ACTIVE, ReleaseState.FAILED], key=str)


def test_an_app_that_refuses_the_health_gates_host_fails_at_once_where_django_says_so(world: World) -> None:
    serving = world.deploy()
    said = (
        "django.core.exceptions.DisallowedHost: Invalid HTTP_HOST header: 'localhost'. You may need to add 'localhost'"
    )
    world.engine.behaviour = Behaviour(answers=400, logs=("Starting Gunicorn", said))
    with pytest.raises(DeployFailed) as raised:
        world.deploy(health_timeout=20)
    assert raised.value.message == ("The app refuses the Host header the health gate sends (localhost): Django's "
                                    "ALLOWED_HOSTS does not allow it")  # fmt: skip
    assert raised.value.hint is not None and "`--env ALLOWED_HOSTS=localhost,example.com`" in raised.value.hint
    assert world.routed() == serving and world.releases() == [f"{APP}-{serving}"]


def test_the_hint_reads_past_the_lines_a_restart_adds_after_the_cause(world: World) -> None:
    """A release restarted by its policy writes its next boot after the traceback that says why
    it stopped: the hint still finds the cause, the error still shows the last 30 lines."""
    serving = world.deploy()
    boot = ["Starting Gunicorn with 2 workers of 4 threads", "[1] [INFO] Starting gunicorn 27.0.1"]
    cause = [*(f'  File "/opt/venv/lib/frame{n}.py", line {n}' for n in range(28)),
             "ModuleNotFoundError: No module named 'mysite'", "[1] [ERROR] Reason: Worker failed to boot."]  # fmt: skip
    world.engine.behaviour = Behaviour(exit_code=3, logs=tuple(boot + cause + boot * 20))
    with pytest.raises(DeployFailed) as raised:
        world.deploy(health_timeout=20)
    assert raised.value.hint is not None and raised.value.hint.startswith("The app imports mysite, which is not in")
    assert (
        len(raised.value.details) == 30 and "ModuleNotFoundError: No module named 'mysite'" not in raised.value.details
    )
    assert world.routed() == serving
