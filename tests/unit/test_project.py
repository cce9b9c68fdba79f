from __future__ import annotations

from pathlib import Path

import pytest

from provision.errors import DockerHelloError
from provision.files import new_file, unused_name
from provision.project import Publish, load_app_name, load_project
from provision.validators import app_name_from_directory
from provision.validators import publish as parse_publish


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8000", Publish("127.0.0.1", 8000)),
        ("0.0.0.0:80", Publish("0.0.0.0", 80)),
        ("127.0.0.2:65535", Publish("127.0.0.2", 65535)),
        ("[::1]:8080", Publish("::1", 8080)),
    ],
)
def test_parse_publish(text: str, expected: Publish) -> None:
    assert parse_publish(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "'abc' is not a port number between 1 and 65535"),
        ("0", "'0' is not a port number between 1 and 65535"),
        ("70000", "'70000' is not a port number between 1 and 65535"),
        ("localhost:8000", "'localhost' is not an IP address (expected PORT or IP:PORT, e.g. 127.0.0.1:8000)"),
        ("::1:8000", "'::1:8000' is ambiguous: write an IPv6 address in brackets, e.g. [::1]:8000"),
        ("[::1]8000", "'[::1]8000' is not IP:PORT (write an IPv6 address as [::1]:8000)"),
    ],
)
def test_parse_publish_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_publish(text)
    assert str(raised.value) == message


def test_publish_renders_as_docker_writes_it() -> None:
    assert str(Publish("::1", 8000)) == "[::1]:8000"
    assert str(Publish()) == "127.0.0.1:8000"


def project(tmp_path: Path, name: str = "My Project", pyproject: str | None = None) -> Path:
    path = tmp_path / name
    path.mkdir()
    (path / "Dockerfile").write_text("FROM scratch\n")
    if pyproject is not None:
        (path / "pyproject.toml").write_text(pyproject)
    return path


def test_app_name_comes_from_the_directory_made_valid(tmp_path: Path) -> None:
    assert load_project(project(tmp_path)).app == "my-project"


def test_app_name_comes_from_pyproject_before_the_directory(tmp_path: Path) -> None:
    path = project(tmp_path, pyproject='[tool.dockerhello]\napp = "hello"\n')
    assert load_app_name(path) == "hello"
    assert load_app_name(path, "explicit") == "explicit"
    assert load_project(path, "explicit").app == "explicit"


def test_invalid_app_name_in_the_file_is_refused_with_the_rule(tmp_path: Path) -> None:
    path = project(tmp_path, pyproject='[tool.dockerhello]\napp = "Bad_Name!"\n')
    with pytest.raises(DockerHelloError) as raised:
        load_app_name(path)
    assert raised.value.message == (
        f"{path}/pyproject.toml: [tool.dockerhello] app = 'Bad_Name!' is not allowed: 'Bad_Name!' is not an app "
        "name: use lower-case letters, digits and '-', starting and ending with a letter or digit (it names "
        "containers, images and a DNS name)"
    )


def test_missing_dockerfile(tmp_path: Path) -> None:
    with pytest.raises(DockerHelloError) as raised:
        load_project(tmp_path)
    assert raised.value.message == f"No Dockerfile in {tmp_path.resolve()}"


@pytest.mark.parametrize(
    ("directory", "app"),
    [("My Site_2", "my-site-2"), ("Café", "cafe"), ("ãpp", "app"), ("Ünïcode.Projekt", "unicode-projekt"),
     ("日本", "app"), ("--", "app"), ("a" * 80, "a" * 32)],
)  # fmt: skip
def test_a_directory_name_becomes_a_valid_app_name(directory: str, app: str) -> None:
    assert app_name_from_directory(directory) == app


def test_a_name_dockerhello_chose_that_is_taken_gets_the_next_number(tmp_path: Path) -> None:
    chosen = tmp_path / "shop-20261208-025637.sqlite3"
    assert unused_name(chosen) == chosen
    chosen.touch()
    (tmp_path / "shop-20261208-025637-2.sqlite3").symlink_to(tmp_path / "nowhere")  # taken too, dangling or not
    assert unused_name(chosen) == tmp_path / "shop-20261208-025637-3.sqlite3"


def test_two_writers_of_one_new_file_do_not_mix_and_the_second_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "backup.dump"
    writing_first = new_file(target)
    first = writing_first.__enter__()
    with new_file(target) as second:  # begun after the first, and done before it
        second.write(b"second's bytes")
        first.write(b"first's bytes")
    with pytest.raises(DockerHelloError) as refused:
        writing_first.__exit__(None, None, None)
    assert refused.value.message == f"{target} exists already"
    assert target.read_bytes() == b"second's bytes"  # whole, nothing of the first's in it
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.dump"]  # no partial file left
