"""Which Docker engine to talk to, and what it means when it cannot be reached.

`EngineTarget.from_environ` reads the variables the docker CLI and `docker-machine env`
use (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_MACHINE_NAME) from a mapping
it is given, never from os.environ behind the caller's back: a machine's environment is
passed in as a dict, and the user's shell stays as it was.

Nothing here imports the Docker SDK: `provision.adapters.engine` connects, and commands that
never reach an engine (`--help`, `env`) start without loading it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from provision.errors import EngineUnreachable

DEFAULT_HOST = "unix:///var/run/docker.sock"
# Builds stream for minutes with long silences (pip downloading): the per-read timeout must
# outlast them.
DEFAULT_TIMEOUT = 600


@dataclass(frozen=True)
class EngineTarget:
    host: str = DEFAULT_HOST
    tls: bool = False
    tls_verify: bool = False
    cert_path: Path | None = None
    machine: str | None = None  # set when the environment came from docker-machine

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> EngineTarget:
        # Same reading as docker-py's kwargs_from_env (an empty DOCKER_TLS_VERIFY is "off",
        # any other value "on"), minus its fallback to os.environ for an empty mapping.
        tls_verify_value = environ.get("DOCKER_TLS_VERIFY")
        tls_verify = tls_verify_value is not None and tls_verify_value != ""
        cert_path = environ.get("DOCKER_CERT_PATH") or None
        tls = bool(cert_path) or tls_verify
        if tls and cert_path is None:
            cert_path = os.path.join(environ.get("HOME", os.path.expanduser("~")), ".docker")
        return cls(
            host=environ.get("DOCKER_HOST") or DEFAULT_HOST,
            tls=tls,
            tls_verify=tls_verify,
            cert_path=Path(cert_path) if cert_path else None,
            machine=environ.get("DOCKER_MACHINE_NAME") or None,
        )

    @property
    def is_local(self) -> bool:
        return self.host.startswith(("unix://", "npipe://"))

    @property
    def hostname(self) -> str:
        """The address published ports are reached on: the engine's host, or loopback."""
        if self.is_local:
            return "127.0.0.1"
        from urllib.parse import urlsplit

        return urlsplit(self.host.replace("tcp://", "http://", 1)).hostname or "127.0.0.1"

    def describe(self) -> str:
        where = f"Docker engine at {self.host}"
        return f"{where} (machine {self.machine})" if self.machine else where


def unreachable(target: EngineTarget, exc: BaseException) -> EngineUnreachable:
    """Turn a failed connection into an error that says what to do next."""
    reason = _root_cause(exc)
    text = str(exc)
    if reason.startswith("certificate verify failed") or any(marker in text for marker in _CERT_MARKERS):
        return EngineUnreachable(
            f"The TLS certificate of the {target.describe()} does not match it: {reason}",
            hint=cert_hint(target),
        )
    if target.machine:
        hint = (
            f"Is the machine running? Start it with `dockerhello machine start {target.machine}`, "
            f'then load its environment again with `eval "$(dockerhello env {target.machine})"`.'
        )
    elif target.is_local:
        hint = (
            "Start the engine (`sudo systemctl start docker`, or `scripts/ensure-docker` in this "
            "repository, which installs it too), or point DOCKER_HOST at a running one."
        )
    else:
        hint = "Check that the engine runs and that DOCKER_HOST names it; unset DOCKER_HOST to use the local engine."
    return EngineUnreachable(f"Cannot reach the {target.describe()}: {reason}", hint=hint)


def cert_hint(target: EngineTarget) -> str:
    if target.machine:
        return (
            f"The machine's IP has probably changed since its certificates were made: run "
            f"`docker-machine regenerate-certs -f {target.machine}` (it restarts the engine; "
            f"containers come back through their restart policy)."
        )
    return "Check DOCKER_CERT_PATH: it must hold ca.pem, cert.pem and key.pem for this engine."


# Where the SSL error did not survive as an object, only its words tell (e.g. a wrapped str).
_CERT_MARKERS = ("CERTIFICATE_VERIFY_FAILED", "doesn't match", "IP address mismatch")


def _root_cause(exc: BaseException) -> str:
    """The first plain reason in docker-py's wrapping of requests' wrapping of urllib3."""
    reason = _find_reason(exc, depth=0)
    if reason is not None:
        return reason
    text = str(exc)
    prefix = "Error while fetching server API version: "
    return text[len(prefix) :] if text.startswith(prefix) else text


_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (FileNotFoundError, "no such socket"),
    (ConnectionRefusedError, "connection refused"),
    (PermissionError, "permission denied (is your user in the docker group?)"),
    (TimeoutError, "timed out"),
)


def _find_reason(exc: object, depth: int) -> str | None:
    if depth > 8 or exc is None:
        return None
    import ssl  # loaded by the SDK already when there is an error of it to read

    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}" if exc.verify_message else "certificate verify failed"
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    if isinstance(exc, BaseException):
        text = str(exc)
        if "Connection refused" in text and "NewConnectionError" in type(exc).__name__:
            return "connection refused"
        nested: list[object] = [exc.__cause__, exc.__context__, getattr(exc, "reason", None), *exc.args]
        for inner in nested:
            found = _find_reason(inner, depth + 1)
            if found:
                return found
    return None
