"""`dockerhello machine`, `env` and `forward-port` against the stand-in tools on PATH."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.conftest import Dockerhello, MachineWorld, dockerhello_in, free_port


@pytest.fixture
def dh(world: MachineWorld, tmp_path: Path) -> Dockerhello:
    return dockerhello_in(world, tmp_path / "state")


def created(dh: Dockerhello, world: MachineWorld, name: str = "dev") -> None:
    result = dh("machine", "create", name)
    assert result.exit_code == 0, result.stderr
    world.forget_calls()


# -- machine create ------------------------------------------------------------------------


def test_create_sends_the_tutorials_machine(dh: Dockerhello, world: MachineWorld) -> None:
    result = dh("machine", "create")
    assert result.exit_code == 0, result.stderr
    assert ["docker-machine", "create", "--driver", "virtualbox", "--virtualbox-cpu-count", "2",
            "--virtualbox-memory", "4096", "--virtualbox-disk-size", "5000",
            "--virtualbox-hostonly-cidr", "192.168.56.1/24", "default"] in world.calls("docker-machine")  # fmt: skip
    # docker-machine's progress is streamed to the user, and the outcome said.
    assert "(default) Creating VirtualBox VM..." in result.stderr
    assert 'Machine "default" was created.' in result.stderr
    assert result.stdout == ""
    inspect = json.loads(world.tool("docker-machine", "inspect", "default").stdout)
    assert (inspect["Driver"]["CPU"], inspect["Driver"]["Memory"], inspect["Driver"]["DiskSize"]) == (2, 4096, 5000)


def test_create_overrides(dh: Dockerhello, world: MachineWorld) -> None:
    args = [
        "machine",
        "create",
        "big",
        "--cpus",
        "4",
        "--memory",
        "8192",
        "--disk-size",
        "20000",
        "--hostonly-cidr",
        "192.168.57.1/24",
    ]
    assert dh(*args).exit_code == 0
    create = next(call for call in world.calls("docker-machine") if call[1] == "create")
    assert create[2:] == ["--driver", "virtualbox", "--virtualbox-cpu-count", "4", "--virtualbox-memory", "8192",
                          "--virtualbox-disk-size", "20000", "--virtualbox-hostonly-cidr", "192.168.57.1/24", "big"]  # fmt: skip


def test_create_twice_reports_the_running_machine_and_starts_a_stopped_one(
    dh: Dockerhello, world: MachineWorld
) -> None:
    created(dh, world)
    again = dh("machine", "create", "dev")
    assert again.exit_code == 0
    assert 'Machine "dev" already exists and is running.' in again.stderr
    assert not any(call[1] == "create" for call in world.calls("docker-machine"))
    world.tool("docker-machine", "stop", "dev")
    world.forget_calls()
    third = dh("machine", "create", "dev")
    assert third.exit_code == 0
    assert 'Machine "dev" was started.' in third.stderr
    assert ["docker-machine", "start", "dev"] in world.calls("docker-machine")
    assert world.tool("docker-machine", "status", "dev").stdout == "Running\n"


@pytest.mark.parametrize("name", ["bad_name", "-x", ".", "∞", "dev2\n"])
def test_an_invalid_name_is_refused_before_anything_runs(dh: Dockerhello, world: MachineWorld, name: str) -> None:
    result = dh("machine", "create", "--", name)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for '[NAME]': {name!r} is not a machine name: docker-machine allows letters, "
        "digits, '.' and '-', starting with a letter or digit"
    )
    assert world.calls() == []


def test_a_network_address_as_cidr_is_refused_before_anything_runs(dh: Dockerhello, world: MachineWorld) -> None:
    result = dh("machine", "create", "dev", "--hostonly-cidr", "192.168.56.0/24")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--hostonly-cidr': 192.168.56.0/24 is a network address; docker-machine needs "
        "a host address, e.g. 192.168.56.1/24"
    )
    assert world.calls() == []


def test_a_failed_create_removes_the_broken_entry_and_says_so(dh: Dockerhello, world: MachineWorld) -> None:
    result = dh("machine", "create", "dev", env={"STANDIN_CREATE_FAIL": "ssh"})
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert (
        'Removed the broken machine "dev" that the failed create left behind (--keep-on-failure keeps it for debugging).'
        in lines
    )
    assert lines[lines.index("Error: docker-machine create failed: Error creating machine: Error in driver during machine "
                             "creation: Too many retries waiting for SSH to be available.  Last error: Maximum number "
                             "of retries (60) exceeded")] is not None  # fmt: skip
    assert ["docker-machine", "rm", "-f", "dev"] in world.calls("docker-machine")
    assert world.tool("docker-machine", "ls", "-q").stdout == ""
    assert world.tool("VBoxManage", "list", "vms").stdout == ""


def test_keep_on_failure_keeps_the_entry(dh: Dockerhello, world: MachineWorld) -> None:
    result = dh("machine", "create", "dev", "--keep-on-failure", env={"STANDIN_CREATE_FAIL": "ssh"})
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].endswith(
        "The broken machine entry was kept (remove it with `dockerhello machine rm -y dev`)."
    )
    assert world.tool("docker-machine", "ls", "-q").stdout == "dev\n"


def test_docker_machines_old_default_cidr_on_new_virtualbox_gets_the_way_out(
    dh: Dockerhello, world: MachineWorld
) -> None:
    result = dh("machine", "create", "dev", "--hostonly-cidr", "192.168.99.1/24")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Hint: VirtualBox 6.1.28 and later only allow host-only networks in 192.168.56.0/21: use --hostonly-cidr "
        "192.168.56.1/24, or allow the range in /etc/vbox/networks.conf (e.g. `* 192.168.99.0/24`)."
    )
    assert world.tool("docker-machine", "ls", "-q").stdout == ""  # the broken entry is gone


def test_a_failed_pre_create_check_stores_nothing_and_removes_nothing(dh: Dockerhello, world: MachineWorld) -> None:
    result = dh("machine", "create", "dev", env={"STANDIN_CREATE_FAIL": "vtx"})
    assert result.exit_code == 1
    assert (
        "Error: docker-machine create failed: Error with pre-create check: \"This computer doesn't have VT-X/AMD-v enabled."
        in result.stderr
    )
    assert not any(call[1] == "rm" for call in world.calls("docker-machine"))


def test_no_docker_machine_says_where_to_get_it(dh: Dockerhello, tmp_path: Path) -> None:
    result = dh("machine", "ls", env={"PATH": str(tmp_path)})
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "Error: docker-machine not found on PATH"
    assert "https://gitlab.com/gitlab-org/ci-cd/docker-machine/-/releases" in result.stderr


# -- machine ls | status | ip | start | stop | rm ---------------------------------------------


def test_ls_and_status_for_people_and_scripts(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    table = dh("machine", "ls").stdout.splitlines()
    assert table[0].split() == ["NAME", "STATE", "URL", "DOCKER", "ERRORS"]
    assert table[1].split() == ["dev", "Running", "tcp://127.0.0.1:2376", "v19.03.12"]
    listed = json.loads(dh("machine", "ls", "--json").stdout)
    assert listed == [{"name": "dev", "active": False, "driver": "virtualbox", "state": "Running",
                       "url": "tcp://127.0.0.1:2376", "docker_version": "v19.03.12", "error": None}]  # fmt: skip
    status = json.loads(dh("machine", "status", "dev", "--json").stdout)
    assert status == {"name": "dev", "state": "Running", "url": "tcp://127.0.0.1:2376", "ip": "127.0.0.1",
                      "docker_version": "v19.03.12", "error": None, "cpus": 2, "memory_mb": 4096, "disk_mb": 5000,
                      "hostonly_cidr": "192.168.56.1/24"}  # fmt: skip
    assert "Memory     4096 MB" in dh("machine", "status", "dev").stdout
    assert dh("machine", "ip", "dev").stdout == "127.0.0.1\n"
    assert world.calls("docker-machine")[0] == ["docker-machine", "ls", "--format",
        "{{.Name}}\\t{{.Active}}\\t{{.DriverName}}\\t{{.State}}\\t{{.URL}}\\t{{.DockerVersion}}\\t{{.Error}}"]  # fmt: skip


def test_the_machine_loaded_by_env_is_the_default_name(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    assert dh("machine", "ip", env={"DOCKER_MACHINE_NAME": "dev"}).stdout == "127.0.0.1\n"
    missing = dh("machine", "ip")
    assert missing.exit_code == 1
    assert missing.stderr.splitlines() == [
        'Error: Docker machine "default" does not exist',
        "Hint: Create it with `dockerhello machine create default`, or list machines with `dockerhello machine ls`.",
    ]


def test_start_and_stop_are_safe_to_repeat(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    assert 'Machine "dev" is already running.' in dh("machine", "start", "dev").stderr
    stop = dh("machine", "stop", "dev")
    assert (stop.exit_code, 'Machine "dev" was stopped.' in stop.stderr) == (0, True)
    again = dh("machine", "stop", "dev")
    assert (again.exit_code, 'Machine "dev" is already stopped (Stopped).' in again.stderr) == (0, True)
    ip = dh("machine", "ip", "dev")
    assert ip.exit_code == 3
    assert ip.stderr.splitlines() == [
        'Error: Machine "dev" is not running',
        "Hint: Start it with `dockerhello machine start dev`.",
    ]
    start = dh("machine", "start", "dev")
    assert start.exit_code == 0
    assert (
        "Started machines may have new IP addresses. You may need to re-run the `docker-machine env` command."
        in start.stderr
    )


def test_rm_asks_unless_yes(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    from click.testing import CliRunner

    from provision.app import App
    from provision.cli import cli

    app = App.create(dict(world.environ), state_dir=dh.state_dir)
    declined = CliRunner().invoke(cli, ["machine", "rm", "dev"], obj=app, input="n\n", prog_name="dockerhello")
    assert declined.exit_code == 1
    assert 'Remove machine "dev", its VM and everything on its disk? [y/N]: n' in declined.stderr
    assert world.tool("docker-machine", "ls", "-q").stdout == "dev\n"
    unanswered = CliRunner().invoke(cli, ["machine", "rm", "dev"], obj=app, input="", prog_name="dockerhello")
    assert unanswered.exit_code == 1
    assert unanswered.stderr.splitlines()[-2:] == [
        'Error: Not removing machine "dev": asked to confirm, and stdin ended without an answer',
        "Hint: Pass -y/--yes to confirm where no one can answer.",
    ]
    assert world.tool("docker-machine", "ls", "-q").stdout == "dev\n"
    removed = dh("machine", "rm", "-y", "dev")
    assert removed.exit_code == 0
    assert 'Machine "dev" was removed.' in removed.stderr
    assert world.tool("docker-machine", "ls", "-q").stdout == ""
    assert world.tool("VBoxManage", "list", "vms").stdout == ""


# -- env -------------------------------------------------------------------------------------


def test_env_prints_eval_able_code_on_stdout_only(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    result = dh("env", "dev")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout == (
        'export DOCKER_TLS_VERIFY="1"\n'
        'export DOCKER_HOST="tcp://127.0.0.1:2376"\n'
        f'export DOCKER_CERT_PATH="{world.storage}/machines/dev"\n'
        'export DOCKER_MACHINE_NAME="dev"\n'
        "# Run this command to configure your shell: \n"
        '# eval "$(dockerhello env dev)"\n'
    )
    assert ["docker-machine", "env", "--shell", "bash", "dev"] in world.calls("docker-machine")


@pytest.mark.parametrize(
    ("shell", "first", "last"),
    [
        ("zsh", 'export DOCKER_TLS_VERIFY="1"', '# eval "$(dockerhello env dev)"'),
        ("fish", 'set -gx DOCKER_TLS_VERIFY "1";', "# eval (dockerhello env --shell fish dev)"),
        (
            "powershell",
            '$Env:DOCKER_TLS_VERIFY = "1"',
            "# & dockerhello env --shell powershell dev | Invoke-Expression",
        ),
        (
            "cmd",
            "SET DOCKER_TLS_VERIFY=1",
            "REM \t@FOR /f \"tokens=*\" %i IN ('dockerhello env --shell cmd dev') DO @%i",
        ),
    ],
)
def test_env_for_each_shell(dh: Dockerhello, world: MachineWorld, shell: str, first: str, last: str) -> None:
    created(dh, world)
    lines = dh("env", "dev", "--shell", shell).stdout.splitlines()
    assert (lines[0], lines[-1]) == (first, last)


def test_env_follows_the_users_shell(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    assert dh("env", "dev", env={"SHELL": "/usr/bin/fish"}).stdout.startswith("set -gx ")


def test_env_unset_needs_no_machine(dh: Dockerhello, world: MachineWorld) -> None:
    result = dh("env", "--unset")
    assert result.stdout == (
        "unset DOCKER_TLS_VERIFY\nunset DOCKER_HOST\nunset DOCKER_CERT_PATH\nunset DOCKER_MACHINE_NAME\n"
        "# Run this command to configure your shell: \n"
        '# eval "$(dockerhello env --unset)"\n'
    )
    assert world.calls() == []
    powershell = dh("env", "--unset", "--shell", "powershell").stdout.splitlines()
    assert powershell[0] == "Remove-Item Env:\\\\DOCKER_TLS_VERIFY"


def test_env_of_a_stopped_machine(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    world.tool("docker-machine", "stop", "dev")
    result = dh("env", "dev")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        'Error: Machine "dev" is not running',
        "Hint: Start it with `dockerhello machine start dev`.",
    ]


def test_env_after_the_ip_changed_names_regenerate_certs(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    (world.storage / "machines" / "dev" / "standin-live-ip").write_text("127.0.0.2")
    result = dh("env", "dev")
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        'Error: The TLS certificates of machine "dev" no longer match it: Error checking TLS connection: Error checking '
        'and/or regenerating the certs: There was an error validating certificates for host "127.0.0.2:2376": x509: '
        "certificate is valid for 127.0.0.1, not 127.0.0.2",
        "Hint: Its IP has probably changed: run `docker-machine regenerate-certs -f dev` (this restarts its Docker "
        "engine; containers come back through their restart policy).",
    ]


# -- forward-port ------------------------------------------------------------------------------


# Host port 8000 may be in use on the machine running the tests (a deploy from the README's
# quickstart, say), so most tests forward guest port 8000 from a free host port.


def test_forward_port_on_a_running_vm_uses_controlvm_and_binds_loopback(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    port = free_port()
    result = dh("forward-port", "8000", "--host-port", str(port), "--machine", "dev")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"http://localhost:{port}/\n"
    assert f"127.0.0.1:{port} now forwards to port 8000 of VM dev (tcp-port8000)." in result.stderr
    assert ["VBoxManage", "controlvm", "dev", "natpf1", f"tcp-port8000,tcp,127.0.0.1,{port},,8000"] in world.calls(
        "VBoxManage"
    )
    info = world.tool("VBoxManage", "showvminfo", "dev", "--machinereadable").stdout
    assert f'Forwarding(1)="tcp-port8000,tcp,127.0.0.1,{port},,8000"' in info.splitlines()


def test_forward_port_defaults_to_the_same_host_port(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    port = free_port()
    assert dh("forward-port", str(port), "--machine", "dev").exit_code == 0
    assert ["VBoxManage", "controlvm", "dev", "natpf1", f"tcp-port{port},tcp,127.0.0.1,{port},,{port}"] in world.calls(
        "VBoxManage"
    )


def test_forward_port_on_a_stopped_vm_uses_modifyvm(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    world.tool("docker-machine", "stop", "dev")
    world.forget_calls()
    port = free_port()
    assert dh("forward-port", "8000", "--host-port", str(port), "--machine", "dev").exit_code == 0
    assert ["VBoxManage", "modifyvm", "dev", "--natpf1", f"tcp-port8000,tcp,127.0.0.1,{port},,8000"] in world.calls(
        "VBoxManage"
    )
    assert not any(call[1] == "controlvm" for call in world.calls("VBoxManage"))


def test_forward_port_twice_changes_nothing(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    port = free_port()
    dh("forward-port", "8000", "--host-port", str(port), "--machine", "dev")
    world.forget_calls()
    again = dh("forward-port", "8000", "--machine", "dev")
    assert again.exit_code == 0
    assert f"127.0.0.1:{port} already forwards to port 8000 of VM dev (tcp-port8000)." in again.stderr
    assert not any(call[1] in ("controlvm", "modifyvm") for call in world.calls("VBoxManage"))


def test_a_host_port_held_by_another_vms_rule(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world, "dev")
    created(dh, world, "other")
    port = free_port()
    # Another VM listens on all interfaces there: that clashes with 127.0.0.1, though
    # VirtualBox itself, comparing address strings, would accept it and fail at run time.
    world.tool("VBoxManage", "controlvm", "other", "natpf1", f"web,tcp,,{port},,80")
    result = dh("forward-port", "8000", "--host-port", str(port), "--machine", "dev")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: Host port {port} (tcp) is already taken by rule web of VM other",
        "Hint: Pick another with --host-port, or let dockerhello take the next free one: --auto-correct.",
    ]
    corrected = dh("forward-port", "8000", "--host-port", str(port), "--machine", "dev", "--auto-correct")
    assert corrected.exit_code == 0
    chosen = int(corrected.stdout.strip().rsplit(":", 1)[1].rstrip("/"))
    assert chosen > port
    assert (
        f"Warning: Host port {port} is taken by rule web of VM other: forwarding {chosen} instead." in corrected.stderr
    )
    # Safe to run twice: the corrected rule is found again, not moved.
    assert dh("forward-port", "8000", "--machine", "dev", "--auto-correct").stdout == f"http://localhost:{chosen}/\n"


def test_a_host_port_held_by_a_process(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = dh("forward-port", "8000", "--host-port", str(port), "--machine", "dev")
    assert result.exit_code == 1
    assert (
        result.stderr.splitlines()[0]
        == f"Error: Host port {port} (tcp) is already taken by another program on this host"
    )


def test_forward_port_list_and_remove(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    dh("forward-port", "8000", "--machine", "dev", "--host-port", "18000")
    listed = dh("forward-port", "--list", "--machine", "dev").stdout.splitlines()
    assert listed[0].split() == ["NAME", "PROTO", "HOST", "IP", "HOST", "PORT", "GUEST", "IP", "GUEST", "PORT"]
    assert listed[2].split() == ["tcp-port8000", "tcp", "127.0.0.1", "18000", "(guest)", "8000"]
    assert listed[1].split()[0] == "ssh"
    removed = dh("forward-port", "8000", "--remove", "--machine", "dev")
    assert "Removed the forwarding of guest port 8000/tcp on VM dev." in removed.stderr
    assert ["VBoxManage", "controlvm", "dev", "natpf1", "delete", "tcp-port8000"] in world.calls("VBoxManage")
    again = dh("forward-port", "8000", "--remove", "--machine", "dev")
    assert (
        again.exit_code,
        "VM dev has no forwarding for guest port 8000/tcp: nothing to remove." in again.stderr,
    ) == (0, True)


def test_forward_port_to_a_vm_virtualbox_does_not_know(dh: Dockerhello, world: MachineWorld) -> None:
    result = dh("forward-port", "8000", "--machine", "ghost")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "Error: VirtualBox has no VM named 'ghost'"


def test_forward_port_udp_and_other_host_ip(dh: Dockerhello, world: MachineWorld) -> None:
    created(dh, world)
    result = dh(
        "forward-port", "5353", "--protocol", "udp", "--host-ip", "0.0.0.0", "--host-port", "15353", "--machine", "dev"
    )
    assert result.exit_code == 0
    assert ["VBoxManage", "controlvm", "dev", "natpf1", "udp-port5353,udp,0.0.0.0,15353,,5353"] in world.calls(
        "VBoxManage"
    )
    assert result.stdout == ""


# -- a create that stalls or is interrupted leaves no half-made machine --------------------


def test_a_stalled_create_is_stopped_at_its_deadline_and_its_entry_removed(world: MachineWorld) -> None:
    import io

    from provision.adapters.docker_machine import DockerMachine
    from provision.console import Console
    from provision.errors import DockerHelloError
    from provision.process import Runner
    from provision.services.machines import Machines, MachineSpec

    err = io.StringIO()
    environ = {**world.environ, "STANDIN_CREATE_FAIL": "hang"}
    machines = Machines(DockerMachine(Runner(environ), create_timeout=3), Console(err=err))
    with pytest.raises(DockerHelloError) as raised:
        machines.create(MachineSpec(name="slow"))
    assert raised.value.message.startswith("docker-machine create did not finish after 3 s, silent for the last ")
    assert 'Removed the broken machine "slow" that the failed create left behind' in err.getvalue()
    assert world.tool("docker-machine", "ls", "-q").stdout == ""
    assert world.tool("VBoxManage", "list", "vms").stdout == ""


def test_ctrl_c_during_create_removes_the_machine_and_exits_130(world: MachineWorld, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    environ = {**world.environ, "STANDIN_CREATE_FAIL": "hang", "DOCKERHELLO_HOME": str(tmp_path / "state")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "provision", "machine", "create", "dev"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (world.storage / "machines" / "dev" / "config.json").exists():  # registered: now interrupt
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert stderr.splitlines()[-2:] == [
        'Removed the broken machine "dev" that the interrupted create left behind (--keep-on-failure keeps it for '
        "debugging).",
        "Interrupted.",
    ]
    assert "Traceback" not in stderr
    assert world.tool("docker-machine", "ls", "-q").stdout == ""
    # Nothing of the stalled docker-machine or its VBoxManage outlives dockerhello.
    running = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "standins/docker-machine create dev" not in running
