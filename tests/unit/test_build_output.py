from __future__ import annotations

from provision.services.base_image import split_reference
from provision.services.build import expand_args, parse_arg_step


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
