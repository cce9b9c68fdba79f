"""The one place where the Docker SDK's and its transport's errors get their meaning.

`translate` turns whatever docker-py, requests or urllib3 raise into a `DockerHelloError`
with the cause the user can act on: the engine cannot be reached, its TLS material cannot be
used or does not match it, what answers is not a Docker API, or the engine refused a request
(in its own words; a refused resource limit says which option to change).
"""

from __future__ import annotations

import re
import ssl

import docker
import docker.errors
import requests.exceptions

from provision.engine import EngineTarget, cert_hint, unreachable
from provision.errors import CommandCannotRun, DeployFailed, DockerHelloError, EngineUnreachable

# What the engine says when a resource limit is out of its range (daemon/daemon_unix.go).
_LIMIT_REFUSALS = ("Minimum memory limit", "Range of CPUs", "NanoCPUs", "memory limit", "cpu quota", "Memory limit")
# runc's words when a container's command cannot be started (Engine 20.10 and later; 19.03 quotes
# them inside another message, its quotes escaped): the command, and why.
_EXEC_REFUSAL = re.compile(
    r'exec: \\?"(?P<command>[^"\\]*)\\?": (?P<reason>executable file not found in \$PATH|permission denied'
    r"|stat [^:]*: no such file or directory|no such file or directory)"
)
# Errors of the TLS material itself, as OpenSSL names them when loading it.
_BAD_TLS_MATERIAL = ("PEM lib", "no certificate or crl found", "KEY_VALUES_MISMATCH", "no start line", "bad end line")


def is_engine_error(exc: BaseException) -> bool:
    """Raised by the SDK or its transport: `translate` knows what it means."""
    return isinstance(exc, docker.errors.DockerException | requests.exceptions.RequestException)


def translate(target: EngineTarget, exc: BaseException) -> DockerHelloError:
    """What an SDK or transport error means for the user, and what to do about it."""
    where = target.describe()
    text = str(exc)
    if isinstance(exc, docker.errors.TLSParameterError):
        return EngineUnreachable(
            f"Cannot use the TLS certificates in {target.cert_path}: {exc}", hint=cert_hint(target)
        )
    material = _tls_material_error(exc)
    if material is not None:
        return EngineUnreachable(
            f"The TLS certificates in {target.cert_path} cannot be used for the {where}: {material}",
            hint=cert_hint(target),
        )
    http_error = _http_error(exc)
    if http_error is not None and text.startswith("Error while fetching server API version"):
        status = http_error.response.status_code if http_error.response is not None else "?"
        return EngineUnreachable(
            f"What answers at {target.host} is not a Docker engine (HTTP {status} for /version)",
            hint="Check DOCKER_HOST: it must name a Docker engine's socket or TCP address.",
        )
    if "Invalid response from docker daemon" in text:
        return EngineUnreachable(
            f"What answers at {target.host} is not a Docker engine (its /version has no ApiVersion)",
            hint="Check DOCKER_HOST: it must name a Docker engine's socket or TCP address.",
        )
    if isinstance(exc, requests.exceptions.ReadTimeout) or isinstance(exc.__cause__, requests.exceptions.ReadTimeout):
        return EngineUnreachable(
            f"The {where} did not answer in time", hint="Is it overloaded? `docker info` on the same engine tells."
        )
    if http_error is not None:
        said = _engine_words(http_error)
        refusal = command_refusal(said)
        if refusal is not None:
            return CommandCannotRun(*refusal)
        if any(marker in said for marker in _LIMIT_REFUSALS):
            return DeployFailed(
                f"The {where} refused the resource limits: {said}",
                hint='Change --memory or --cpus (or `memory`/`cpus` in the project\'s configuration); 0 or "" '
                "means no limit.",
            )
        return DockerHelloError(
            f"The {where} refused: {said}", hint="That is the engine's own message; `dockerhello --debug` shows more."
        )
    if isinstance(exc, requests.exceptions.RequestException | OSError) or isinstance(
        exc.__cause__, requests.exceptions.RequestException | OSError
    ):
        return unreachable(target, exc)
    if isinstance(exc, docker.errors.DockerException) and "Error while fetching server API version" in text:
        return unreachable(target, exc)
    return DockerHelloError(f"The {where} failed: {text}", hint="`dockerhello --debug` shows the whole error.")


def command_refusal(said: str) -> tuple[str, str] | None:
    """The command and the reason, where the engine says a container's command could not be
    started (`docker run` exits 127 for the first two reasons, 126 for the third)."""
    found = _EXEC_REFUSAL.search(said)
    if found is None:
        return None
    reason = found["reason"]
    if reason.startswith("stat "):
        reason = "no such file or directory"
    return found["command"], reason


def _http_error(exc: BaseException) -> docker.errors.APIError | None:
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return None
        if isinstance(seen, docker.errors.APIError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _engine_words(error: docker.errors.APIError) -> str:
    """The engine's own message, one line, not a whole HTML page."""
    said = str(error.explanation or "").strip()
    if said.startswith("<") or not said:
        status = error.response.status_code if error.response is not None else "?"
        reason = error.response.reason if error.response is not None else ""
        return f"HTTP {status} {reason}".strip()
    return re.sub(r"\s+", " ", said)[:500]


def _tls_material_error(exc: BaseException) -> str | None:
    """The reason, when the client's own certificate or key could not be loaded."""
    seen: object = exc
    for _ in range(8):
        if isinstance(seen, ssl.SSLError) and not isinstance(seen, ssl.SSLCertVerificationError):
            text = str(seen)
            if any(marker in text for marker in _BAD_TLS_MATERIAL):
                return text
        if isinstance(seen, BaseException):
            text = str(seen)
            if any(marker in text for marker in _BAD_TLS_MATERIAL) and "verify failed" not in text:
                return _short(text)
            nested = seen.__cause__ or seen.__context__ or (seen.args[0] if seen.args else None)
            seen = nested
        else:
            return None
    return None


def _short(text: str) -> str:
    match = re.search(r"\[SSL[^\]]*\][^')\"]*", text)
    return match.group(0).strip() if match else text[:200]
