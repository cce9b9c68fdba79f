from __future__ import annotations

from pathlib import Path

from provision.services.base_image import split_reference
from provision.services.build import expand_args, parse_arg_step, unignored


def test_arg_steps_of_the_classic_builder() -> None:
    assert parse_arg_step("Step 1/14 : ARG BASE_IMAGE=python:3.12-slim") == {"BASE_IMAGE": "python:3.12-slim"}
    assert parse_arg_step('Step 1/3 : ARG V="3"') == {"V": "3"}
    assert parse_arg_step("Step 2/14 : FROM ${BASE_IMAGE}") == {}
    assert parse_arg_step("Step 1/2 : ARG NO_DEFAULT") == {}


def test_expand_args_as_in_a_from_line() -> None:
    args = {"BASE_IMAGE": "python:3.12-slim", "TAG": "3.13"}
    assert expand_args("${BASE_IMAGE}", args) == "python:3.12-slim"
    assert expand_args("python:$TAG", args) == "python:3.13"
    assert expand_args("${UNKNOWN}", args) == "${UNKNOWN}"


def test_split_reference() -> None:
    assert split_reference("dockerhello/python:trixie") == ("dockerhello/python", "trixie")
    assert split_reference("helloworld") == ("helloworld", "latest")
    assert split_reference("registry:5000/name") == ("registry:5000/name", "latest")
    assert split_reference("registry:5000/name:v1") == ("registry:5000/name", "v1")


def test_what_a_context_without_dockerignore_would_carry(tmp_path: Path) -> None:
    for name in (".env", ".venv", "db.sqlite3", "manage.py"):
        (tmp_path / name).touch()
    assert unignored(tmp_path) == [".env", ".venv", "db.sqlite3"]
    (tmp_path / ".dockerignore").touch()  # whatever it says: the project chose
    assert unignored(tmp_path) == []
