"""The command line as a user meets it: help, version, and the exact error lines and exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision import __version__
from provision.cli import cli
from tests.conftest import REPO, Dockerhello, MachineWorld


def all_commands() -> list[list[str]]:
    found: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(cli, [])
    return found


@pytest.mark.parametrize("path", all_commands(), ids=lambda p: " ".join(p) or "dockerhello")
def test_every_command_has_help(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="dockerhello")
    assert result.exit_code == 0
    assert result.output.startswith(f"Usage: {' '.join(['dockerhello', *path])}")
    # A first line of help that says what the command does, not just its usage.
    assert len(result.output.splitlines()[2].strip()) > 20


def test_every_command_that_takes_an_app_reads_deploys_variable_for_it() -> None:
    def commands(command: object) -> list[object]:
        return [command, *(c for sub in getattr(command, "commands", {}).values() for c in commands(sub))]

    taking = {
        getattr(c, "name", ""): p.envvar for c in commands(cli) for p in getattr(c, "params", ()) if "--app" in p.opts
    }
    assert {"deploy", "status", "logs", "releases", "rollback", "down", "prune", "run", "backup", "restore"} <= set(
        taking
    )
    assert set(taking.values()) == {"DOCKERHELLO_APP"}, taking


def test_the_app_a_deploy_was_given_by_variable_is_the_one_status_looks_for(
    dockerhello: Dockerhello, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    result = dockerhello("status", "--path", str(tmp_path), env={"DOCKERHELLO_APP": "shpo"})
    assert result.exit_code == 1
    assert (
        result.stderr.splitlines()[0]
        == "Error: shpo is not deployed on the Docker engine at unix:///var/run/docker.sock"
    )


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.output == f"dockerhello, version {__version__}\n"


SCRIPT = Path(sys.executable).parent / "dockerhello"  # the console script of the virtualenv running the tests


def completed(words: str) -> list[str]:
    """What bash's completion, as the README loads it, offers for the last of `words`."""
    environ = {"PATH": str(SCRIPT.parent), "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1),
               "_DOCKERHELLO_COMPLETE": "bash_complete"}  # fmt: skip
    result = subprocess.run([str(SCRIPT)], env=environ, capture_output=True, text=True, timeout=60, check=True)
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]  # nothing: one empty line


def test_the_shell_completes_commands_options_and_choices() -> None:
    source = subprocess.run([str(SCRIPT)], env={"_DOCKERHELLO_COMPLETE": "bash_source"}, capture_output=True, text=True,
                            timeout=60, check=True)  # fmt: skip
    assert "complete -o nosort -F _dockerhello_completion dockerhello" in source.stdout
    assert completed("dockerhello de") == ["deploy"]
    assert completed("dockerhello machine c") == ["create"]
    assert completed("dockerhello deploy --no-c") == ["--no-cache"]
    assert completed("dockerhello env --shell ") == ["bash", "zsh", "fish", "powershell", "cmd"]
    assert completed("dockerhello deploy --db ") == ["sqlite", "postgres", "none"]
    assert completed("dockerhello init --db p") == ["postgres"]
    assert completed("dockerhello deploy --memory ") == []  # any size: nothing to offer, and no error


def test_python_dash_m_and_the_console_script_run() -> None:
    proc = subprocess.run([sys.executable, "-m", "provision", "--version"], capture_output=True, text=True, cwd=REPO)
    assert proc.stdout == f"dockerhello, version {__version__}\n"
    proc = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True)
    assert proc.stdout.startswith("Usage: dockerhello [OPTIONS] COMMAND [ARGS]...")


def test_no_engine_reachable(dockerhello: Dockerhello, tmp_path: Path) -> None:
    socket = tmp_path / "docker.sock"
    result = dockerhello("deploy", str(REPO), env={"DOCKER_HOST": f"unix://{socket}"})
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.splitlines()[1:] == [
        f"Error: Cannot reach the Docker engine at unix://{socket}: no such socket",
        "Hint: Start the engine (`sudo systemctl start docker`, or `scripts/ensure-docker` in this repository, "
        "which installs it too), or point DOCKER_HOST at a running one.",
    ]


def test_engine_refusing_connections(dockerhello: Dockerhello) -> None:
    result = dockerhello("deploy", str(REPO), env={"DOCKER_HOST": "tcp://127.0.0.1:1"})
    assert result.exit_code == 3
    assert "Error: Cannot reach the Docker engine at tcp://127.0.0.1:1: connection refused" in result.stderr


def test_missing_dockerfile(dockerhello: Dockerhello, tmp_path: Path) -> None:
    result = dockerhello("deploy", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: No Dockerfile in {tmp_path.resolve()}",
        "Hint: dockerhello deploy builds the Dockerfile at the root of PATH: run it in the project's "
        "directory or pass that directory as PATH.",
    ]


def test_missing_path(dockerhello: Dockerhello, tmp_path: Path) -> None:
    result = dockerhello("deploy", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for '[PATH]': Directory '{tmp_path / 'nope'}' does not exist."
    )


@pytest.mark.parametrize(
    ("value", "line"),
    [
        (
            "abc",
            "Error: Invalid value for '--publish' (env var: 'DOCKERHELLO_PUBLISH'): 'abc' is not a port number between 1 and 65535",
        ),
        (
            "host:80",
            "Error: Invalid value for '--publish' (env var: 'DOCKERHELLO_PUBLISH'): 'host' is not an IP address (expected PORT or IP:PORT, "
            "e.g. 127.0.0.1:8000)",
        ),
    ],
)
def test_bad_publish(dockerhello: Dockerhello, value: str, line: str) -> None:
    result = dockerhello("deploy", str(REPO), "--publish", value)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == line
    assert result.stderr.startswith(
        "Usage: dockerhello deploy [OPTIONS] [PATH]\nTry 'dockerhello deploy --help' for help.\n"
    )


def test_bad_publish_from_the_environment_is_caught_too(dockerhello: Dockerhello) -> None:
    result = dockerhello("deploy", str(REPO), env={"DOCKERHELLO_PUBLISH": "99999"})
    assert result.exit_code == 2
    assert "'99999' is not a port number between 1 and 65535" in result.stderr


@pytest.mark.parametrize("argv", [["--help"], ["env", "--help"], ["machine", "--help"], ["deploy", "--help"]])
def test_help_loads_neither_the_docker_sdk_nor_requests_nor_django_nor_openssl(argv: list[str]) -> None:
    # Start-up time: these are the heavy imports, and only commands that reach an engine need them
    # (hashlib loads OpenSSL: 5 ms).
    probe = (
        "import sys\nfrom provision.cli import cli\n"
        f"try:\n    cli.main({argv!r}, prog_name='dockerhello')\nexcept SystemExit:\n    pass\n"
        "print(','.join(m for m in ('docker', 'requests', 'django', 'urllib3', 'hashlib') if m in sys.modules), "
        "file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert proc.stdout.startswith("Usage: dockerhello")
    assert proc.stderr == "\n"


def test_env_runs_docker_machine_without_loading_the_docker_sdk(world: MachineWorld) -> None:
    created = world.tool("docker-machine", "create", "--driver", "virtualbox", "--virtualbox-hostonly-cidr",
                         "192.168.56.1/24", "dev")  # fmt: skip
    assert created.returncode == 0
    probe = (
        "import sys\nfrom provision.cli import main\nsys.argv = ['dockerhello', 'env', 'dev']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(','.join(m for m in ('docker', 'requests', 'django') if m in sys.modules) or 'none', file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, env=world.environ)
    assert 'export DOCKER_MACHINE_NAME="dev"' in proc.stdout
    assert proc.stderr.splitlines()[-1] == "none"
