"""`dockerhello config`: each setting a deploy would use, and where it comes from, highest first:
the flag, the DOCKERHELLO_* variable, the project's file, the default. No engine is asked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.app import App
from provision.cli import cli
from provision.services.plan import DeployResult
from tests.conftest import Dockerhello

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}  # a command that asked one would fail


def project_with(tmp_path: Path, files: dict[str, str]) -> Path:
    project = tmp_path / "shop"
    project.mkdir()
    (project / "Dockerfile").write_text("FROM scratch\n")
    for name, text in files.items():
        (project / name).write_text(text)
    return project


def rows(output: str) -> dict[str, tuple[str, str]]:
    """The table's rows: SETTING -> (VALUE, SOURCE); columns are two spaces apart or more."""
    lines = output.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["SETTING", "VALUE", "SOURCE"]
    cells = [re.split(r"\s{2,}", line) for line in lines[1:]]
    return {setting: (value, source) for setting, value, source in cells}


def test_each_setting_says_which_layer_gave_it(dockerhello: Dockerhello, tmp_path: Path) -> None:
    project = project_with(tmp_path, {
        "dockerhello.toml": 'memory = "1g"\nread_only = false\nkeep = 4\nenv = { DEBUG = "debug-value" }\n'
                            'env_file = "prod.env"\n',
        "prod.env": "PASSWORD=hunter2-value\n",
    })  # fmt: skip
    toml = f"{project}/dockerhello.toml"

    result = dockerhello("config", str(project), "--read-only", "--env", "EXTRA=extra-value", "--db", "sqlite",
                         env={**NO_ENGINE, "DOCKERHELLO_CPUS": "1.5", "DOCKERHELLO_KEEP": "3"})  # fmt: skip

    assert result.exit_code == 0, result.output
    shown = rows(result.stdout)
    assert shown["app"] == ("shop", "PATH's directory name")
    assert shown["publish"] == ("127.0.0.1:8000", "default")
    assert shown["base_image"] == ("the Dockerfile's", "default")
    assert shown["memory"] == ("1g", f"{toml}: memory")
    assert shown["cpus"] == ("1.5", "DOCKERHELLO_CPUS")
    assert shown["keep"] == ("3", "DOCKERHELLO_KEEP")  # the variable over the file's 4
    assert shown["read_only"] == ("read-only", "--read-only")  # the flag over the file's false
    assert shown["database"] == ("sqlite", "--db")
    assert shown["health_timeout"] == ("120 s", "default")
    assert shown["pull"] == ("no-pull", "default")
    assert shown["env"] == (
        "DEBUG, PASSWORD, EXTRA (values not shown)",
        f"{toml}: env, then {toml}: env_file, then --env",
    )
    assert shown["env_file"] == ("prod.env", f"{toml}: env_file")
    assert list(shown) == ["app", "publish", "base_image", "pull", "cache", "health_timeout", "keep", "database",
                           "migrate", "health_path", "registry", "memory", "cpus", "read_only", "drop_capabilities",
                           "no_new_privileges", "allow_root", "env", "env_file"]  # fmt: skip
    for value in ("debug-value", "hunter2-value", "extra-value"):
        assert value not in result.output + result.stderr
    assert result.stderr == f"Settings of a deploy of shop from {project}\n"


def test_json_writes_each_value_as_the_file_does(dockerhello: Dockerhello, tmp_path: Path) -> None:
    project = project_with(tmp_path, {
        "pyproject.toml": '[tool.dockerhello]\napp = "storefront"\nmemory = ""\nenv = { TOKEN = "token-value" }\n',
    })  # fmt: skip

    result = dockerhello("config", str(project), "--json", "--publish", "9000", "--writable", env=NO_ENGINE)

    assert result.exit_code == 0, result.output
    shown = {item["setting"]: (item["value"], item["source"]) for item in json.loads(result.stdout)}
    where = f"{project}/pyproject.toml: [tool.dockerhello]"
    assert shown["app"] == ("storefront", f"{where} app")
    assert shown["publish"] == ("127.0.0.1:9000", "--publish")
    assert shown["memory"] == ("", f"{where} memory")  # no limit, as the file says it
    assert shown["cpus"] == (0, "default")
    assert shown["read_only"] == (False, "--writable")
    assert shown["base_image"] == (None, "default")
    assert shown["health_timeout"] == (120, "default")
    assert shown["env"] == (["TOKEN"], f"{where} env")
    assert shown["env_file"] == ([], "default")
    assert "token-value" not in result.stdout


def test_without_a_dockerfile_it_says_what_deploy_says(dockerhello: Dockerhello, tmp_path: Path) -> None:
    result = dockerhello("config", str(tmp_path), env=NO_ENGINE)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == f"Error: No Dockerfile in {tmp_path}"


def test_a_memory_size_is_written_in_the_largest_unit_it_is_a_whole_number_of() -> None:
    from provision.cli.config import size
    from provision.validators import memory

    for text in ("1g", "1536m", "6145k", "6291457"):
        count = memory(text)
        assert count is not None
        assert size(count) == text  # and --memory reads it back as the same size


def test_on_a_machine_it_says_what_a_deploy_adds_there(dockerhello: Dockerhello, tmp_path: Path) -> None:
    project = project_with(tmp_path, {})
    machine = {"DOCKER_HOST": "tcp://192.168.56.101:2376", "DOCKER_MACHINE_NAME": "dev"}  # as `dockerhello env` sets
    listens = "  listens on 0.0.0.0 inside the VM: VirtualBox's NAT forwards to the VM's address, and only this host " \
              "reaches the VM"  # fmt: skip

    result = dockerhello("config", str(project), env=machine)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-3:] == [
        "On machine dev (DOCKER_MACHINE_NAME), a deploy also:",
        listens,
        "  sets ALLOWED_HOSTS=localhost,127.0.0.1,[::1],192.168.56.101: the VM's IP too (your own ALLOWED_HOSTS stands)",
    ]
    own = dockerhello("config", str(project), "--env", "ALLOWED_HOSTS=shop.example", env=machine)
    assert own.stderr.splitlines()[-2:] == ["On machine dev (DOCKER_MACHINE_NAME), a deploy also:", listens]
    local = dockerhello("config", str(project), env=NO_ENGINE)
    assert "a deploy also" not in local.stderr


class Recording:
    """Stands in for the operator and the deployer: what `prune` and `rollback` were told."""

    def __init__(self) -> None:
        self.told: list[tuple[str, object]] = []

    def prune(self, app: str, keep: int) -> tuple[list[str], int]:
        self.told.append(("keep", keep))
        return [], 0

    def serving_options(self, app: str, health_timeout: float) -> str:
        self.told.append(("health_timeout", health_timeout))
        return "options"

    def rollback(self, app: str, release: str | None, options: str) -> DeployResult:
        return DeployResult(app, "20261208-000000", f"{app}:20261208-000000", "http://localhost:8000/")


@pytest.mark.parametrize(
    ("file", "env", "flags", "expected"),
    [("", {}, [], [("keep", 5), ("health_timeout", 120)]),
     ("keep = 12\nhealth_timeout = 300\n", {}, [], [("keep", 12), ("health_timeout", 300)]),
     ("keep = 12\nhealth_timeout = 300\n", {"DOCKERHELLO_KEEP": "7", "DOCKERHELLO_HEALTH_TIMEOUT": "200"}, [],
      [("keep", 7), ("health_timeout", 200)]),
     ("keep = 12\nhealth_timeout = 300\n", {"DOCKERHELLO_KEEP": "7"}, ["--keep", "3", "--health-timeout", "30"],
      [("keep", 3), ("health_timeout", 30)])],
)  # fmt: skip
def test_prune_and_rollback_keep_and_wait_as_the_projects_deploys_do(
    tmp_path: Path, file: str, env: dict[str, str], flags: list[str], expected: list[tuple[str, object]]
) -> None:
    # A project that keeps 12 releases must not lose 7 of them to a `prune` that kept 5.
    project = project_with(tmp_path, {"dockerhello.toml": file})
    app = App.create({**NO_ENGINE, **env, "DOCKERHELLO_HOME": str(tmp_path / "state")}, state_dir=tmp_path / "state")
    recording = Recording()
    app.operator = lambda name, machine: recording  # type: ignore[method-assign,assignment,return-value]
    app.deployer = lambda target: recording  # type: ignore[method-assign,assignment,return-value]
    keep, timeout = flags[:2], flags[2:]
    for argv in (["prune", "--path", str(project), *keep], ["rollback", "--path", str(project), *timeout]):
        result = CliRunner().invoke(cli, argv, obj=app, prog_name="dockerhello", env=env)
        assert result.exit_code == 0, result.output
    assert recording.told == expected
