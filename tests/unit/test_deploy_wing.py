"""The deploy wing's decisions, without an engine: the orchestrator, its steps and the day-2
operations run against an engine in memory (tests/unit/fake_engine.py), with the clock and
the sleeps injected. The end-to-end tests run the same code on the real engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provision.adapters.engine_model import BuildEvent, ContainerSpec, NetworkInfo, PortBinding, parse_info, parse_time
from provision.engine import EngineTarget
from provision.errors import BaseImageUnavailable, DeployFailed, DockerHelloError
from provision.owned import ROUTE_DIR, image_volume
from provision.secret_store import SecretStore
from provision.services.plan import DeployOptions
from provision.services.proxy_layout import nginx_command, other_slot, parse_route, slot_addresses
from provision.services.releases import ReleaseState
from provision.settings import DeploySettings
from provision.validators import Publish
from tests.unit.deploy_world import APP, World, operator_of


def test_a_first_deploy_creates_the_proxy_routes_to_the_release_and_records_it(world: World) -> None:
    release = world.deploy()
    engine = world.engine
    proxy = engine.specs[APP]
    # On the host's network, nginx listens on the published address itself: no port binding.
    assert (proxy.publish, proxy.network, proxy.labels["dockerhello.publish"]) == (None, "host", "127.0.0.1:18000")
    assert engine.get_file(APP, f"{ROUTE_DIR}/listen.conf") == b"listen 127.0.0.1:18000;\n"
    assert (proxy.read_only, proxy.cap_drop, proxy.memory) == (True, ("ALL",), 64 * 2**20)
    # The release is at the first slot's fixed address, which nginx's configuration names.
    assert engine.specs[f"{APP}-{release}"].ipv4_address == "172.30.0.253"
    slots = engine.get_file(APP, f"{ROUTE_DIR}/slots.conf")
    assert slots is not None
    # Kept open while in use; closed after 1 s idle, so a retired release has none left to wait for.
    assert "upstream blue {\n    server 172.30.0.253:8000;\n    keepalive 16;\n    keepalive_timeout 1s;\n}" in (
        slots.decode()
    )
    assert world.routed() == release
    assert world.releases() == [f"{APP}-{release}"]
    spec = engine.specs[f"{APP}-{release}"]
    assert spec.env["SECRET_KEY"] == SecretStore(world.state).secret_key(APP)
    assert (spec.read_only, spec.cap_drop, spec.no_new_privileges, spec.memory, spec.nano_cpus, spec.stop_timeout) \
        == (True, ("ALL",), True, 512 * 2**20, None, 30)  # fmt: skip
    assert spec.user is None  # the image has its own unprivileged USER
    assert world.records() == {release: ReleaseState.ACTIVE}
    assert f"shop:{release}" in engine.images_ and "shop:latest" in engine.images_


def test_an_image_without_user_runs_as_10001_unless_root_is_allowed(world: World) -> None:
    world.engine.build_script = None
    original = world.engine.add_image
    world.engine.add_image = lambda tag, user="", **kw: original(tag, "", **kw)  # type: ignore[method-assign]
    release = world.deploy()
    assert world.engine.specs[f"{APP}-{release}"].user == "10001:10001"
    hardening = DeploySettings(allow_root=True).hardening
    second = world.deploy(hardening=hardening)
    assert world.engine.specs[f"{APP}-{second}"].user is None


@pytest.mark.parametrize(
    ("port", "operating_system"), [(80, "Debian GNU/Linux 12 (bookworm)"), (18000, "Docker Desktop")]
)
def test_the_proxy_publishes_through_the_engine_below_port_1024_and_off_a_linux_host(
    world: World, port: int, operating_system: str
) -> None:
    info = parse_info({"NCPU": 2, "MemTotal": 8 * 1024**3, "OperatingSystem": operating_system}, {})
    world.engine.info_ = info
    world.deployer.deploy(world.project, DeployOptions(publish=Publish("127.0.0.1", port)))
    proxy = world.engine.specs[APP]
    assert (proxy.publish, proxy.network) == (PortBinding("8000/tcp", "127.0.0.1", port), "dockerhello-shop")
    assert world.engine.get_file(APP, f"{ROUTE_DIR}/listen.conf") == b"listen 8000;\n"


def test_releases_alternate_between_the_slots_and_a_switch_never_reloads_nginx(world: World) -> None:
    first, second, third = world.deploy(), world.deploy(), world.deploy()
    addresses = [world.engine.specs[f"{APP}-{r}"].ipv4_address for r in (first, second, third)]
    assert addresses == ["172.30.0.253", "172.30.0.254", "172.30.0.253"]
    # The fake engine refuses any exec it does not know, `nginx -s reload` among them.
    assert world.engine.switches == 4  # the new proxy's empty route, then one per deploy


def test_a_redeploy_retires_the_previous_release_after_the_drain_and_prunes_beyond_keep(world: World) -> None:
    first = world.deploy()
    second = world.deploy(keep=1)
    assert world.releases() == [f"{APP}-{second}"]
    # Watched for 2 s at most (40 tries 50 ms apart), then stopped the moment the proxy has let go
    # of it: no fixed wait.
    drain, stop = ("drain", f"{APP}-{first}", "40"), ("stop", f"{APP}-{first}")
    assert drain in world.engine.calls and stop in world.engine.calls
    assert world.engine.calls.index(drain) < world.engine.calls.index(stop)
    assert 2.0 not in world.clock.slept
    assert world.records() == {first: ReleaseState.HEALTHY, second: ReleaseState.ACTIVE}
    # keep=1 keeps the serving release and the one a rollback would use, however old.
    assert f"shop:{first}" in world.engine.images_
    third = world.deploy(keep=1)
    assert f"shop:{first}" not in world.engine.images_
    assert {f"shop:{second}", f"shop:{third}"} <= set(world.engine.images_)
    assert world.engine.switches == 4


@pytest.mark.parametrize("drain_exit", [1, 127])
def test_a_release_still_connected_or_that_cannot_be_watched_is_stopped_after_the_whole_drain(
    world: World, drain_exit: int
) -> None:
    first = world.deploy()
    world.engine.behaviour.drain_exit = drain_exit  # 1: still connected; 127: an image without /bin/sh
    world.deploy(drain=0.5)
    assert ("drain", f"{APP}-{first}", "10") in world.engine.calls
    # The exec returned at once here, as a loop the image's sleep ended early would: the window is
    # waited out before the stop.
    assert 0.5 in world.clock.slept
    assert ("stop", f"{APP}-{first}") in world.engine.calls


def test_a_previous_release_that_has_exited_is_not_watched_and_is_removed(world: World) -> None:
    first = world.deploy()
    world.engine.stop(f"{APP}-{first}", 30)  # it crashed: no process to drain, no exec to run
    second = world.deploy()
    assert not any(call[0] == "drain" for call in world.engine.calls)
    assert 2.0 not in world.clock.slept
    assert world.releases() == [f"{APP}-{second}"]


def test_a_default_base_that_cannot_be_pulled_gives_way_to_one_base_build_made(world: World) -> None:
    world.engine.add_image("dockerhello/python:trixie")
    unpullable = [
        BuildEvent("stream", "Step 1/3 : ARG BASE_IMAGE=python:3.13-slim\n"),
        BuildEvent("stream", "Step 2/3 : FROM ${BASE_IMAGE}\n"),
        BuildEvent(
            "error", "Get https://registry-1.docker.io/v2/: dial tcp: lookup registry-1.docker.io: no such host"
        ),
    ]
    original = world.engine.build

    def build(*args: object, **kwargs: object) -> Iterator[BuildEvent]:
        # The first build cannot pull its base; the ones after it succeed.
        world.engine.build_script = unpullable if not any(c[0] == "build" for c in world.engine.calls) else None
        return original(*args, **kwargs)  # type: ignore[arg-type]

    world.engine.build = build  # type: ignore[method-assign]
    release = world.deploy()
    assert "building on dockerhello/python:trixie, which `dockerhello base build` made" in world.err.getvalue()
    builds = [c for c in world.engine.calls if c[0] == "build" and c[1] == f"shop:{release}"]
    assert [args for _, _, args in builds] == ["{}", "{'BASE_IMAGE': 'dockerhello/python:trixie'}"]
    # The proxy is built on the same base, which is on the engine where the default is not.
    assert ("build", world.deployer.proxy.image_tag("dockerhello/python:trixie"),
            "{'BASE_IMAGE': 'dockerhello/python:trixie'}") in world.engine.calls  # fmt: skip


def test_a_base_image_that_is_not_on_the_engine(world: World) -> None:
    with pytest.raises(BaseImageUnavailable) as raised:
        world.deploy(base_image="dhtest/absent:1")
    assert (
        raised.value.message == "Base image dhtest/absent:1 is not on the Docker engine at unix:///var/run/docker.sock"
    )


def test_pull_and_no_cache_reach_the_build_of_the_release_and_say_so(world: World) -> None:
    plain, fresh = world.deploy(), world.deploy(pull=True, cache=False)
    assert world.engine.build_flags[f"shop:{plain}"] == {"pull": False, "nocache": False}
    assert world.engine.build_flags[f"shop:{fresh}"] == {"pull": True, "nocache": True}
    assert " (its base image pulled anew, no cached step)" in world.err.getvalue()


def test_with_pull_a_base_not_on_the_engine_is_pulled_not_refused(world: World) -> None:
    release = world.deploy(base_image="dhtest/elsewhere:1", pull=True)
    assert ("build", f"shop:{release}", "{'BASE_IMAGE': 'dhtest/elsewhere:1'}") in world.engine.calls


def test_with_pull_a_base_that_cannot_be_pulled_is_an_error_and_no_other_base_is_tried(world: World) -> None:
    world.engine.add_image("dockerhello/python:trixie")  # what the fallback would take without --pull
    world.engine.build_script = [
        BuildEvent("stream", "Step 1/3 : ARG BASE_IMAGE=python:3.13-slim\n"),
        BuildEvent("stream", "Step 2/3 : FROM ${BASE_IMAGE}\n"),
        BuildEvent("error", "pull access denied for python, repository does not exist or may require 'docker login'"),
    ]
    with pytest.raises(BaseImageUnavailable) as raised:
        world.deploy(pull=True)
    assert raised.value.message.startswith("Cannot pull the base image python:3.13-slim: pull access denied")
    assert (raised.value.hint or "").startswith("--pull asks the base image's registry for a newer version")
    assert len([c for c in world.engine.calls if c[0] == "build"]) == 1
    assert "building on" not in world.err.getvalue()


def test_rollback_goes_to_the_previous_healthy_release_and_is_refused_without_one(world: World) -> None:
    with pytest.raises(DockerHelloError) as nothing:
        world.deployer.rollback(APP, None, DeployOptions(publish=Publish("127.0.0.1", 18000)))
    assert nothing.value.message == "shop has no earlier healthy release to go back to"
    first = world.deploy()
    second = world.deploy()
    options = world.deployer.serving_options(APP, 60)
    back = world.deployer.rollback(APP, None, options)
    assert back.release == first
    assert world.routed() == first
    assert world.records() == {first: ReleaseState.ACTIVE, second: ReleaseState.HEALTHY}
    with pytest.raises(DockerHelloError) as serving:
        world.deployer.rollback(APP, first, options)
    assert serving.value.message == f"Release {first} is the one serving already"
    world.engine.remove_image(f"shop:{second}")
    with pytest.raises(DockerHelloError) as pruned:
        world.deployer.rollback(APP, second, options)
    assert pruned.value.message == f"The image of release {second} (shop:{second}) is no longer on the engine"


def test_a_rollback_runs_under_the_serving_releases_settings(world: World) -> None:
    hardening = DeploySettings(read_only=False, memory=300 * 2**20, cpus=0.5).hardening
    world.deploy(environment=(("LOG_LEVEL", "DEBUG"), ("TOKEN", "s3cret")), hardening=hardening)
    options = world.deployer.serving_options(APP, 45)
    assert options.environment == (("LOG_LEVEL", "DEBUG"), ("TOKEN", "s3cret"))  # SECRET_KEY is not copied
    assert (options.hardening.read_only, options.hardening.memory, options.hardening.cpus) == (False, 300 * 2**20, 0.5)
    assert (options.publish, options.health_timeout) == (Publish("127.0.0.1", 18000), 45)


def test_preflight_finds_a_port_taken_and_limits_the_engine_cannot_give(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.engine.create(ContainerSpec(image="x", name="other", labels={}, network="bridge",
                                      publish=PortBinding("80/tcp", "127.0.0.1", 18000)))  # fmt: skip
    world.engine.start("other")
    with pytest.raises(DeployFailed) as published:
        world.deploy()
    assert published.value.message == "Port 127.0.0.1:18000 is already published by container other"
    world.engine.remove("other")
    monkeypatch.setattr("provision.services.deploy.host_port_free", lambda publish: False)
    with pytest.raises(DeployFailed) as in_use:
        world.deploy()
    assert in_use.value.message == "Port 127.0.0.1:18000 is already in use on this host"
    monkeypatch.setattr("provision.services.deploy.host_port_free", lambda publish: True)
    with pytest.raises(DeployFailed) as cpus:
        world.deploy(hardening=DeploySettings(cpus=4).hardening)
    assert cpus.value.message == "--cpus 4 is more than the 2 CPUs of the Docker engine at unix:///var/run/docker.sock"
    assert [call for call in world.engine.calls if "other" in call] == [("create", "other"), ("start", "other"),
                                                                         ("remove", "other")]  # fmt: skip
    assert not any(call[0] == "build" for call in world.engine.calls)


def test_an_app_published_elsewhere_says_how_to_move_it(world: World) -> None:
    world.deploy()
    with pytest.raises(DockerHelloError) as moved:
        world.deployer.deploy(world.project, DeployOptions(publish=Publish("127.0.0.1", 19000)))
    assert moved.value.message == "shop is published on port 18000, not 19000"
    assert (
        moved.value.hint == "Deploy with --publish 127.0.0.1:18000, or `dockerhello down --app shop` first to move it."
    )


def test_on_a_machine_the_app_listens_on_the_vms_interfaces_and_its_ip_is_an_allowed_host(tmp_path: Path) -> None:
    target = EngineTarget(host="tcp://192.168.56.101:2376", tls=True, tls_verify=True, machine="dev")
    world = World(tmp_path, target)
    options = world.deployer.for_target(DeployOptions(environment=(("A", "1"),)))
    assert options.bind_ip == "0.0.0.0"
    assert options.environment == (("A", "1"), ("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],192.168.56.101"))
    assert world.deployer.for_target(options) == options  # the user's own ALLOWED_HOSTS stands
    # ... and the app still listens where VirtualBox's NAT forwards to, the VM's address.
    own = world.deployer.for_target(DeployOptions(environment=(("ALLOWED_HOSTS", "example.com"),)))
    assert (own.bind_ip, own.environment) == ("0.0.0.0", (("ALLOWED_HOSTS", "example.com"),))


# -- day 2 ------------------------------------------------------------------------------------


def test_status_logs_down_and_prune(world: World) -> None:
    first = world.deploy()
    second = world.deploy()
    ops = operator_of(world)
    status = ops.status(APP, now=parse_time("2026-11-25T12:01:05Z"))
    assert (status.release, status.container, status.state, status.health, status.uptime_seconds, status.url) == (
        second, f"{APP}-{second}", "running", "healthy", 64, "http://localhost:18000/")  # fmt: skip
    assert list(ops.logs(APP, follow=False, tail=10)) == ["Starting Gunicorn with 5 workers\n"]
    assert list(ops.logs(APP, follow=True, tail=10)) == ["Starting Gunicorn with 5 workers\n"]
    removed, _ = ops.prune(APP, keep=1)
    assert removed == []  # the serving release and the rollback target stay
    assert ops.down(APP, images=False) == [f"{APP}-{second}", APP]
    assert [c.name for c in world.engine.containers()] == ["shop-records"] and world.engine.networks == {}
    assert world.records() == {first: ReleaseState.HEALTHY, second: ReleaseState.HEALTHY}
    assert (ops.status(APP).state, ops.status(APP).volumes) == ("not deployed", ())
    assert sorted(ops.down(APP, images=True)) == sorted(
        [f"shop:{first}", f"shop:{second}", "shop:latest", "shop-records"]
    )
    assert world.engine.containers() == [] and world.records() == {}
    with pytest.raises(DockerHelloError) as none:
        list(ops.logs(APP, follow=False, tail=10))
    assert none.value.message == "shop is not deployed on the Docker engine at unix:///var/run/docker.sock"


NOT_DEPLOYED = "shpo is not deployed on the Docker engine at unix:///var/run/docker.sock"


def test_a_name_the_engine_has_nothing_of_is_an_error_naming_the_apps_it_has(world: World) -> None:
    world.deploy()
    misspelt = operator_of(world, "shpo")
    for command in (lambda: misspelt.status("shpo"), lambda: misspelt.releases("shpo"),
                    lambda: list(misspelt.logs("shpo", follow=False, tail=10))):  # fmt: skip
        with pytest.raises(DockerHelloError) as raised:
            command()
        assert (raised.value.message, raised.value.hint, raised.value.exit_code) == (
            NOT_DEPLOYED, "dockerhello's apps there: shop (`--app NAME`); `dockerhello deploy` deploys shpo.", 1)  # fmt: skip


def test_an_app_taken_down_keeps_its_status_and_records_until_nothing_of_it_is_left(world: World) -> None:
    release = world.deploy()
    ops = operator_of(world)
    ops.down(APP, images=False)  # its records stay
    assert ops.status(APP).state == "not deployed"
    assert [(r.id, r.state, r.note) for r in ops.releases(APP)] == [(release, ReleaseState.HEALTHY, "taken down")]
    world.engine.create_volume("shop-data", {})  # its data, made unlabelled as a mount makes it
    ops.down(APP, images=True)
    assert (ops.status(APP).state, ops.status(APP).volumes) == ("not deployed", ("shop-data",))
    world.engine.remove_volume("shop-data")
    with pytest.raises(DockerHelloError) as raised:
        ops.status(APP)
    # Nothing of any app is left to name.
    assert (raised.value.message, raised.value.hint) == (
        "shop is not deployed on the Docker engine at unix:///var/run/docker.sock",
        "`dockerhello deploy` deploys shop; no other app of dockerhello's is there.")  # fmt: skip
    with pytest.raises(DockerHelloError):
        ops.releases(APP)


def test_prune_and_down_leave_another_apps_tags_of_the_same_image(world: World) -> None:
    first, second, third = world.deploy(), world.deploy(), world.deploy()
    # Another app built what the first and the last release are: the engine holds one image each.
    world.engine.tag(f"shop:{first}", "shop-staging", "r1")
    world.engine.tag(f"shop:{third}", "shop-staging", "r3")
    ops = operator_of(world)
    assert ops.prune(APP, keep=1) == ([f"shop:{first}"], 0)  # the image stays, so nothing is freed
    staging = world.engine.image("shop-staging:r1")
    assert staging is not None and staging.tags == ("shop-staging:r1",)
    assert sorted(ops.down(APP, images=True)) == sorted(
        [f"{APP}-{third}", APP, f"shop:{second}", f"shop:{third}", "shop:latest", "shop-records"]
    )
    assert world.engine.images(APP) == []
    assert [i.tags for i in world.engine.images("shop-staging")] == [("shop-staging:r1",), ("shop-staging:r3",)]


def test_parse_time_reads_dockers_nanoseconds() -> None:
    parsed = parse_time("2026-11-23T21:02:17.123456789Z")
    assert parsed is not None and parsed.isoformat() == "2026-11-23T21:02:17.123456+00:00"
    assert parse_time("0001-01-01T00:00:00Z") is None


def test_the_slots_are_the_last_addresses_of_the_subnet_and_the_route_names_one() -> None:
    assert slot_addresses("172.19.0.0/16") == {"blue": "172.19.255.253", "green": "172.19.255.254"}
    assert slot_addresses("10.9.8.0/24") == {"blue": "10.9.8.253", "green": "10.9.8.254"}
    assert parse_route("to/20261125-101010-1a2b3c4-dirty.green\n") == ("20261125-101010-1a2b3c4-dirty", "green")
    assert parse_route("to/none.blue") == ("none", "blue")
    assert [parse_route(link) for link in ("", "to/x.red", "to/.blue", "route.conf")] == [None] * 4
    assert (other_slot(None), other_slot("blue"), other_slot("green")) == ("blue", "green", "blue")


def test_nginx_gets_one_worker_per_four_cpus_and_at_least_one() -> None:
    assert [nginx_command(cpus)[2] for cpus in (1, 2, 4, 7, 16)] == [
        f"daemon off; worker_processes {n};" for n in (1, 1, 1, 1, 4)
    ]


def test_an_app_of_an_earlier_dockerhello_moves_into_the_slots_once_its_release_serving(world: World) -> None:
    engine = world.engine
    # What an earlier dockerhello left: a network whose subnet the engine picked, a proxy that
    # reloaded nginx with a route file, and the release it routed to.
    engine.networks["dockerhello-shop"] = NetworkInfo("dockerhello-shop", "172.30.0.0/24", "172.30.0.1", {})
    old = "20261101-000000-0000000"
    engine.add_image(f"shop:{old}", user="10001:10001")
    engine.create(ContainerSpec(f"shop:{old}", f"shop-{old}", {"dockerhello.app": APP, "dockerhello.role": "release",
                                                                "dockerhello.release": old}, "dockerhello-shop"))  # fmt: skip
    engine.start(f"shop-{old}")
    engine.create(ContainerSpec("dockerhello/proxy:old", APP, {"dockerhello.app": APP, "dockerhello.role": "proxy"},
                                "dockerhello-shop", publish=PortBinding("8000/tcp", "127.0.0.1", 18000),
                                volumes={"shop-route": ROUTE_DIR}))  # fmt: skip
    engine.put_file(
        APP, ROUTE_DIR, "route.conf", f'set $upstream "http://shop-{old}:8000";\nset $release "{old}";\n', 0
    )
    engine.start(APP)

    release = world.deploy()
    assert "replacing its proxy and network once (a moment of downtime)" in world.err.getvalue()
    assert engine.networks["dockerhello-shop"].labels["dockerhello.slots"] == "blue,green"
    assert engine.specs[APP].labels["dockerhello.slots"] == "blue,green"
    assert engine.specs[f"{APP}-{release}"].ipv4_address == "172.30.0.254"  # the old one moved into blue
    assert ("stop", f"shop-{old}") in engine.calls  # retired after the switch, as any previous release
    assert world.routed() == release


# -- migrations and the data volume -------------------------------------------------------------


def test_a_migration_runs_in_a_one_off_container_of_the_new_release_before_it_starts(world: World) -> None:
    release = world.deploy(database="sqlite", migrate=True)
    attach = next(c for c in world.engine.calls if c[0] == "attach")
    assert attach == ("attach", f"{APP}-{release}-migrate", "python", "manage.py", "migrate", "--noinput")
    calls = [c[:2] for c in world.engine.calls]
    assert calls.index(attach[:2]) < calls.index(("create", f"{APP}-{release}"))
    migrate = world.engine.specs[f"{APP}-{release}-migrate"]
    served = world.engine.specs[f"{APP}-{release}"]
    # The release's own variables, volume, network and hardening; no address, no restart.
    assert (migrate.env, migrate.volumes, migrate.network, migrate.user, migrate.read_only) == (
        served.env, served.volumes, served.network, served.user, served.read_only)  # fmt: skip
    assert migrate.env["DATABASE_URL"] == "sqlite:////data/db.sqlite3"
    assert served.volumes == {f"{APP}-data": "/data"}
    assert (migrate.restart, migrate.ipv4_address) == ("no", None)
    assert world.engine.container(f"{APP}-{release}-migrate") is None  # removed once it ended
    assert "No migrations to apply." in world.err.getvalue()


def test_no_database_means_no_volume_and_no_migration(world: World) -> None:
    release = world.deploy()
    assert not any(c[0] == "attach" for c in world.engine.calls)
    assert world.engine.specs[f"{APP}-{release}"].volumes == {}
    assert "DATABASE_URL" not in world.engine.specs[f"{APP}-{release}"].env


def test_down_keeps_the_data_volume_unless_asked(world: World) -> None:
    world.deploy(database="sqlite", migrate=True)
    operator = operator_of(world)
    operator.down(APP, images=True)
    assert f"{APP}-data" in world.engine.volumes_
    assert f"{APP}-data" in operator.down(APP, images=False, volumes=True)
    assert f"{APP}-data" not in world.engine.volumes_


def test_every_release_mounts_one_volume_of_the_apps_at_each_path_its_image_declares_volume(world: World) -> None:
    # As an anonymous volume, each release would start empty and leave one volume behind.
    # /data is the data volume's, /tmp the read-only root's tmpfs.
    world.engine.declares_volumes = ("/app/media", "/data/", "/data/media", "/tmp")
    media = image_volume(APP, "/app/media")
    first, second = world.deploy(database="sqlite"), world.deploy(database="sqlite")
    for release in (first, second):
        assert world.engine.specs[f"{APP}-{release}"].volumes == {media: "/app/media", f"{APP}-data": "/data"}
    assert world.engine.volumes_[media] == {
        "dockerhello.app": APP, "dockerhello.role": "volume", "dockerhello.volume-path": "/app/media"}  # fmt: skip
    calls = [c[:2] for c in world.engine.calls]
    assert calls.index(("create_volume", media)) < calls.index(("create", f"{APP}-{first}"))
    operator = operator_of(world)
    assert operator.status(APP).volumes == (f"{APP}-data", media)
    operator.down(APP, images=False)
    assert operator.data_volumes(APP) == [f"{APP}-data", media]  # kept, and what `down --volumes` asks about
    assert operator.down(APP, images=False, volumes=True) == [f"{APP}-data", media]
    assert operator.data_volumes(APP) == [] and media not in world.engine.volumes_
    # With a writable root there is no tmpfs: the image's /tmp gets a volume of the app's.
    release = world.deploy(database="sqlite", hardening=DeploySettings(read_only=False).hardening)
    assert world.engine.specs[f"{APP}-{release}"].volumes == {
        media: "/app/media", image_volume(APP, "/tmp"): "/tmp", f"{APP}-data": "/data"}  # fmt: skip


def test_run_mounts_what_the_serving_release_has_at_the_images_volume_path(world: World) -> None:
    world.engine.declares_volumes = ("/app/media",)
    release = world.deploy()
    one_off = world.deployer.one_off
    assert one_off.serving_spec(APP).volumes == {image_volume(APP, "/app/media"): "/app/media"}
    # A release an earlier dockerhello made: an anonymous volume there, which `run` must see.
    world.engine._update(f"{APP}-{release}", mounts={"9f" * 32: "/app/media"})
    assert one_off.serving_spec(APP).volumes == {"9f" * 32: "/app/media"}


def test_an_image_volume_is_the_apps_own_and_one_per_path() -> None:
    assert image_volume("shop", "/app/media") == image_volume("shop", "/app/media/")
    assert image_volume("shop", "/app/media").startswith("shop-volume-app-media-")
    assert len({image_volume("shop", "/a-b"), image_volume("shop", "/a/b"), image_volume("shop2", "/a/b")}) == 3


def test_a_rollback_builds_no_proxy_image_and_keeps_the_running_proxys_base(world: World) -> None:
    world.deploy()
    world.deploy()
    builds = [c for c in world.engine.calls if c[0] == "build"]
    world.deployer.rollback(APP, None, world.deployer.serving_options(APP, 30))
    assert [c for c in world.engine.calls if c[0] == "build"] == builds
    # Not a proxy on a release image: that would be a child of the release, which `down --images` cannot remove.
    assert [i.labels.get("dockerhello.proxy-base") for t, i in world.engine.images_.items()
            if t.startswith("dockerhello/proxy:")] == ["python:3.12-slim"]  # fmt: skip


def test_a_remote_engines_loopback_is_asked_from_inside_the_proxy_and_the_url_says_it(tmp_path: Path) -> None:
    remote = EngineTarget(host="tcp://203.0.113.7:2376", tls=True, tls_verify=True)
    (tmp_path / "loopback").mkdir()
    (tmp_path / "everywhere").mkdir()
    world = World(tmp_path / "loopback", remote)
    asked: list[tuple[str, int]] = []

    def from_here(host: str, port: int) -> str | None:
        asked.append((host, port))
        return None

    world.deployer.served_release = from_here
    result = world.deployer.deploy(world.project, DeployOptions(publish=Publish("127.0.0.1", 18000)))
    assert asked == []  # this host cannot reach that host's loopback
    # A remote proxy is on a network of its own, behind the engine's binding: asked at its port.
    assert [c for c in world.engine.calls if c[0] == "served"] == [("served", APP, "127.0.0.1", "8000")]
    assert result.url == "http://127.0.0.1:18000/"
    assert world.err.getvalue().splitlines()[-1] == (
        "Warning: shop is published on 127.0.0.1:18000 of the engine's host 203.0.113.7, which only that host "
        "reaches: `ssh -N -L 18000:127.0.0.1:18000 USER@203.0.113.7` brings it here; --publish 0.0.0.0:18000 opens "
        "it to the network")  # fmt: skip
    # Published on every address of it: asked from here, at the engine's host, which the URL names.
    everywhere = World(tmp_path / "everywhere", remote)
    seen: list[tuple[str, int]] = []

    def served_here(host: str, port: int) -> str | None:
        seen.append((host, port))
        return everywhere.routed()

    everywhere.deployer.served_release = served_here
    assert everywhere.deployer.deploy(everywhere.project, DeployOptions(publish=Publish("0.0.0.0", 18000))).url == (
        "http://203.0.113.7:18000/")  # fmt: skip
    assert set(seen) == {("203.0.113.7", 18000)} and "Warning" not in everywhere.err.getvalue()


def test_a_first_deploy_that_fails_after_its_switch_leaves_nothing_behind(world: World) -> None:
    world.deployer.served_release = lambda host, port: None  # the published URL never serves it
    with pytest.raises(DeployFailed) as failed:
        world.deploy()
    assert failed.value.message.startswith("After the switch, 127.0.0.1:18000 serves release nothing, not ")
    # Its container and the proxy that routed to it are gone: no proxy left naming a removed release.
    assert [c.name for c in world.engine.containers()] == [f"{APP}-records"]
    assert "is still serving" not in world.err.getvalue()
    assert list(world.records().values()) == [ReleaseState.FAILED]
