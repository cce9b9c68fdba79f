"""Bad inputs, as a new user types them, over every command and every file dockerhello reads.

Each case asserts the exit status, the exact `Error:` line (and `Hint:` where one helps), that
no traceback was printed, and that nothing changed: not the machines or NAT rules of the
stand-in docker-machine and VirtualBox, not dockerhello's state directory, not the Docker
engine (when one answers), and that no tool ran at all where the input is refused at the door.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import docker
import pytest
from click.testing import CliRunner, Result

from provision.app import App
from provision.cli import cli
from provision.owned import RECORDS_IMAGE
from tests.conftest import MachineWorld, make_world

NOT_MACHINE = (
    "is not a machine name: docker-machine allows letters, digits, '.' and '-', starting with a letter or digit"
)
NOT_APP = (
    "is not an app name: use lower-case letters, digits and '-', starting and ending with a letter or digit "
    "(it names containers, images and a DNS name)"
)
NOT_PORT = "is not a port number between 1 and 65535"
NOT_DATABASE = (
    "is not a database dockerhello runs: use sqlite (a file on the app's data volume), "
    "postgres (a PostgreSQL server of the app's own) or none"
)
NOT_MEMORY = 'is not a memory size such as "512m" or "1g" ("" for no limit)'
NOT_CPUS = "is not a number of CPUs such as 1 or 1.5 (0 for no limit)"
NOT_IPV4 = "is not an IPv4 address such as 127.0.0.1 (0.0.0.0: every interface)"
NOT_IMAGE = "is not an image name such as dockerhello/python:trixie"
NOT_VAR = "is not a variable name: letters, digits and '_', not starting with a digit"
NOT_RELEASE = (
    "is not a release id: releases look like 20261123-215501-1a2b3c4 (`dockerhello releases` lists them; a "
    "prefix is enough)"
)
NOT_SECONDS = "is not a number of seconds of at least 1"
NOT_CIDR = "is not a host address and prefix such as 192.168.56.1/24"
NOT_SUITE = "is not a Debian suite name such as trixie or bookworm"
NOT_MIRROR = "is not a mirror URL such as http://deb.debian.org/debian"
CONFIG_HINT = "Hint: `dockerhello deploy --help` says what --{} takes."
VAR_HINT = 'Hint: Environment entries are NAME = "value", NAME made of letters, digits and _.'
ENV_FILE_HINT = "Hint: One variable a line; NAME made of letters, digits and _."
UTF8_HINT = "Hint: Save the file as UTF-8 (dockerhello reads no other encoding)."
STATE_HINT = "Hint: Point DOCKERHELLO_HOME (or XDG_STATE_HOME) at a directory, or move that file away."


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    status: int
    error: str  # the exact Error: line; {project} and {state} stand for the case's directories
    hint: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # written into the project before the run
    tools_may_run: bool = False  # False: refused at the door, before any external tool
    needs_engine: bool = False  # refused only once the engine answered


def usage(option: str, message: str) -> str:
    return f"Error: Invalid value for '{option}': {message}"


def deploy_usage(option: str, message: str) -> str:
    """deploy's options (and every --app) can come from DOCKERHELLO_* variables, and click names the variable."""
    variable = "DOCKERHELLO_" + option.lstrip("-").replace("-", "_").upper()
    return f"Error: Invalid value for '{option}' (env var: '{variable}'): {message}"


CASES: dict[str, Case] = {
    # -- machine names, everywhere one is taken -----------------------------------------
    "create underscore": Case(("machine", "create", "bad_name"), 2, usage("[NAME]", f"'bad_name' {NOT_MACHINE}")),
    "create flag as name": Case(("machine", "create", "--", "-x"), 2, usage("[NAME]", f"'-x' {NOT_MACHINE}")),
    "create dot": Case(("machine", "create", "."), 2, usage("[NAME]", f"'.' {NOT_MACHINE}")),
    "create symbol": Case(("machine", "create", "∞"), 2, usage("[NAME]", f"'∞' {NOT_MACHINE}")),
    "create trailing newline": Case(("machine", "create", "dev2\n"), 2, usage("[NAME]", f"'dev2\\n' {NOT_MACHINE}")),
    "create empty name": Case(("machine", "create", ""), 2, usage("[NAME]", f"'' {NOT_MACHINE}")),
    "create 251 characters": Case(
        ("machine", "create", "a" * 251),
        2,
        usage("[NAME]", "a machine name is at most 250 characters (docker-machine stores it as a file)"),
    ),
    "status flag as name": Case(("machine", "status", "--", "-x"), 2, usage("[NAME]", f"'-x' {NOT_MACHINE}")),
    "status newline": Case(("machine", "status", "dev\n"), 2, usage("[NAME]", f"'dev\\n' {NOT_MACHINE}")),
    "ip flag as name": Case(("machine", "ip", "--", "-x"), 2, usage("[NAME]", f"'-x' {NOT_MACHINE}")),
    "start flag as name": Case(("machine", "start", "--", "-x"), 2, usage("[NAME]", f"'-x' {NOT_MACHINE}")),
    "stop flag as name": Case(("machine", "stop", "--", "-x"), 2, usage("[NAME]", f"'-x' {NOT_MACHINE}")),
    "rm flag as name": Case(("machine", "rm", "-y", "--", "-x"), 2, usage("[NAME]", f"'-x' {NOT_MACHINE}")),
    "rm space": Case(("machine", "rm", "-y", "dev 2"), 2, usage("[NAME]", f"'dev 2' {NOT_MACHINE}")),
    "env flag as name": Case(("env", "--", "-x"), 2, usage("[NAME]", f"'-x' {NOT_MACHINE}")),
    "deploy --machine flag": Case(
        ("deploy", "{project}", "--machine", "-x"), 2, usage("--machine", f"'-x' {NOT_MACHINE}")
    ),
    "status --machine comma": Case(("status", "--machine", "a,b"), 2, usage("--machine", f"'a,b' {NOT_MACHINE}")),
    "forward-port --machine": Case(
        ("forward-port", "8000", "--machine", "x/y"), 2, usage("--machine", f"'x/y' {NOT_MACHINE}")
    ),
    "up --machine": Case(("up", "{project}", "--machine", "-dev"), 2, usage("--machine", f"'-dev' {NOT_MACHINE}")),
    "cluster create name": Case(("cluster", "create", "web_1"), 2, usage("NAME", f"'web_1' {NOT_MACHINE}")),
    "cluster join machine": Case(("cluster", "join", "web", "a/b"), 2, usage("MACHINE...", f"'a/b' {NOT_MACHINE}")),
    "deploy --cluster": Case(
        ("deploy", "{project}", "--cluster", "-web"),
        2,
        usage("--cluster", f"'-web' {NOT_MACHINE}"),
    ),
    "deploy --registry path": Case(
        ("deploy", "{project}", "--cluster", "web", "--registry", "reg.example.com/team"),
        2,
        deploy_usage(
            "--registry", "'reg.example.com/team' is not a registry address such as registry.example.com:5000"
        ),
    ),
    "deploy --registry port": Case(
        ("deploy", "{project}", "--cluster", "web", "--registry", "reg:70000"),
        2,
        deploy_usage("--registry", "'reg:70000' is not a registry address such as registry.example.com:5000"),
    ),
    "cluster --managers even": Case(
        ("cluster", "create", "web", "--nodes", "4", "--managers", "2"),
        1,
        "Error: --managers 2: a Swarm needs an odd number of managers",
        "Hint: Raft needs a majority of managers up: 2 survive no failure (like 1) and 4 survive one (like 3), with "
        "one more machine that can break it. Use 1 (no failure survived) or 3 (one).",
    ),
    "scale without a cluster": Case(("scale", "2"), 2, "Error: Missing option '--cluster'."),
    "DOCKER_MACHINE_NAME flag": Case(
        ("machine", "stop"),
        1,
        f"Error: DOCKER_MACHINE_NAME: '-x' {NOT_MACHINE}",
        'Hint: Unset it (`eval "$(dockerhello env --unset)"`) or name a machine with --machine.',
        env={"DOCKER_MACHINE_NAME": "-x"},
    ),
    "DOCKER_MACHINE_NAME newline": Case(
        ("env",),
        1,
        f"Error: DOCKER_MACHINE_NAME: 'dev\\n' {NOT_MACHINE}",
        'Hint: Unset it (`eval "$(dockerhello env --unset)"`) or name a machine with --machine.',
        env={"DOCKER_MACHINE_NAME": "dev\n"},
    ),
    # -- machine create's sizes and network ---------------------------------------------
    "create --cpus 0": Case(
        ("machine", "create", "x", "--cpus", "0"), 2, usage("--cpus", "0 is out of range: it must be between 1 and 32")
    ),
    "create --cpus space": Case(
        ("machine", "create", "x", "--cpus", " 2"), 2, usage("--cpus", "' 2' is not a whole number")
    ),
    "create --cpus fraction": Case(
        ("machine", "create", "x", "--cpus", "2.5"), 2, usage("--cpus", "'2.5' is not a whole number")
    ),
    "create --cpus underscore": Case(
        ("machine", "create", "x", "--cpus", "1_0"), 2, usage("--cpus", "'1_0' is not a whole number")
    ),
    "create --memory words": Case(
        ("machine", "create", "x", "--memory", "lots"), 2, usage("--memory", "'lots' is not a whole number")
    ),
    "create --memory small": Case(
        ("machine", "create", "x", "--memory", "100"),
        2,
        usage("--memory", "100 is out of range: it must be between 512 and 1048576"),
    ),
    "create --disk-size negative": Case(
        ("machine", "create", "x", "--disk-size", "-5"), 2, usage("--disk-size", "'-5' is not a whole number")
    ),
    "cidr network address": Case(
        ("machine", "create", "x", "--hostonly-cidr", "192.168.56.0/24"),
        2,
        usage(
            "--hostonly-cidr",
            "192.168.56.0/24 is a network address; docker-machine needs a host address, e.g. 192.168.56.1/24",
        ),
    ),
    "cidr without prefix": Case(
        ("machine", "create", "x", "--hostonly-cidr", "192.168.56.1"),
        2,
        usage("--hostonly-cidr", "'192.168.56.1' has no prefix length: write it as 192.168.56.1/24"),
    ),
    "cidr words": Case(
        ("machine", "create", "x", "--hostonly-cidr", "abc"), 2, usage("--hostonly-cidr", f"'abc' {NOT_CIDR}")
    ),
    "cidr newline": Case(
        ("machine", "create", "x", "--hostonly-cidr", "192.168.56.1/24\n"),
        2,
        usage("--hostonly-cidr", f"'192.168.56.1/24\\n' {NOT_CIDR}"),
    ),
    "cidr ipv6": Case(
        ("machine", "create", "x", "--hostonly-cidr", "fd00::1/64"),
        2,
        usage("--hostonly-cidr", f"'fd00::1/64' {NOT_CIDR}"),
    ),
    # -- env ----------------------------------------------------------------------------
    "env unknown shell": Case(
        ("env", "--shell", "tcsh"),
        2,
        usage("--shell", "'tcsh' is not one of 'bash', 'zsh', 'fish', 'powershell', 'cmd'."),
    ),
    "env unset with a name": Case(("env", "--unset", "dev"), 2, "Error: --unset takes no machine name"),
    # -- forward-port -------------------------------------------------------------------
    "port words": Case(("forward-port", "abc"), 2, usage("[PORT]", f"'abc' {NOT_PORT}")),
    "port zero": Case(("forward-port", "0"), 2, usage("[PORT]", f"'0' {NOT_PORT}")),
    "port too big": Case(("forward-port", "70000"), 2, usage("[PORT]", f"'70000' {NOT_PORT}")),
    "port space": Case(("forward-port", " 8000"), 2, usage("[PORT]", f"' 8000' {NOT_PORT}")),
    "port sign": Case(("forward-port", "+8000"), 2, usage("[PORT]", f"'+8000' {NOT_PORT}")),
    "host port too big": Case(
        ("forward-port", "8000", "--host-port", "99999"), 2, usage("--host-port", f"'99999' {NOT_PORT}")
    ),
    "host ip malformed": Case(
        ("forward-port", "8000", "--host-ip", "999.1.1.1"), 2, usage("--host-ip", f"'999.1.1.1' {NOT_IPV4}")
    ),
    "host ip name": Case(
        ("forward-port", "8000", "--host-ip", "localhost"), 2, usage("--host-ip", f"'localhost' {NOT_IPV4}")
    ),
    "host ip comma": Case(
        ("forward-port", "8000", "--host-ip", "127.0.0.1,22"), 2, usage("--host-ip", f"'127.0.0.1,22' {NOT_IPV4}")
    ),
    "host ip newline": Case(
        ("forward-port", "8000", "--host-ip", "127.0.0.1\n"), 2, usage("--host-ip", f"'127.0.0.1\\n' {NOT_IPV4}")
    ),
    "host ip v6": Case(("forward-port", "8000", "--host-ip", "::1"), 2, usage("--host-ip", f"'::1' {NOT_IPV4}")),
    "host ip leading zeros": Case(
        ("forward-port", "8000", "--host-ip", "127.000.0.1"), 2, usage("--host-ip", f"'127.000.0.1' {NOT_IPV4}")
    ),
    "host ip not here": Case(
        ("forward-port", "8000", "--host-ip", "203.0.113.7", "--machine", "dev"),
        1,
        "Error: 203.0.113.7 is not an address of this host: VirtualBox could not listen there",
        "Hint: Use 127.0.0.1 (this host only, the default), 0.0.0.0 (every interface), or an address `ip -4 addr` "
        "lists.",
    ),
    "protocol": Case(
        ("forward-port", "8000", "--protocol", "sctp"), 2, usage("--protocol", "'sctp' is not one of 'tcp', 'udp'.")
    ),
    "port missing": Case(("forward-port",), 2, "Error: Missing argument 'PORT' (or use --list)."),
    # -- deploy's options, flags and variables ----------------------------------------------
    "publish words": Case(
        ("deploy", "{project}", "--publish", "abc"), 2, deploy_usage("--publish", f"'abc' {NOT_PORT}")
    ),
    "publish host name": Case(
        ("deploy", "{project}", "--publish", "host:80"),
        2,
        deploy_usage("--publish", "'host' is not an IP address (expected PORT or IP:PORT, e.g. 127.0.0.1:8000)"),
    ),
    "publish too big": Case(
        ("deploy", "{project}", "--publish", "99999"), 2, deploy_usage("--publish", f"'99999' {NOT_PORT}")
    ),
    "publish variable": Case(
        ("deploy", "{project}"),
        2,
        deploy_usage("--publish", f"'99999' {NOT_PORT}"),
        env={"DOCKERHELLO_PUBLISH": "99999"},
    ),
    "publish newline": Case(
        ("deploy", "{project}", "--publish", "8000\n"), 2, deploy_usage("--publish", f"'8000\\n' {NOT_PORT}")
    ),
    "publish bare ipv6": Case(
        ("deploy", "{project}", "--publish", "::1:8000"),
        2,
        deploy_usage("--publish", "'::1:8000' is ambiguous: write an IPv6 address in brackets, e.g. [::1]:8000"),
    ),
    "memory words": Case(
        ("deploy", "{project}", "--memory", "lots"), 2, deploy_usage("--memory", f"'lots' {NOT_MEMORY}")
    ),
    "memory variable": Case(
        ("deploy", "{project}"), 2, deploy_usage("--memory", f"'lots' {NOT_MEMORY}"), env={"DOCKERHELLO_MEMORY": "lots"}
    ),
    "memory too small": Case(
        ("deploy", "{project}", "--memory", "1k"),
        2,
        deploy_usage("--memory", "1k is below the 6 MB the Docker engine allows at least"),
    ),
    "memory unit": Case(("deploy", "{project}", "--memory", "5t"), 2, deploy_usage("--memory", f"'5t' {NOT_MEMORY}")),
    "cpus negative": Case(("deploy", "{project}", "--cpus", "-1"), 2, deploy_usage("--cpus", f"'-1' {NOT_CPUS}")),
    "cpus tiny": Case(
        ("deploy", "{project}", "--cpus", "0.001"),
        2,
        deploy_usage("--cpus", "0.001 CPUs is below the engine's smallest limit, 0.01 (0 for no limit)"),
    ),
    "cpus with 4 decimals": Case(
        ("deploy", "{project}", "--cpus", "0.0005"), 2, deploy_usage("--cpus", f"'0.0005' {NOT_CPUS}")
    ),
    "cpus below engine": Case(
        ("deploy", "{project}", "--cpus", "0.005"),
        2,
        deploy_usage("--cpus", "0.005 CPUs is below the engine's smallest limit, 0.01 (0 for no limit)"),
    ),
    "cpus nan": Case(("deploy", "{project}", "--cpus", "nan"), 2, deploy_usage("--cpus", f"'nan' {NOT_CPUS}")),
    "keep zero": Case(
        ("deploy", "{project}", "--keep", "0"),
        2,
        deploy_usage("--keep", "0 is out of range: it must be between 1 and 1000"),
    ),
    "health timeout zero": Case(
        ("deploy", "{project}", "--health-timeout", "0"), 2, deploy_usage("--health-timeout", f"'0' {NOT_SECONDS}")
    ),
    "health timeout inf": Case(
        ("deploy", "{project}", "--health-timeout", "inf"), 2, deploy_usage("--health-timeout", f"'inf' {NOT_SECONDS}")
    ),
    "env without =": Case(
        ("deploy", "{project}", "--env", "NOEQUALS"), 2, deploy_usage("--env", "expected NAME=VALUE, got 'NOEQUALS'")
    ),
    "env digit name": Case(("deploy", "{project}", "--env", "1BAD=x"), 2, deploy_usage("--env", f"'1BAD' {NOT_VAR}")),
    "env space in name": Case(("deploy", "{project}", "--env", "A B=x"), 2, deploy_usage("--env", f"'A B' {NOT_VAR}")),
    "env file missing": Case(
        ("deploy", "{project}", "--env-file", "{project}/missing.env"),
        2,
        deploy_usage("--env-file", "File '{project}/missing.env' does not exist."),
    ),
    "env file directory": Case(
        ("deploy", "{project}", "--env-file", "{project}"),
        2,
        deploy_usage("--env-file", "File '{project}' is a directory."),
    ),
    "app underscore": Case(
        ("deploy", "{project}", "--app", "Bad_Name"), 2, deploy_usage("--app", f"'Bad_Name' {NOT_APP}")
    ),
    "app too long": Case(
        ("deploy", "{project}", "--app", "a" * 33),
        2,
        deploy_usage("--app", "an app name is at most 32 characters (APP-RELEASE must fit a 63-character DNS name)"),
    ),
    "app 300 characters": Case(
        ("status", "--app", "a" * 300),
        2,
        deploy_usage("--app", "an app name is at most 32 characters (APP-RELEASE must fit a 63-character DNS name)"),
    ),
    "app flag": Case(("deploy", "{project}", "--app", "-x"), 2, deploy_usage("--app", f"'-x' {NOT_APP}")),
    "app newline": Case(("deploy", "{project}", "--app", "app\n"), 2, deploy_usage("--app", f"'app\\n' {NOT_APP}")),
    "app dot": Case(("logs", "--app", "my.app"), 2, deploy_usage("--app", f"'my.app' {NOT_APP}")),
    "base image upper case": Case(
        ("deploy", "{project}", "--base-image", "UPPER/Case"),
        2,
        deploy_usage("--base-image", f"'UPPER/Case' {NOT_IMAGE}"),
    ),
    "base image space": Case(
        ("deploy", "{project}", "--base-image", "img name"), 2, deploy_usage("--base-image", f"'img name' {NOT_IMAGE}")
    ),
    "path missing": Case(
        ("deploy", "{project}/nope"), 2, usage("[PATH]", "Directory '{project}/nope' does not exist.")
    ),
    "path is a file": Case(
        ("deploy", "{project}/Dockerfile"), 2, usage("[PATH]", "Directory '{project}/Dockerfile' is a file.")
    ),
    "no Dockerfile": Case(
        ("deploy", "{project}/sub"),
        1,
        "Error: No Dockerfile in {project}/sub",
        "Hint: dockerhello deploy builds the Dockerfile at the root of PATH: run it in the project's directory or "
        "pass that directory as PATH.",
        files={"sub/README": b"no Dockerfile here\n"},
    ),
    # -- the project's configuration ---------------------------------------------------------
    "pyproject tool.dockerhello not a table": Case(
        ("deploy", "{project}"),
        1,
        "Error: {project}/pyproject.toml: [tool.dockerhello] is not a table",
        "Hint: dockerhello reads its settings from a [tool.dockerhello] table in pyproject.toml.",
        files={"pyproject.toml": b"[tool]\ndockerhello = 5\n"},
    ),
    "pyproject tool not a table": Case(
        ("status",),
        1,
        "Error: {project}/pyproject.toml: [tool] is not a table",
        "Hint: dockerhello reads its settings from a [tool.dockerhello] table in pyproject.toml.",
        files={"pyproject.toml": b'tool = "x"\n'},
    ),
    "pyproject not TOML": Case(
        ("deploy", "{project}"),
        1,
        "Error: {project}/pyproject.toml is not valid TOML: Expected '=' after a key in a key/value pair "
        "(at line 2, column 5)",
        "Hint: Fix the line it names.",
        files={"pyproject.toml": b"[tool]\nnot toml\n"},
    ),
    "pyproject not UTF-8": Case(
        ("deploy", "{project}"),
        1,
        "Error: {project}/pyproject.toml:2: not UTF-8 text",
        UTF8_HINT,
        files={"pyproject.toml": b'[tool.dockerhello]\napp = "caf\xe9"\n'},
    ),
    "dockerhello.toml not UTF-8": Case(
        ("releases",),
        1,
        "Error: {project}/dockerhello.toml:1: not UTF-8 text",
        UTF8_HINT,
        files={"dockerhello.toml": b'app = "\xff"\n'},
    ),
    "config unknown key": Case(
        ("deploy", "{project}"),
        1,
        "Error: {project}/dockerhello.toml: pubish: unknown setting",
        "Hint: Allowed: app, publish, base_image, pull, cache, health_timeout, keep, database, migrate, health_path, registry, memory, "
        "cpus, read_only, drop_capabilities, no_new_privileges, allow_root, env, env_file.",
        files={"dockerhello.toml": b'pubish = "8000"\n'},
    ),
    "config memory words": Case(
        ("deploy", "{project}"),
        1,
        f"Error: {{project}}/dockerhello.toml: memory = 'lots' is not allowed: 'lots' {NOT_MEMORY}",
        CONFIG_HINT.format("memory"),
        files={"dockerhello.toml": b'memory = "lots"\n'},
    ),
    "config database mysql": Case(
        ("deploy", "{project}"),
        1,
        f"Error: {{project}}/dockerhello.toml: database = 'mysql' is not allowed: 'mysql' {NOT_DATABASE}",
        "Hint: `dockerhello deploy --help` says what --db takes.",
        files={"dockerhello.toml": b'database = "mysql"\n'},
    ),
    "deploy --db Postgres": Case(
        ("deploy", "{project}", "--db", "Postgres"),
        2,
        f"Error: Invalid value for '--db' (env var: 'DOCKERHELLO_DATABASE'): 'Postgres' {NOT_DATABASE}",
    ),
    "deploy --health-path relative": Case(
        ("deploy", "{project}", "--health-path", "admin/"),
        2,
        deploy_usage(
            "--health-path", "'admin/' is not a URL path such as / or /admin/login/ (letters, digits, /_.~%-)"
        ),
    ),
    "deploy --health-path quote": Case(
        ("deploy", "{project}", "--health-path", "/x'"),
        2,
        deploy_usage("--health-path", '"/x\'" is not a URL path such as / or /admin/login/ (letters, digits, /_.~%-)'),
    ),
    "init --db mysql": Case(("init", "{project}", "--db", "mysql"), 2, usage("--db", f"'mysql' {NOT_DATABASE}")),
    "run without a command": Case(("run",), 2, "Error: Missing argument 'COMMAND...'."),
    "config cpus words": Case(
        ("deploy", "{project}"),
        1,
        "Error: {project}/dockerhello.toml: cpus = 'two' is not allowed",
        "Hint: It must be a number of CPUs such as 1.5, or 0 for no limit.",
        files={"dockerhello.toml": b'cpus = "two"\n'},
    ),
    "config publish out of range": Case(
        ("deploy", "{project}"),
        1,
        f"Error: {{project}}/pyproject.toml: [tool.dockerhello] publish = '0' is not allowed: '0' {NOT_PORT}",
        CONFIG_HINT.format("publish"),
        files={"pyproject.toml": b'[tool.dockerhello]\npublish = "0"\n'},
    ),
    "config keep boolean": Case(
        ("deploy", "{project}"),
        1,
        "Error: {project}/dockerhello.toml: keep = True is not allowed",
        "Hint: It must be a number of release images to keep.",
        files={"dockerhello.toml": b"keep = true\n"},
    ),
    "config app name": Case(
        ("releases",),
        1,
        f"Error: {{project}}/dockerhello.toml: app = 'Bad_Name' is not allowed: 'Bad_Name' {NOT_APP}",
        files={"dockerhello.toml": b'app = "Bad_Name"\n'},
    ),
    "config env name": Case(
        ("deploy", "{project}"),
        1,
        "Error: {project}/dockerhello.toml: env.1X = 'y' is not allowed",
        VAR_HINT,
        files={"dockerhello.toml": b'env = { "1X" = "y" }\n'},
    ),
    "config env number": Case(
        ("deploy", "{project}"),
        1,
        "Error: {project}/dockerhello.toml: env.PORT = 8000 is not allowed",
        VAR_HINT,
        files={"dockerhello.toml": b"env = { PORT = 8000 }\n"},
    ),
    "config env_file missing": Case(
        ("deploy", "{project}"),
        1,
        "Error: Cannot read {project}/missing.env: No such file or directory",
        files={"dockerhello.toml": b'env_file = "missing.env"\n'},
    ),
    "config env_file directory": Case(
        ("deploy", "{project}"),
        1,
        "Error: Cannot read {project}/conf: Is a directory",
        files={"dockerhello.toml": b'env_file = "conf"\n', "conf/x": b""},
    ),
    "dockerhello config --cpus words": Case(
        ("config", "{project}", "--cpus", "many"),
        2,
        deploy_usage("--cpus", f"'many' {NOT_CPUS}"),
    ),
    # -- env files: the line named, never its value ----------------------------------------
    "env file not UTF-8": Case(
        ("deploy", "{project}", "--env-file", "{project}/prod.env"),
        1,
        "Error: {project}/prod.env:2: not UTF-8 text",
        UTF8_HINT,
        files={"prod.env": b"A=1\nPASSWORD=s\xe9cret\n"},
    ),
    "env file malformed": Case(
        ("deploy", "{project}", "--env-file", "{project}/prod.env"),
        1,
        "Error: {project}/prod.env:2: expected NAME=VALUE",
        ENV_FILE_HINT,
        files={"prod.env": b"A=1\nthis is a secret\n"},
    ),
    "env file bad name": Case(
        ("deploy", "{project}", "--env-file", "{project}/prod.env"),
        1,
        "Error: {project}/prod.env:1: expected NAME=VALUE",
        ENV_FILE_HINT,
        files={"prod.env": b"MY-KEY=secret\n"},
    ),
    "env file NUL": Case(
        ("deploy", "{project}", "--env-file", "{project}/prod.env"),
        1,
        "Error: {project}/prod.env:1: expected NAME=VALUE",
        ENV_FILE_HINT,
        files={"prod.env": b"KEY=se\x00cret\n"},
    ),
    "config env_file malformed": Case(
        ("deploy", "{project}"),
        1,
        "Error: {project}/prod.env:1: expected NAME=VALUE",
        ENV_FILE_HINT,
        files={"dockerhello.toml": b'env_file = "prod.env"\n', "prod.env": b"export\n"},
    ),
    # -- dockerhello's own state ----------------------------------------------------------------
    "state dir is a file (deploy)": Case(
        ("deploy", "{project}"),
        1,
        "Error: dockerhello's state directory {state_file} is not a directory",
        STATE_HINT,
        env={"DOCKERHELLO_HOME": "{state_file}"},
    ),
    "state dir is a file (rollback)": Case(
        ("rollback",),
        1,
        "Error: dockerhello's state directory {state_file} is not a directory",
        STATE_HINT,
        env={"DOCKERHELLO_HOME": "{state_file}"},
    ),
    "secret key damaged": Case(
        ("deploy", "{project}"),
        1,
        "Error: The app's secret key {state}/apps/project/secret_key is damaged: it is not a key dockerhello made",
        "Hint: Restore {state}/apps/project/secret_key from a backup. To start over with a new key (signing every "
        "user out), remove it and deploy again.",
        env={"SECRET_KEY_FILE": "short\n"},
        needs_engine=True,
    ),
    # -- operating a deploy -----------------------------------------------------------------------
    "rollback bad id": Case(("rollback", "bad id!"), 2, usage("[RELEASE]", f"'bad id!' {NOT_RELEASE}")),
    "rollback flag": Case(("rollback", "--", "-x"), 2, usage("[RELEASE]", f"'-x' {NOT_RELEASE}")),
    "rollback health timeout": Case(
        ("rollback", "--health-timeout", "-3"), 2, deploy_usage("--health-timeout", f"'-3' {NOT_SECONDS}")
    ),
    # The engine has another app (NEIGHBOUR's volume) and maybe more: {apps} is what it has.
    **{
        f"{command} of an app not deployed": Case(
            argv,
            1,
            "Error: project is not deployed on the Docker engine at unix:///var/run/docker.sock",
            "Hint: dockerhello's apps there: {apps} (`--app NAME`); `dockerhello deploy` deploys project.",
            needs_engine=True,
        )
        for command, argv in {
            "rollback": ("rollback",),
            "status": ("status",),
            "releases": ("releases", "--json"),
            "logs": ("logs",),
            "db backup": ("db", "backup"),
        }.items()
    },
    **{
        f"{command} on an ssh:// engine": Case(
            argv,
            3,
            f"Error: dockerhello does not reach a Docker engine over SSH ({host})",
            "Hint: Make it a machine, whose engine is reached over TLS: `docker-machine create --driver generic "
            f"{flags} NAME`, then "
            "`dockerhello deploy --machine NAME`.",
            env={"DOCKER_HOST": host},
        )
        for command, argv, host, flags in (
            (
                "deploy",
                ("deploy", "{project}"),
                "ssh://deploy@203.0.113.7",
                "--generic-ip-address 203.0.113.7 --generic-ssh-user deploy",
            ),
            (
                "status",
                ("status",),
                "ssh://203.0.113.7:2222",
                "--generic-ip-address 203.0.113.7 --generic-ssh-user USER --generic-ssh-port 2222",
            ),
        )
    },
    "run of an app not deployed": Case(
        ("run", "--", "true"),
        1,
        "Error: project has no serving release on the Docker engine at unix:///var/run/docker.sock",
        "Hint: dockerhello's apps there: {apps} (`--app NAME`); `dockerhello deploy` deploys project.",
        needs_engine=True,
    ),
    "logs tail negative": Case(("logs", "--tail", "-1"), 2, usage("--tail", "'-1' is not a whole number")),
    "logs tail words": Case(("logs", "--tail", "all"), 2, usage("--tail", "'all' is not a whole number")),
    "prune keep zero": Case(
        ("prune", "--keep", "0"), 2, deploy_usage("--keep", "0 is out of range: it must be between 1 and 1000")
    ),
    "down machine": Case(("down", "--machine", "-x"), 2, usage("--machine", f"'-x' {NOT_MACHINE}")),
    "releases path missing": Case(
        ("releases", "--path", "{project}/nope"), 2, usage("--path", "Directory '{project}/nope' does not exist.")
    ),
    # -- base build -------------------------------------------------------------------------------
    "suite capitalised": Case(("base", "build", "--suite", "Trixie"), 2, usage("--suite", f"'Trixie' {NOT_SUITE}")),
    "suite with shell": Case(
        ("base", "build", "--suite", "trixie;rm"), 2, usage("--suite", f"'trixie;rm' {NOT_SUITE}")
    ),
    "tag with space": Case(("base", "build", "--tag", "bad tag"), 2, usage("--tag", f"'bad tag' {NOT_IMAGE}")),
    "mirror ftp": Case(("base", "build", "--mirror", "ftp://x"), 2, usage("--mirror", f"'ftp://x' {NOT_MIRROR}")),
    "mirror space": Case(
        ("base", "build", "--mirror", "http://a b"), 2, usage("--mirror", f"'http://a b' {NOT_MIRROR}")
    ),
    "ca cert missing": Case(
        ("base", "build", "--ca-cert", "{project}/ca.pem"),
        2,
        usage("--ca-cert", "File '{project}/ca.pem' does not exist."),
    ),
    # -- up ---------------------------------------------------------------------------------------
    "up port zero": Case(("up", "{project}", "--publish", "0"), 2, deploy_usage("--publish", f"'0' {NOT_PORT}")),
    "up app": Case(("up", "{project}", "--app", "UP"), 2, deploy_usage("--app", f"'UP' {NOT_APP}")),
    "up base image": Case(
        ("up", "{project}", "--base-image", ":latest"), 2, deploy_usage("--base-image", f"':latest' {NOT_IMAGE}")
    ),
}
# `dockerhello config` reads the project's file as a deploy does, and refuses what it would, in the same words.
for _name in ("config memory words", "config env_file missing", "config database mysql"):
    CASES[f"dockerhello {_name}"] = replace(CASES[_name], argv=("config", "{project}"))


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory) -> MachineWorld:
    """Stand-ins with a running machine `dev` and a NAT rule: what a bad input must not touch."""
    world = make_world(tmp_path_factory.mktemp("bad-inputs"))
    created = world.tool(
        "docker-machine", "create", "--driver", "virtualbox", "--virtualbox-hostonly-cidr", "192.168.56.1/24", "dev"
    )
    assert created.returncode == 0, created.stderr
    assert world.tool("VBoxManage", "controlvm", "dev", "natpf1", "web,tcp,127.0.0.1,18080,,8000").returncode == 0
    return world


def tree(*roots: Path) -> dict[str, str]:
    """Every file under the roots, with a digest of its content."""
    found = {}
    for root in roots:
        for path in sorted(root.rglob("*")) if root.exists() else []:
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return found


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    """The local engine when one answers, to check that it is left as it was."""
    try:
        from provision.adapters.engine import connect
        from provision.engine import EngineTarget

        client = connect(EngineTarget(), timeout=30)
    except Exception:
        if os.environ.get("CI"):
            raise
        yield None
        return
    yield client
    client.close()


def engine_state(client: Any) -> tuple[list[str], ...] | None:
    if client is None:
        return None
    return (
        sorted(c.id for c in client.containers.list(all=True)),
        sorted(i.id for i in client.images.list(all=True)),
        sorted(n.id for n in client.networks.list()),
        sorted(v.name for v in client.volumes.list()),
    )


def run(argv: list[str], environ: dict[str, str], cwd: Path) -> Result:
    app = App.create(environ)
    os_env: dict[str, str | None] = {k: None for k in os.environ if k not in environ}
    os_env.update(environ)
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, argv, obj=app, catch_exceptions=False, prog_name="dockerhello", env=os_env)
    finally:
        os.chdir(previous)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name: str, machines: MachineWorld, engine: Any, tmp_path: Path) -> None:
    case = CASES[name]
    if case.needs_engine and engine is None:
        pytest.skip("no Docker engine answers here (CI starts one)")
    if case.needs_engine:
        # As on an engine no deploy reached yet: the deploy lock imports this image, so a
        # refusal that comes after taking the lock would leave it behind.
        with contextlib.suppress(docker.errors.ImageNotFound):
            engine.images.remove(RECORDS_IMAGE)
    project = tmp_path / "project"
    project.mkdir()
    (project / "Dockerfile").write_text("FROM scratch\n")
    for relative, content in case.files.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_bytes(content)
    state = tmp_path / "state"
    (state / "apps" / "project").mkdir(parents=True)
    (state / "apps" / "project" / "secret_key").write_text(case.env.get("SECRET_KEY_FILE", "k" * 50 + "\n"))
    state_file = tmp_path / "not-a-directory"
    state_file.write_text("")
    places = {"project": str(project), "state": str(state), "state_file": str(state_file)}
    with neighbour(engine if case.needs_engine else None) as apps:
        places["apps"] = apps
        check(case, places, machines, engine, project, state)


@contextlib.contextmanager
def neighbour(engine: Any) -> Iterator[str]:
    """Another app's volume on the engine while a case runs, as a user's engine has other apps;
    yields the apps the engine has besides `project`, as a hint names them."""
    if engine is None:
        yield ""
        return
    volume = engine.volumes.create(f"neighbour-{os.getpid()}", labels={"dockerhello.app": "neighbour"})
    try:
        labelled = [
            *(c.labels for c in engine.containers.list(all=True)),
            *(v.attrs["Labels"] or {} for v in engine.volumes.list()),
        ]
        yield ", ".join(
            sorted({labels["dockerhello.app"] for labels in labelled if "dockerhello.app" in labels} - {"project"})
        )
    finally:
        volume.remove()


def check(case: Case, places: dict[str, str], machines: MachineWorld, engine: Any, project: Path, state: Path) -> None:
    environ = {**machines.environ, "DOCKERHELLO_HOME": str(state)}
    environ.update({k: v.format(**places) for k, v in case.env.items() if k != "SECRET_KEY_FILE"})
    before = (tree(machines.storage, Path(machines.environ["VBOX_USER_HOME"]), state, project), engine_state(engine))
    machines.forget_calls()

    result = run([arg.format(**places) for arg in case.argv], environ, project)

    lines = result.stderr.splitlines()
    assert "Traceback" not in result.output + result.stderr
    errors = [line for line in lines if line.startswith("Error: ")]
    assert errors == [case.error.format(**places)], result.stderr
    assert [line for line in lines if line.startswith("==> ")] == []  # refused before any step began
    if case.hint is not None:
        assert lines[lines.index(errors[0]) + 1 :][-1] == case.hint.format(**places)
    assert result.exit_code == case.status, result.stderr
    after = (tree(machines.storage, Path(machines.environ["VBOX_USER_HOME"]), state, project), engine_state(engine))
    assert after == before
    if not case.tools_may_run:
        assert machines.calls() == []


def test_there_are_at_least_80_cases() -> None:
    assert len(CASES) >= 80
