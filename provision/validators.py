"""Every value a user gives dockerhello, checked whole before any tool sees it.

Pure functions from text to a typed value; each raises `ValueError` with a message that says
what is allowed. `provision.cli.params` wraps them as click parameter types, and the project
file's settings go through the same types, so a flag, a DOCKERHELLO_* variable and a
`[tool.dockerhello]` key are held to one rule. Every pattern is a `fullmatch`: `re.match`
with `$` would let a trailing newline through. Patterns are strings, compiled by `re` on first
use: compiling them all at import would slow every command's start.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# docker-machine's own rule (libmachine/host/host.go). docker-machine sets no length limit,
# but it stores a machine as machines/NAME/NAME/NAME.vbox: a file name holds 255 bytes.
MACHINE_NAME = r"[a-zA-Z0-9][a-zA-Z0-9.-]*"
MACHINE_NAME_MAX = 250

# An app names a container (APP), an image repository (APP:RELEASE), a network
# (dockerhello-APP) and, on that network, the DNS name its release containers answer to
# (APP-RELEASE, e.g. helloworld-20261123-215501-1a2b3c4-dirty). A DNS label holds 63
# characters of letters, digits and '-', and the release suffix takes 30 of them.
APP_NAME = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
APP_NAME_MAX = 32

# 20261123-215501, then the git commit and -dirty; `rollback` takes a prefix.
RELEASE_ID = r"[0-9][0-9a-z-]*"
RELEASE_ID_MAX = 64

ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
PORT = r"[0-9]{1,5}"
COUNT = r"[0-9]{1,9}"
DECIMAL = r"[0-9]{1,6}(?:\.[0-9]{1,3})?"
# Docker's memory sizes as docker-py and the CLI read them: a number and a unit of b, k, m, g.
MEMORY = r"(?i)([0-9]{1,12})([bkmg]?)"
MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
# The engine refuses less: "Minimum memory limit allowed is 6MB".
MEMORY_MIN = 6 * 1024**2
MEMORY_MAX = 1024**4

# Docker's image reference grammar (distribution/reference), without the digest form.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REGISTRY = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)"
IMAGE = rf"{_REGISTRY}?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
IMAGE_MAX = 255
DEBIAN_SUITE = r"[a-z][a-z0-9-]{0,31}"
MIRROR = r"(?:https?|file)://[^\s,;'\"\\]+"


def _shown(text: str) -> str:
    """The value as the user gave it, escapes visible (a newline must not hide)."""
    return repr(text[:80] + ("..." if len(text) > 80 else ""))


def machine_name(text: str) -> str:
    if not re.fullmatch(MACHINE_NAME, text):
        raise ValueError(
            f"{_shown(text)} is not a machine name: docker-machine allows letters, digits, '.' and '-', "
            "starting with a letter or digit"
        )
    if len(text) > MACHINE_NAME_MAX:
        raise ValueError(
            f"a machine name is at most {MACHINE_NAME_MAX} characters (docker-machine stores it as a file)"
        )
    return text


def app_name(text: str) -> str:
    if not re.fullmatch(APP_NAME, text):
        raise ValueError(
            f"{_shown(text)} is not an app name: use lower-case letters, digits and '-', starting and ending "
            "with a letter or digit (it names containers, images and a DNS name)"
        )
    if len(text) > APP_NAME_MAX:
        raise ValueError(
            f"an app name is at most {APP_NAME_MAX} characters (APP-RELEASE must fit a 63-character DNS name)"
        )
    return text


def app_name_from_directory(dirname: str) -> str:
    """A valid app name made from a directory's name: `My Site_2` -> `my-site-2`, `Café` ->
    `cafe` (accents dropped, not the letters they are on); `app` when nothing is left."""
    ascii_only = unicodedata.normalize("NFKD", dirname).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "-", ascii_only.lower())[:APP_NAME_MAX].strip("-")
    return name or "app"


def release_id(text: str) -> str:
    if not re.fullmatch(RELEASE_ID, text) or len(text) > RELEASE_ID_MAX:
        raise ValueError(
            f"{_shown(text)} is not a release id: releases look like 20261123-215501-1a2b3c4 "
            "(`dockerhello releases` lists them; a prefix is enough)"
        )
    return text


DATABASES = ("sqlite", "postgres", "none")
HEALTH_PATH = r"/[A-Za-z0-9/_.~%-]{0,200}"


def database(text: str) -> str:
    if text not in DATABASES:
        raise ValueError(
            f"{_shown(text)} is not a database dockerhello runs: use sqlite (a file on the app's data volume), "
            "postgres (a PostgreSQL server of the app's own) or none"
        )
    return text


def health_path(text: str) -> str:
    """A URL path without query or quotes: the health probe asks for it, after the release's address."""
    if not re.fullmatch(HEALTH_PATH, text):
        raise ValueError(f"{_shown(text)} is not a URL path such as / or /admin/login/ (letters, digits, /_.~%-)")
    return text


def port(text: str) -> int:
    if not re.fullmatch(PORT, text) or not 1 <= int(text) <= 65535:
        raise ValueError(f"{_shown(text)} is not a port number between 1 and 65535")
    return int(text)


def count(text: str, minimum: int = 0, maximum: int | None = None) -> int:
    if not re.fullmatch(COUNT, text):
        raise ValueError(f"{_shown(text)} is not a whole number")
    value = int(text)
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and {maximum}" if maximum is not None else " or more"
        raise ValueError(f"{value} is out of range: it must be {'between ' if maximum is not None else ''}{minimum}"
                         f"{upper}")  # fmt: skip
    return value


def seconds(text: str, minimum: float = 1) -> float:
    if not re.fullmatch(DECIMAL, text) or float(text) < minimum:
        raise ValueError(f"{_shown(text)} is not a number of seconds of at least {minimum:g}")
    return float(text)


def cpus(text: str) -> float | None:
    """A CPU limit such as 1.5; 0 for none. The engine takes hundredths of a CPU at least."""
    if not re.fullmatch(DECIMAL, text):
        raise ValueError(f"{_shown(text)} is not a number of CPUs such as 1 or 1.5 (0 for no limit)")
    value = float(text)
    if value == 0:
        return None
    if value < 0.01:
        raise ValueError(f"{text} CPUs is below the engine's smallest limit, 0.01 (0 for no limit)")
    return value


def memory(text: str) -> int | None:
    """A memory limit in bytes from `512m`, `1g`, `1073741824`; "" or 0 for none."""
    if text in ("", "0"):
        return None
    match = re.fullmatch(MEMORY, text)
    if not match:
        raise ValueError(f'{_shown(text)} is not a memory size such as "512m" or "1g" ("" for no limit)')
    size = int(match.group(1)) * MEMORY_UNITS[match.group(2).lower()]
    if size < MEMORY_MIN:
        raise ValueError(f"{text} is below the 6 MB the Docker engine allows at least")
    if size > MEMORY_MAX:
        raise ValueError(f"{text} is more memory than any engine has")
    return size


def is_env_name(text: str) -> bool:
    return re.fullmatch(ENV_NAME, text) is not None


def env_name(text: str) -> str:
    if not is_env_name(text):
        raise ValueError(f"{_shown(text)} is not a variable name: letters, digits and '_', not starting with a digit")
    return text


def env_value(text: str) -> str:
    if "\0" in text:
        raise ValueError("a variable's value cannot hold a NUL character")
    return text


def env_pair(text: str) -> tuple[str, str]:
    """`NAME=VALUE`; the value is never echoed back: it may be a secret."""
    name, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"expected NAME=VALUE, got {_shown(name)}")
    return env_name(name), env_value(value)


def image(text: str) -> str:
    if len(text) > IMAGE_MAX or not re.fullmatch(IMAGE, text):
        raise ValueError(f"{_shown(text)} is not an image name such as dockerhello/python:trixie")
    return text


# A registry's address as image references name it (distribution/reference's domain):
# dot-separated components of letters, digits and inner hyphens, then an optional :PORT.
_LABEL = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
REGISTRY = rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?"


def registry(text: str) -> str:
    """HOST[:PORT] of a registry, as the first part of an image reference."""
    if (
        len(text) > 255
        or not re.fullmatch(REGISTRY, text)
        or (":" in text and not 0 < int(text.rpartition(":")[2]) < 65536)
    ):
        raise ValueError(f"{_shown(text)} is not a registry address such as registry.example.com:5000")
    return text


def debian_suite(text: str) -> str:
    if not re.fullmatch(DEBIAN_SUITE, text):
        raise ValueError(f"{_shown(text)} is not a Debian suite name such as trixie or bookworm")
    return text


def mirror(text: str) -> str:
    if not re.fullmatch(MIRROR, text):
        raise ValueError(f"{_shown(text)} is not a mirror URL such as http://deb.debian.org/debian")
    return text


def ipv4_host(text: str) -> str:
    """An IPv4 address: VirtualBox's NAT binds host ports on IPv4 only."""
    import ipaddress  # in the three functions that need it: start-up time

    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise ValueError(
            f"{_shown(text)} is not an IPv4 address such as 127.0.0.1 (0.0.0.0: every interface)"
        ) from None
    return str(address)


def hostonly_cidr(text: str) -> str:
    """docker-machine's own rules for --virtualbox-hostonly-cidr, which it checks mid-create."""
    import ipaddress

    try:
        interface = ipaddress.IPv4Interface(text)
    except ValueError:
        raise ValueError(f"{_shown(text)} is not a host address and prefix such as 192.168.56.1/24") from None
    if "/" not in text:
        raise ValueError(f"{_shown(text)} has no prefix length: write it as 192.168.56.1/24")
    if interface.ip == interface.network.network_address:
        suggestion = f"{interface.network.network_address + 1}/{interface.network.prefixlen}"
        raise ValueError(f"{text} is a network address; docker-machine needs a host address, e.g. {suggestion}")
    return text


@dataclass(frozen=True)
class Publish:
    """Where the app is published on the engine's host."""

    host_ip: str = "127.0.0.1"
    host_port: int = 8000

    def __str__(self) -> str:
        return f"{self.host}:{self.host_port}"

    @property
    def host(self) -> str:
        """The address as a URL writes it: an IPv6 one in brackets."""
        return f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip

    @property
    def loopback(self) -> bool:
        """Reached from the engine's host only."""
        return self.host_ip == "::1" or self.host_ip.startswith("127.")


def publish(text: str) -> Publish:
    """`PORT`, `IP:PORT` or `[IPv6]:PORT`, as in `docker run -p IP:PORT:8000`.

    >>> publish("8080")
    Publish(host_ip='127.0.0.1', host_port=8080)
    """
    import ipaddress

    host_ip = "127.0.0.1"
    port_text = text
    if text.startswith("["):
        close = text.find("]:")
        if close < 0:
            raise ValueError(f"{_shown(text)} is not IP:PORT (write an IPv6 address as [::1]:8000)")
        host_ip, port_text = text[1:close], text[close + 2 :]
    elif ":" in text:
        host_ip, _, port_text = text.rpartition(":")
        if ":" in host_ip:
            raise ValueError(f"{_shown(text)} is ambiguous: write an IPv6 address in brackets, e.g. [::1]:8000")
    try:
        host_ip = str(ipaddress.ip_address(host_ip))
    except ValueError:
        raise ValueError(
            f"{_shown(host_ip)} is not an IP address (expected PORT or IP:PORT, e.g. 127.0.0.1:8000)"
        ) from None
    return Publish(host_ip, port(port_text))
