"""The stand-ins say what the real tools say (shared/reference/docker-machine.md).

Tests of dockerhello are only as good as the stand-ins they drive, so the stand-ins' own
texts, streams and exit codes are checked against the reference here.
"""

from __future__ import annotations

import pytest

from tests.conftest import STANDINS, MachineWorld

PROG = STANDINS / "docker-machine"  # argv[0], as the real tool prints it

CREATE = [
    "docker-machine", "create", "--driver", "virtualbox", "--virtualbox-hostonly-cidr", "192.168.56.1/24", "dev",
]  # fmt: skip


def test_ls_table_pads_every_cell_but_the_last(world: MachineWorld) -> None:
    empty = world.tool("docker-machine", "ls")
    assert empty.stdout == "NAME   ACTIVE   DRIVER   STATE   URL   SWARM   DOCKER   ERRORS\n"
    assert world.tool(*CREATE).returncode == 0
    world.tool("docker-machine", "stop", "dev")
    assert world.tool("docker-machine", "ls").stdout.splitlines() == [
        "NAME   ACTIVE   DRIVER       STATE     URL   SWARM   DOCKER    ERRORS",
        "dev    -        virtualbox   Stopped                 Unknown   ",
    ]


def test_create_streams_and_final_line(world: MachineWorld) -> None:
    proc = world.tool(*CREATE)
    lines = proc.stdout.splitlines()
    assert lines[:4] == [
        f"Creating CA: {world.storage}/certs/ca.pem",
        f"Creating client certificate: {world.storage}/certs/cert.pem",
        "Running pre-create checks...",
        "Creating machine...",
    ]
    assert "Docker is up and running!" in lines
    assert lines[-1].startswith(
        "To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: "
    )
    assert proc.stderr == ""
    again = world.tool(*CREATE)
    assert (again.returncode, again.stderr) == (1, 'Docker machine "dev" already exists\n')


def test_create_errors(world: MachineWorld) -> None:
    bad = world.tool("docker-machine", "create", "bad_name")
    assert (bad.returncode, bad.stderr) == (
        1,
        "Error creating machine: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -\n",
    )
    vtx = world.tool("docker-machine", "create", "x", env={"STANDIN_CREATE_FAIL": "vtx"})
    assert vtx.returncode == 3
    assert vtx.stderr.startswith("Error with pre-create check: \"This computer doesn't have VT-X/AMD-v enabled.")
    assert not (world.storage / "machines" / "x").exists()  # nothing is stored after a pre-create failure
    old_cidr = world.tool("docker-machine", "create", "y")
    assert old_cidr.returncode == 1
    assert "Code E_ACCESSDENIED (0x80070005) - Access denied" in old_cidr.stderr
    assert (world.storage / "machines" / "y" / "config.json").exists()  # a later failure leaves the entry


def test_env_texts(world: MachineWorld) -> None:
    world.tool(*CREATE)
    proc = world.tool("docker-machine", "env", "--shell", "fish", "dev")
    lines = proc.stdout.splitlines()
    assert lines[0] == 'set -gx DOCKER_TLS_VERIFY "1";'
    assert lines[-2] == "# Run this command to configure your shell: "
    assert lines[-1].endswith("docker-machine env --shell fish dev)")
    no_shell = world.tool("docker-machine", "env", "dev", env={"SHELL": ""})
    assert (no_shell.returncode, no_shell.stderr) == (1, "Error: Unknown shell\n")
    world.tool("docker-machine", "stop", "dev")
    stopped = world.tool("docker-machine", "env", "dev")
    assert (stopped.returncode, stopped.stderr) == (1, "Error checking TLS connection: Host is not running\n")


def test_lifecycle_messages(world: MachineWorld) -> None:
    world.tool(*CREATE)
    running = world.tool("docker-machine", "start", "dev")
    assert (running.returncode, running.stdout, running.stderr) == (
        1,
        'Starting "dev"...\n',
        'Machine "dev" is already running.\n',
    )
    assert world.tool("docker-machine", "stop", "dev").stdout == 'Stopping "dev"...\nMachine "dev" was stopped.\n'
    assert world.tool("docker-machine", "status", "dev").stdout == "Stopped\n"
    ip = world.tool("docker-machine", "ip", "dev")
    assert (ip.returncode, ip.stderr) == (1, "Error getting IP address: Host is not running\n")
    missing = world.tool("docker-machine", "rm", "-y", "ghost")
    assert missing.stderr == (
        'Error removing host "ghost": Docker machine "ghost" does not exist. Use "docker-machine ls" to list '
        'machines. Use "docker-machine create" to add a new one.\n'
    )
    assert world.tool("docker-machine", "status").stderr == (
        'Error: No machine name(s) specified and no "default" machine exists\n'
    )
    removed = world.tool("docker-machine", "rm", "-y", "dev")
    assert removed.stdout.splitlines()[-1] == "Successfully removed dev"
    assert world.tool("VBoxManage", "list", "vms").stdout == ""


def test_vboxmanage_nat_rules_follow_vm_state(world: MachineWorld) -> None:
    world.tool(*CREATE)
    locked = world.tool("VBoxManage", "modifyvm", "dev", "--natpf1", "web,tcp,127.0.0.1,8000,,8000")
    assert locked.returncode == 1
    assert locked.stderr.splitlines()[0] == (
        "VBoxManage: error: The machine 'dev' is already locked for a session (or being unlocked)"
    )
    dashed = world.tool("VBoxManage", "controlvm", "dev", "--natpf1", "web,tcp,127.0.0.1,8000,,8000")
    assert dashed.returncode == 2
    assert dashed.stderr.splitlines()[-1] == "Syntax error: Invalid parameter '--natpf1'"
    assert world.tool("VBoxManage", "controlvm", "dev", "natpf1", "web,tcp,127.0.0.1,8000,,8000").returncode == 0
    clash = world.tool("VBoxManage", "controlvm", "dev", "natpf1", "web2,tcp,127.0.0.1,8000,,80")
    assert (
        clash.stderr.splitlines()[0]
        == "VBoxManage: error: A NAT rule for this host port and this host IP already exists"
    )
    # VirtualBox compares host IP strings: "" and 127.0.0.1 on one port are no clash to it.
    assert world.tool("VBoxManage", "controlvm", "dev", "natpf1", "web3,tcp,,8000,,81").returncode == 0
    world.tool("docker-machine", "stop", "dev")
    off = world.tool("VBoxManage", "controlvm", "dev", "natpf1", "delete", "web")
    assert (off.returncode, off.stderr) == (1, "VBoxManage: error: Machine 'dev' is not currently running\n")
    assert world.tool("VBoxManage", "modifyvm", "dev", "--natpf1", "delete", "web").returncode == 0
    gone = world.tool("VBoxManage", "modifyvm", "dev", "--natpf1", "delete", "web")
    assert gone.stderr.splitlines()[0] == (
        "VBoxManage: error: Code NS_ERROR_INVALID_ARG (0x80070057) - Invalid argument value (extended info not available)"
    )
    info = world.tool("VBoxManage", "showvminfo", "dev", "--machinereadable").stdout
    forwarding = [line for line in info.splitlines() if line.startswith("Forwarding(")]
    assert forwarding[0].startswith('Forwarding(0)="ssh,tcp,127.0.0.1,')
    assert forwarding[1] == 'Forwarding(1)="web3,tcp,,8000,,81"'
    unknown = world.tool("VBoxManage", "showvminfo", "nope", "--machinereadable")
    assert unknown.stderr.splitlines()[0] == "VBoxManage: error: Could not find a registered machine named 'nope'"


def test_driver_calls_match_the_reference_sequence(world: MachineWorld) -> None:
    world.tool(*CREATE)
    vbox = [call[1:] for call in world.calls("VBoxManage")]
    assert ["createvm", "--basefolder", f"{world.storage}/machines/dev", "--name", "dev", "--register"] in vbox
    assert ["modifyvm", "dev", "--natpf1", "delete", "ssh"] in vbox
    assert ["startvm", "dev", "--type", "headless"] in vbox
    assert vbox.index(["modifyvm", "dev", "--natpf1", "delete", "ssh"]) < vbox.index(
        ["startvm", "dev", "--type", "headless"]
    )


# -- 1.13 Unusual arguments -----------------------------------------------------------------


@pytest.mark.parametrize("command", ["stop", "start", "status", "env", "ip", "inspect"])
def test_an_unknown_flag_is_incorrect_usage_exit_0_and_touches_no_machine(world: MachineWorld, command: str) -> None:
    assert world.tool(*CREATE).returncode == 0
    assert world.tool("docker-machine", "create", "--driver", "virtualbox", "--virtualbox-hostonly-cidr",
                      "192.168.56.1/24", "default").returncode == 0  # fmt: skip
    before = world.tool("docker-machine", "ls").stdout
    proc = world.tool("docker-machine", command, "-x")
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[:3] == ["Incorrect Usage.", "", f"Usage: {PROG} {command} " +
                                            ("[OPTIONS] [arg...]" if command in ("env", "inspect") else "[arg...]")]  # fmt: skip
    assert proc.stderr == "flag provided but not defined: -x\n"
    # It did not fall back to the default machine: both still run.
    assert world.tool("docker-machine", "ls").stdout == before


def test_rm_y_with_an_unknown_flag_removes_nothing(world: MachineWorld) -> None:
    assert world.tool(*CREATE).returncode == 0
    proc = world.tool("docker-machine", "rm", "-y", "-x", "dev")
    assert (proc.returncode, proc.stderr) == (0, "flag provided but not defined: -x\n")
    assert proc.stdout.startswith("Incorrect Usage.\n\n")
    assert world.tool("docker-machine", "status", "dev").stdout == "Running\n"


def test_create_with_an_unknown_flag_exits_1(world: MachineWorld) -> None:
    proc = world.tool("docker-machine", "create", "-dash", "dev")
    assert (proc.returncode, proc.stderr) == (1, "flag provided but not defined: -dash\n")
    assert proc.stdout.startswith(f"Incorrect Usage.\n\nUsage: {PROG} create [OPTIONS] [arg...]")
    assert not (world.storage / "machines" / "dev").exists()


def test_create_refuses_a_trailing_newline_in_the_name(world: MachineWorld) -> None:
    proc = world.tool("docker-machine", "create", "--driver", "virtualbox", "dev2\n")
    assert (proc.returncode, proc.stderr) == (
        1,
        "Error creating machine: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -\n",
    )
    assert world.tool("docker-machine", "ls", "-q").stdout == ""


def test_status_of_a_missing_name_prints_it_as_given(world: MachineWorld) -> None:
    proc = world.tool("docker-machine", "status", "no\nsuch")
    assert proc.returncode == 1
    assert proc.stderr == (
        'Docker machine "no\nsuch" does not exist. Use "docker-machine ls" to list machines. Use '
        '"docker-machine create" to add a new one.\n'
    )


def test_a_long_name_is_created_whole(world: MachineWorld) -> None:
    name = "a" * 70
    assert world.tool("docker-machine", "create", "--driver", "virtualbox", "--virtualbox-hostonly-cidr",
                      "192.168.56.1/24", name).returncode == 0  # fmt: skip
    assert world.tool("docker-machine", "ls", "-q").stdout == f"{name}\n"
