from __future__ import annotations

from pathlib import Path

from provision.services.base_image import split_reference
from provision.services.build import FIX_STEP, BuildLog, expand_args, parse_arg_step, unignored

BUILDS = Path(__file__).resolve().parent.parent / "data" / "builder"


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


def failure_of(recorded: str) -> tuple[str, str | None]:
    """The error and hint of a failed build, from its output recorded from Engine 20.10's
    classic builder (its `stream` chunks, and the `error` one as ERROR-LINE)."""
    log, said = BuildLog(), ""
    for line in (BUILDS / recorded).read_text().splitlines(keepends=True):
        if line.startswith("ERROR-LINE: "):
            said = line.removeprefix("ERROR-LINE: ")
        else:
            log.feed(line)
    error = log.error(said)
    return error.message, error.hint


def test_a_failing_steps_hint_says_what_its_output_shows() -> None:
    network = failure_of("pip-without-network.txt")[1]
    assert network is not None and network.startswith("The step could not reach the network from the engine's build")
    assert failure_of("apt-without-network.txt")[1] == network  # apt words it otherwise
    message, hint = failure_of("pip-no-such-version.txt")
    assert message.endswith("returned a non-zero code: 1")
    assert hint == ("pip has no version of Django==0.0.1 for the image's Python: check that pin in requirements.txt "
                    "against the versions pip listed, and the base image's Python version.")  # fmt: skip
    assert failure_of("killed-for-memory.txt")[1] == (
        "The step was killed (SIGKILL, most often for memory): give the engine more memory, or the step less to do "
        "at once (`pip install` of fewer packages, `make -j1`).")  # fmt: skip
    log = BuildLog()
    log.feed("Step 2/2 : RUN false\n")
    assert log.error("The command '/bin/sh -c false' returned a non-zero code: 1").hint == FIX_STEP
