"""Parsers of docker-machine and VBoxManage output, on outputs recorded in the reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.adapters.docker_machine import (
    MachineState,
    parse_env,
    parse_inspect,
    parse_ls,
    render_env,
)
from provision.adapters.vboxmanage import NatRule, parse_list_vms, parse_rule, parse_showvminfo, parse_version

DATA = Path(__file__).resolve().parent.parent / "data"
MACHINE_ENV = {
    "DOCKER_TLS_VERIFY": "1",
    "DOCKER_HOST": "tcp://192.168.99.100:2376",
    "DOCKER_CERT_PATH": "/home/u/.docker/machine/machines/default",
    "DOCKER_MACHINE_NAME": "default",
}


def recorded(name: str) -> str:
    return (DATA / name).read_text()


@pytest.mark.parametrize("shell", ["bash", "fish", "powershell", "cmd", "tcsh"])
def test_parse_env_of_every_shell(shell: str) -> None:
    assert parse_env(recorded(f"docker-machine/env-{shell}.txt")) == MACHINE_ENV


def test_parse_env_on_windows_keeps_backslashes_and_the_compose_variable() -> None:
    env = parse_env(recorded("docker-machine/env-powershell-windows.txt"))
    assert env["DOCKER_CERT_PATH"] == "C:\\Users\\u\\.docker\\machine\\machines\\default"
    assert env["COMPOSE_CONVERT_WINDOWS_PATHS"] == "true"


def test_parse_env_of_unset_output_is_empty() -> None:
    assert parse_env(recorded("docker-machine/env-bash-unset.txt")) == {}


@pytest.mark.parametrize(
    ("shell", "command"),
    [
        ("fish", "docker-machine env --shell fish default"),
        ("powershell", "docker-machine env --shell powershell default"),
        ("cmd", "docker-machine env --shell cmd default"),
    ],
)
def test_render_env_writes_what_docker_machine_writes(shell: str, command: str) -> None:
    expected = recorded(f"docker-machine/env-{shell}.txt").rstrip("\n")
    assert render_env(MACHINE_ENV, shell, command) == expected


def test_render_env_posix_differs_only_by_quoting_the_eval() -> None:
    lines = recorded("docker-machine/env-bash.txt").rstrip("\n").splitlines()
    assert render_env(MACHINE_ENV, "bash", "docker-machine env default").splitlines() == [
        *lines[:-1],
        '# eval "$(docker-machine env default)"',
    ]
    unset = recorded("docker-machine/env-bash-unset.txt").rstrip("\n").splitlines()
    assert render_env(dict.fromkeys(MACHINE_ENV, ""), "bash", "docker-machine env -u", unset=True).splitlines() == [
        *unset[:-1],
        '# eval "$(docker-machine env -u)"',
    ]


def test_render_env_escapes_what_a_posix_shell_would_expand() -> None:
    code = render_env({"DOCKER_CERT_PATH": '/home/a "b"/$x'}, "bash", "dockerhello env")
    assert code.splitlines()[0] == 'export DOCKER_CERT_PATH="/home/a \\"b\\"/\\$x"'


def test_parse_ls_format() -> None:
    machines = parse_ls(recorded("docker-machine/ls-format.txt"))
    assert [(m.name, m.state, m.url, m.docker_version) for m in machines] == [
        ("default", MachineState.RUNNING, "tcp://192.168.99.100:2376", "v19.03.12"),
        ("dev", MachineState.STOPPED, None, None),
        ("ghost", MachineState.ERROR, None, None),
        ("old", MachineState.RUNNING, "tcp://192.168.99.101:2376", None),
    ]
    assert machines[2].driver == "not found"
    assert machines[2].error == "open /home/u/.docker/machine/machines/ghost/config.json: no such file or directory"
    assert machines[3].error is not None and "x509: certificate is valid for 192.168.99.100" in machines[3].error


def test_unknown_states_map_to_unknown() -> None:
    assert MachineState.from_tool("") is MachineState.UNKNOWN
    assert MachineState.from_tool("Exploding") is MachineState.UNKNOWN
    assert str(MachineState.UNKNOWN) == "Unknown"


def test_parse_inspect() -> None:
    machine = parse_inspect(recorded("docker-machine/inspect-default.json"))
    assert (machine.name, machine.driver, machine.ip, machine.cpus, machine.memory_mb, machine.disk_mb) == (
        "default",
        "virtualbox",
        "192.168.99.100",
        1,
        1024,
        20000,
    )
    assert machine.hostonly_cidr == "192.168.99.1/24"
    assert machine.ssh_port == 44155
    assert str(machine.store_path) == "/home/u/.docker/machine/machines/default"


def test_parse_showvminfo_of_a_running_docker_machine_vm() -> None:
    info = parse_showvminfo(recorded("vboxmanage/showvminfo-running.txt"))
    assert (info.name, info.state, info.cpus, info.memory_mb, info.has_session) == ("default", "running", 1, 1024, True)
    assert info.rules == (NatRule("ssh", "tcp", "127.0.0.1", 52798, "", 22),)


def test_parse_showvminfo_of_a_stopped_vm_with_a_forwarded_port() -> None:
    info = parse_showvminfo(recorded("vboxmanage/showvminfo-poweroff-with-rule.txt"))
    assert (info.state, info.has_session) == ("poweroff", False)
    assert [rule.name for rule in info.rules] == ["ssh", "tcp-port8000"]
    assert str(info.rules[1]) == "tcp-port8000,tcp,127.0.0.1,8000,,8000"


def test_showvminfo_quoting() -> None:
    info = parse_showvminfo('name="a \\"quoted\\" \\\\ vm"\nVMState="saved"\n"SATA-0-0"="none"\n')
    assert (info.name, info.state) == ('a "quoted" \\ vm', "saved")


def test_parse_list_vms_and_version() -> None:
    assert parse_list_vms(recorded("vboxmanage/list-vms.txt")) == ["default", "dev"]
    assert parse_list_vms("") == []
    assert parse_version("6.1.50r161033") == (6, 1, 50)
    assert parse_version("5.0.16_Ubuntur105871") == (5, 0, 16)


def test_parse_rule_strips_whitespace_and_lowercases_the_protocol() -> None:
    assert parse_rule(" web , TCP , , 8080 , , 80 ") == NatRule("web", "tcp", "", 8080, "", 80)
    with pytest.raises(ValueError):
        parse_rule("ssh,tcp,127.0.0.1,2222")
