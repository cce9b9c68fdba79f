"""The project being deployed: its directory, its app name, its publish address."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from provision.errors import DockerHelloError

# Valid both as a container name and as an image repository name.
APP_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")


@dataclass(frozen=True)
class Publish:
    """Where the container's port is published on the engine's host."""

    host_ip: str = "127.0.0.1"
    host_port: int = 8000

    def __str__(self) -> str:
        ip = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
        return f"{ip}:{self.host_port}"


def parse_publish(text: str) -> Publish:
    """`PORT`, `IP:PORT` or `[IPv6]:PORT`, as in `docker run -p IP:PORT:8000`.

    >>> parse_publish("8080")
    Publish(host_ip='127.0.0.1', host_port=8080)
    """
    text = text.strip()
    host_ip = "127.0.0.1"
    port_text = text
    if text.startswith("["):
        close = text.find("]:")
        if close < 0:
            raise ValueError(f"{text!r} is not IP:PORT (write an IPv6 address as [::1]:8000)")
        host_ip, port_text = text[1:close], text[close + 2 :]
    elif ":" in text:
        host_ip, _, port_text = text.rpartition(":")
        if ":" in host_ip:
            raise ValueError(f"{text!r} is ambiguous: write an IPv6 address in brackets, e.g. [::1]:8000")
    try:
        ipaddress.ip_address(host_ip)
    except ValueError:
        raise ValueError(f"{host_ip!r} is not an IP address (expected PORT or IP:PORT, e.g. 127.0.0.1:8000)") from None
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{port_text!r} is not a port number between 1 and 65535")
    return Publish(host_ip, int(port_text))


@dataclass(frozen=True)
class Project:
    path: Path
    app: str


def load_project(path: Path, app: str | None = None) -> Project:
    """Find the project at `path`; its app name comes from `app`, `[tool.dockerhello] app`
    in its pyproject.toml, or its directory name, in that order."""
    path = path.resolve()
    if not (path / "Dockerfile").is_file():
        raise DockerHelloError(
            f"No Dockerfile in {path}",
            hint="dockerhello deploy builds the Dockerfile at the root of PATH: run it in the "
            "project's directory or pass that directory as PATH.",
        )
    name = app or _configured_app_name(path) or _name_from_directory(path.name)
    if not APP_NAME.match(name):
        raise DockerHelloError(
            f"{name!r} is not a valid app name",
            hint="Use lower-case letters, digits and single '.', '_' or '-' between them, e.g. --app helloworld.",
        )
    return Project(path=path, app=name)


def load_app_name(path: Path, app: str | None = None) -> str:
    """The app name as deploy finds it, for commands that need no Dockerfile."""
    name = app or _configured_app_name(path.resolve()) or _name_from_directory(path.resolve().name)
    if not APP_NAME.match(name):
        raise DockerHelloError(f"{name!r} is not a valid app name")
    return name


def _configured_app_name(path: Path) -> str | None:
    from provision.config import load_config  # config imports nothing of ours; this keeps it so

    value = load_config(path).values.get("app")
    return str(value) if value is not None else None


def _name_from_directory(dirname: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", dirname.lower()).strip("-")
    return name or "app"
