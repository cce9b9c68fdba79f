"""The engine's JSON, recorded from Engine 20.10 (tests/data/engine/), read into the values the
deploy wing decides on."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from provision.adapters.engine_model import (
    BuildEvent,
    PortBinding,
    label_values,
    parse_build_chunk,
    parse_container,
    parse_exec_stream,
    parse_image,
    parse_info,
    parse_network,
)
from provision.services.proxy_layout import published
from provision.services.release_container import serving_options
from provision.validators import Publish

DATA = Path(__file__).resolve().parent.parent / "data" / "engine"


def recorded(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def test_the_apps_named_by_the_labels_of_listed_containers_and_volumes() -> None:
    # Four containers of two apps (tr: its proxy, a release and its records; mysite's records),
    # and volumes, most made unlabelled by a mount (Labels: null), one labelled for shop.
    containers, volumes = recorded("containers-labelled.json"), recorded("volumes.json")["Volumes"]
    assert label_values(containers, "dockerhello.app") == ["mysite", "tr"]
    assert [v["Labels"] for v in volumes].count(None) == len(volumes) - 1
    assert label_values([*containers, *volumes], "dockerhello.app") == ["mysite", "shop", "tr"]
    assert label_values(containers, "dockerhello.role") == ["proxy", "records", "release"]
    assert label_values(volumes, "dockerhello.release") == []


def test_a_release_container() -> None:
    release = parse_container(recorded("inspect-release.json")[0])
    assert release.name == "dhtest-2377de8b-20261125-133358-041a9e6-dirty"
    assert (release.status, release.running, release.health, release.restart_count) == ("running", True, "healthy", 0)
    assert release.labels["dockerhello.release"] == "20261125-133358-041a9e6-dirty"
    assert (release.user, release.read_only, release.cap_drop, release.security_opt) == (
        "10001:10001", True, ("ALL",), ("no-new-privileges:true",))  # fmt: skip
    assert (release.memory, release.nano_cpus, release.port_bindings) == (512 * 2**20, 10**9, ())
    assert "SECRET_KEY=<redacted>" in release.env
    assert release.started_at.startswith("2026-11-25T13:33:5")
    assert release.addresses == {"dockerhello-dhtest-2377de8b": "172.31.0.3"}
    # The image's HEALTHCHECK, as dockerhello runs it while Docker still says "starting".
    assert release.health_argv[:2] == ("python", "-c") and "/healthz" in release.health_argv[2]


def test_a_container_the_kernel_killed_at_its_memory_limit() -> None:
    """`docker run --memory 20m ... python3 -c "x = bytearray(200 * 2**20)"`, Engine 28."""
    killed = parse_container(recorded("inspect-oom-killed.json")[0])
    assert (killed.status, killed.exit_code, killed.oom_killed, killed.memory) == ("exited", 137, True, 20 * 2**20)
    assert parse_container(recorded("inspect-release.json")[0]).oom_killed is False


def test_a_health_check_in_shell_form_or_none() -> None:
    shell = parse_container({"Config": {"Healthcheck": {"Test": ["CMD-SHELL", "curl -f localhost || exit 1"]}}})
    none = parse_container({"Config": {"Healthcheck": {"Test": ["NONE"]}}})
    assert (shell.health_argv, none.health_argv) == (("/bin/sh", "-c", "curl -f localhost || exit 1"), ())


def test_the_proxy_container_and_its_published_address() -> None:
    proxy = parse_container(recorded("inspect-proxy.json")[0])
    assert proxy.port_bindings == (PortBinding("8000/tcp", "127.0.0.1", 32869),)
    assert published(proxy) == Publish("127.0.0.1", 32869)
    assert proxy.health is None  # nginx's image has no HEALTHCHECK


def test_images() -> None:
    image = parse_image(recorded("inspect-image.json")[0])
    base = parse_image(recorded("inspect-base.json")[0])
    assert image.tags == ("dhtest-2377de8b:20261125-133358-041a9e6-dirty", "dhtest-2377de8b:latest")
    assert image.user == "10001:10001"
    assert image.layers[: len(base.layers)] == base.layers  # built on the base
    assert base.tags == ("dockerhello/python:trixie",)
    assert (image.volumes, base.volumes) == ((), ())
    assert base.created == datetime(2026, 11, 25, 12, 43, 15, 928224, tzinfo=UTC)  # imported by `base build`


def test_an_image_with_a_volume_step() -> None:
    # `VOLUME /app/media` appended to this repository's Dockerfile, built on the real engine.
    assert parse_image(recorded("inspect-image-volume.json")[0]).volumes == ("/app/media",)


def test_a_rollback_copies_the_serving_releases_settings_but_not_the_images_or_the_secret() -> None:
    proxy = parse_container(recorded("inspect-proxy.json")[0])
    release = parse_container(recorded("inspect-release.json")[0])
    image = parse_image(recorded("inspect-image.json")[0])
    options = serving_options(proxy, release, image, 60)
    assert all(name != "SECRET_KEY" for name, _ in options.environment)
    assert all(f"{name}={value}" not in image.env for name, value in options.environment)
    assert (options.hardening.read_only, options.hardening.memory, options.hardening.cpus) == (True, 512 * 2**20, 1.0)
    assert options.publish == Publish("127.0.0.1", 32869)


def test_engine_info() -> None:
    info = parse_info(recorded("info.json"), recorded("version.json"))
    assert (info.cpus, info.version, info.api_version) == (2, "20.10.24+dfsg1", "1.41")
    assert info.memory > 2**34


def test_build_stream_chunks() -> None:
    assert parse_build_chunk({"stream": "Step 1/14 : ARG BASE_IMAGE=python:3.12-slim\n"}) == BuildEvent(
        "stream", "Step 1/14 : ARG BASE_IMAGE=python:3.12-slim\n")  # fmt: skip
    assert parse_build_chunk({"error": "boom\n", "errorDetail": {"message": "boom"}}) == BuildEvent("error", "boom")
    assert parse_build_chunk({"aux": {"ID": "sha256:0123"}}) is None


def test_a_build_that_pulls_its_base_says_each_layer_once_without_the_progress_ticks() -> None:
    # Recorded: `build --pull` of a FROM whose last layer the engine did not have.
    chunks = [json.loads(line) for line in (DATA / "build-pull.jsonl").read_text().splitlines()]
    said = [event.text for event in map(parse_build_chunk, chunks) if event is not None and event.kind == "status"]
    assert said == [
        "3: Pulling from rec/python\n",
        "1cbc7bfcf8cd: Already exists\n",
        "570021ad55cb: Pulling fs layer\n",
        "570021ad55cb: Download complete\n",
        "570021ad55cb: Pull complete\n",
        "Digest: sha256:957dee1d0981b620dcb4a9108e100f8143fd9074635dbe364f55ce88299f2da1\n",
        "Status: Downloaded newer image for 127.0.0.1:5999/rec/python:3\n",
    ]


def test_parsers_take_what_an_old_or_odd_engine_leaves_out() -> None:
    bare = parse_container({"Id": "x", "Name": "/y"})
    assert (bare.name, bare.status, bare.health, bare.env, bare.port_bindings) == ("y", "", None, (), ())
    assert parse_image({}).tags == ()


def test_the_engine_info_says_where_the_host_network_is() -> None:
    assert parse_info(recorded("info.json"), recorded("version.json")).host_network_is_host
    assert not parse_info({"OperatingSystem": "Docker Desktop"}, {}).host_network_is_host
    rootless = {"OperatingSystem": "Ubuntu 24.04", "SecurityOptions": ["name=seccomp,profile=default", "name=rootless"]}
    assert not parse_info(rootless, {}).host_network_is_host


def test_the_apps_network_with_the_subnet_dockerhello_wrote_down() -> None:
    network = parse_network(recorded("inspect-network.json")[0])
    assert (network.name, network.subnet, network.gateway) == (
        "dockerhello-dhtest-2377de8b",
        "172.31.0.0/16",
        "172.31.0.1",
    )
    assert network.labels["dockerhello.slots"] == "blue,green"
    assert parse_network({}).subnet is None  # a network with no IPAM config


def test_an_exec_stream_is_read_as_the_commands_output_in_order() -> None:
    # Recorded from `sh -c 'read l; echo out $l; echo err >&2'` given "go", Engine 20.10.
    recorded = (DATA / "exec-stream.bin").read_bytes()
    assert parse_exec_stream(recorded) == "out go\nerr\n"
    assert parse_exec_stream(recorded[:-2]) == "out go\ner"  # cut short: what came of it
    assert parse_exec_stream(b"") == ""
