"""Where deploy's settings come from: flag > DOCKERHELLO_* variable > project file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision import settings as deploy_settings
from provision.cli import setting_options
from provision.cli.deploy import deploy
from provision.config import load_config, parse_env_file
from provision.errors import DockerHelloError
from provision.project import Publish


def project(tmp_path: Path, pyproject: str | None = None, dedicated: str | None = None) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject)
    if dedicated is not None:
        (tmp_path / "dockerhello.toml").write_text(dedicated)
    return tmp_path


def settings(path: Path, *args: str) -> dict[str, object]:
    """The settings a `dockerhello deploy PATH ARGS...` would use, by name."""
    ctx = deploy.make_context("deploy", [str(path), *args])
    return vars(setting_options.load(path, ctx))


def test_precedence_flag_over_variable_over_file_over_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = project(tmp_path, pyproject='[tool.dockerhello]\npublish = "127.0.0.1:9001"\nkeep = 3\n')
    assert settings(path)["publish"] == Publish("127.0.0.1", 9001)
    assert settings(path)["keep"] == 3
    assert settings(path)["memory"] == 512 * 1024**2  # nothing set it: the default, "512m"
    monkeypatch.setenv("DOCKERHELLO_PUBLISH", "9002")
    assert settings(path)["publish"] == Publish("127.0.0.1", 9002)
    assert settings(path, "--publish", "9003")["publish"] == Publish("127.0.0.1", 9003)


def test_dockerhello_toml_is_read_before_pyproject(tmp_path: Path) -> None:
    path = project(tmp_path, pyproject="[tool.dockerhello]\nkeep = 3\n", dedicated="keep = 7\nread_only = false\n")
    assert (settings(path)["keep"], settings(path)["read_only"]) == (7, False)


def test_unknown_key_names_the_file_and_what_is_allowed(tmp_path: Path) -> None:
    path = project(tmp_path, pyproject='[tool.dockerhello]\npubish = "8000"\n')
    with pytest.raises(DockerHelloError) as raised:
        load_config(path, deploy_settings.DECLARATIONS)
    assert raised.value.message == f"{path}/pyproject.toml: [tool.dockerhello] pubish: unknown setting"
    assert raised.value.hint is not None and raised.value.hint.startswith("Allowed: app, publish, base_image,")


@pytest.mark.parametrize(
    ("line", "message", "hint"),
    [
        ("keep = true", "keep = True is not allowed", "It must be a number of release images to keep."),
        ('cpus = "two"', "cpus = 'two' is not allowed", "It must be a number of CPUs such as 1.5, or 0 for no limit."),
        ("env = { PORT = 8000 }", "env.PORT = 8000 is not allowed", None),
    ],
)
def test_bad_values_name_the_file_the_key_and_what_is_allowed(
    tmp_path: Path, line: str, message: str, hint: str | None
) -> None:
    path = project(tmp_path, dedicated=line + "\n")
    with pytest.raises(DockerHelloError) as raised:
        load_config(path, deploy_settings.DECLARATIONS)
    assert raised.value.message == f"{path}/dockerhello.toml: {message}"
    if hint:
        assert raised.value.hint == hint


def test_a_value_the_flag_would_refuse_is_refused_from_the_file_too(tmp_path: Path) -> None:
    path = project(tmp_path, dedicated='publish = "99999"\n')
    with pytest.raises(DockerHelloError) as raised:
        settings(path)
    assert raised.value.message == (
        f"{path}/dockerhello.toml: publish = '99999' is not allowed: '99999' is not a port number between 1 and 65535"
    )


def test_env_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# comment\n\nA=1\nexport B = two words \nC='quoted # not a comment'\nD=\"x\"\nE=\n")
    assert parse_env_file(env) == {"A": "1", "B": "two words", "C": "quoted # not a comment", "D": "x", "E": ""}


def test_a_bad_env_file_line_is_named_without_its_value(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("A=1\nthis is s3cret\n")
    with pytest.raises(DockerHelloError) as raised:
        parse_env_file(env)
    assert raised.value.message == f"{env}:2: expected NAME=VALUE"
    assert "s3cret" not in str(raised.value.message) + str(raised.value.hint)


def test_a_flag_can_give_no_limit_over_the_files_limit(tmp_path: Path) -> None:
    # `--memory ""` gives None, which is a value: it must not fall back to the file's or the default.
    path = project(tmp_path, dedicated='memory = "300m"\ncpus = 0.5\n')
    assert (settings(path)["memory"], settings(path)["cpus"]) == (300 * 2**20, 0.5)
    assert (settings(path, "--memory", "", "--cpus", "0")["memory"], settings(path, "--cpus", "0")["cpus"]) == (
        None,
        None,
    )
