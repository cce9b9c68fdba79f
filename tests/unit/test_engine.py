from __future__ import annotations

from pathlib import Path

from provision.engine import DEFAULT_HOST, EngineTarget


def test_empty_environment_means_the_local_engine_and_never_os_environ() -> None:
    # docker-py's kwargs_from_env({}) falls back to os.environ; ours must not.
    assert EngineTarget.from_environ({}) == EngineTarget(host=DEFAULT_HOST)


def test_docker_machine_environment() -> None:
    env = {
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_HOST": "tcp://192.168.99.100:2376",
        "DOCKER_CERT_PATH": "/home/u/.docker/machine/machines/default",
        "DOCKER_MACHINE_NAME": "default",
    }
    target = EngineTarget.from_environ(env)
    assert target == EngineTarget(
        host="tcp://192.168.99.100:2376",
        tls=True,
        tls_verify=True,
        cert_path=Path("/home/u/.docker/machine/machines/default"),
        machine="default",
    )
    assert target.hostname == "192.168.99.100"
    assert not target.is_local
    assert target.describe() == "Docker engine at tcp://192.168.99.100:2376 (machine default)"


def test_empty_tls_verify_is_off_as_in_the_docker_cli() -> None:
    target = EngineTarget.from_environ({"DOCKER_HOST": "tcp://10.0.0.1:2375", "DOCKER_TLS_VERIFY": ""})
    assert (target.tls, target.tls_verify) == (False, False)


def test_tls_verify_without_cert_path_uses_home_docker() -> None:
    target = EngineTarget.from_environ({"DOCKER_TLS_VERIFY": "1", "HOME": "/home/u"})
    assert target.cert_path == Path("/home/u/.docker")


def test_local_engine_is_reached_on_loopback() -> None:
    assert EngineTarget().hostname == "127.0.0.1"
