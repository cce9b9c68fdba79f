"""Property tests: no text makes a validator or a parser raise anything but its own error.

Validators raise ValueError (which the command line turns into a usage error), parsers of
the tools' output and of dockerhello's own files raise DockerHelloError or skip what they
cannot read. What a validator accepts is also checked against the rule it promises.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provision import validators
from provision.adapters.docker_machine import parse_env, parse_inspect, parse_ls
from provision.adapters.vboxmanage import parse_list_vms, parse_machinereadable, parse_showvminfo, parse_version
from provision.config import load_config, parse_env_file
from provision.errors import DockerHelloError
from provision.owned import image_volume
from provision.services.build import expand_args, parse_arg_step
from provision.services.releases import ReleaseState, parse_records
from provision.settings import DECLARATIONS

# Text as users and tools produce it, odd characters included: controls, newlines, NUL.
TEXT = st.text(st.characters(codec="utf-8"), max_size=80) | st.sampled_from(
    [
        "",
        "-x",
        "--",
        "a\n",
        " 8000",
        "1_0",
        "0x10",
        "\uff11\uff12",
        "nan",
        "inf",
        "1e3",
        "127.0.0.1\n",
        "::1",
        "a" * 300,
    ]
)

VALIDATORS: dict[str, Callable[[str], Any]] = {
    "machine_name": validators.machine_name,
    "app_name": validators.app_name,
    "release_id": validators.release_id,
    "port": validators.port,
    "count": validators.count,
    "seconds": validators.seconds,
    "cpus": validators.cpus,
    "memory": validators.memory,
    "env_name": validators.env_name,
    "env_pair": validators.env_pair,
    "image": validators.image,
    "debian_suite": validators.debian_suite,
    "mirror": validators.mirror,
    "ipv4_host": validators.ipv4_host,
    "hostonly_cidr": validators.hostonly_cidr,
    "publish": validators.publish,
}


@pytest.mark.parametrize("name", list(VALIDATORS))
@given(text=TEXT)
def test_a_validator_raises_only_its_own_error(name: str, text: str) -> None:
    try:
        VALIDATORS[name](text)
    except ValueError as exc:
        assert str(exc)  # a message that says what is allowed


@given(text=TEXT)
def test_an_accepted_machine_name_cannot_be_read_as_a_flag(text: str) -> None:
    try:
        name = validators.machine_name(text)
    except ValueError:
        return
    assert name == text
    assert not name.startswith("-")
    assert re.fullmatch(r"[0-9A-Za-z.-]+", name) and len(name) <= 250


@given(text=TEXT | st.from_regex(r"[a-z0-9-]{1,40}", fullmatch=True))
def test_an_accepted_app_name_makes_valid_container_image_and_dns_names(text: str) -> None:
    try:
        name = validators.app_name(text)
    except ValueError:
        return
    release = "20261123-215501-1a2b3c4-dirty"
    label = f"{name}-{release}"
    assert len(label) <= 63 and re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", label)
    # An image repository's path component, distribution/reference's grammar.
    assert re.fullmatch(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", name)


@given(text=TEXT | st.from_regex(r"[0-9]{1,6}", fullmatch=True))
def test_an_accepted_port_is_a_port(text: str) -> None:
    try:
        port = validators.port(text)
    except ValueError:
        return
    assert 1 <= port <= 65535 and str(port) == text.lstrip("0")


@given(text=TEXT | st.from_regex(r"[0-9]{1,8}[kKmMgGbB]?", fullmatch=True))
def test_an_accepted_memory_size_is_one_the_engine_takes(text: str) -> None:
    try:
        size = validators.memory(text)
    except ValueError:
        return
    assert size is None or validators.MEMORY_MIN <= size <= validators.MEMORY_MAX


@given(text=TEXT | st.from_regex(r"[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True))
def test_accepted_cpus_are_none_or_at_least_a_hundredth(text: str) -> None:
    try:
        cpus = validators.cpus(text)
    except ValueError:
        return
    assert cpus is None or cpus >= 0.01


@given(text=TEXT)
def test_an_accepted_env_pair_has_a_name_the_shell_allows(text: str) -> None:
    try:
        name, value = validators.env_pair(text)
    except ValueError:
        return
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and "\0" not in value


# -- parsers of the tools' output ---------------------------------------------------------------


@given(text=TEXT | st.lists(TEXT, max_size=8).map("\t".join))
def test_tool_output_parsers_never_raise(text: str) -> None:
    parse_ls(text)
    parse_env(text)
    parse_machinereadable(text)
    parse_showvminfo(text)
    parse_list_vms(text)
    parse_arg_step(text)
    expand_args(text, {"A": "b"})


@given(text=TEXT)
def test_inspect_and_version_raise_only_dockerhellos_error(text: str) -> None:
    for parse in (parse_inspect, parse_version):
        with contextlib.suppress(DockerHelloError):
            parse(text)


# -- dockerhello's own files --------------------------------------------------------------------

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
RECORD_ROW = st.fixed_dictionaries(
    {"id": st.text(max_size=8), "image": st.text(max_size=8), "created": st.text(max_size=8),
     "state": st.sampled_from([*(s.value for s in ReleaseState), "exploded"]) | st.none()},
    optional={"git": st.none() | st.text(max_size=5) | st.integers(), "note": st.text(max_size=5)},
)  # fmt: skip


@given(data=JSONISH | st.fixed_dictionaries({"releases": st.lists(RECORD_ROW | JSONISH, max_size=5)}))
def test_a_release_record_keeps_what_it_can_and_says_what_it_skipped(data: object) -> None:
    import json

    releases, skipped = parse_records(json.dumps(data))
    if isinstance(data, dict) and isinstance(data.get("releases"), list):
        assert len(releases) + len(skipped) == len(data["releases"])
    assert all(isinstance(release.state, ReleaseState) for release in releases)


@given(text=TEXT)
def test_a_record_that_is_not_json_is_skipped_whole(text: str) -> None:
    releases, skipped = parse_records(text)
    assert releases or skipped or text.strip().startswith(("{", "["))


@settings(max_examples=60, deadline=None)
@given(
    content=st.binary(max_size=120) | TEXT.map(str.encode), name=st.sampled_from(["pyproject.toml", "dockerhello.toml"])
)
def test_a_configuration_file_parses_or_is_one_dockerhello_error(content: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / name).write_bytes(content)
        try:
            load_config(Path(directory), DECLARATIONS)
        except DockerHelloError as exc:
            assert exc.message.startswith(str(Path(directory) / name))


@settings(max_examples=60, deadline=None)
@given(content=st.binary(max_size=120) | TEXT.map(str.encode))
def test_an_env_file_parses_or_is_one_error_that_never_shows_a_value(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "prod.env"
        path.write_bytes(content)
        try:
            values = parse_env_file(path)
        except DockerHelloError as exc:
            assert exc.message.startswith(f"{path}:")
            assert re.fullmatch(rf"{re.escape(str(path))}:\d+: (expected NAME=VALUE|not UTF-8 text)", exc.message)
            return
        assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) for name in values)


@given(path=TEXT)
def test_an_image_volume_has_a_name_the_engine_accepts_whatever_the_path(path: str) -> None:
    # The engine's rule for a volume's name (daemon/names: RestrictedNamePattern).
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+", image_volume("shop", "/" + path))
