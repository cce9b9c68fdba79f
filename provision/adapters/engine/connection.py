"""A client for an engine: the one place that makes docker-py's client, with the API version
negotiated and a machine's CA kept (below)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import docker
import docker.errors
import docker.tls

from provision.adapters.engine.errors import translate
from provision.engine import DEFAULT_TIMEOUT, EngineTarget
from provision.errors import EngineUnreachable

ClientFactory = Callable[[EngineTarget], docker.DockerClient]


def connect(target: EngineTarget, timeout: int = DEFAULT_TIMEOUT) -> docker.DockerClient:
    """A client for `target` with the API version negotiated.

    Negotiation matters: boot2docker VMs run Engine 19.03 (API 1.40), older than the
    version docker-py would otherwise ask for. It is also the first request, so an engine
    that cannot be reached, or something that is not an engine, is found here.
    """
    if target.host.startswith("ssh://"):
        raise ssh_unsupported(target)
    tls_config: docker.tls.TLSConfig | bool = False
    if target.tls:
        assert target.cert_path is not None
        try:
            tls_config = docker.tls.TLSConfig(
                client_cert=(str(target.cert_path / "cert.pem"), str(target.cert_path / "key.pem")),
                ca_cert=str(target.cert_path / "ca.pem"),
                verify=target.tls_verify,
            )
        except docker.errors.TLSParameterError as exc:
            raise translate(target, exc) from None
    try:
        api = _PinnedCAClient(base_url=target.host, tls=tls_config, version="auto", timeout=timeout)
    except Exception as exc:
        raise translate(target, exc) from None
    # DockerClient's constructor only makes an APIClient; this one keeps its CA (below).
    client = docker.DockerClient.__new__(docker.DockerClient)
    client.api = api
    return client


def ssh_unsupported(target: EngineTarget) -> EngineUnreachable:
    """docker-py reaches an ssh:// engine only through paramiko, even with its ssh shell-out,
    and once installed, `import docker` loads paramiko (and its cryptography) in every command:
    dockerhello does not take it. A machine of docker-machine's generic driver is the same host
    over TLS, which docker-machine sets up over SSH."""
    from urllib.parse import urlsplit

    parts = urlsplit(target.host)
    port = f" --generic-ssh-port {parts.port}" if parts.port and parts.port != 22 else ""
    return EngineUnreachable(
        f"dockerhello does not reach a Docker engine over SSH ({target.host})",
        hint=f"Make it a machine, whose engine is reached over TLS: `docker-machine create --driver generic "
        f"--generic-ip-address {parts.hostname or 'HOST'} --generic-ssh-user {parts.username or 'USER'}{port} "
        "NAME`, then `dockerhello deploy --machine NAME`.",
    )


class _PinnedCAClient(docker.APIClient):
    """An APIClient whose TLS CA is not replaced by REQUESTS_CA_BUNDLE.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify` path
    (psf/requests#5209, docker/docker-py#2433, still open), so a machine's engine fails
    verification exactly for users whose network makes them set those variables: behind a
    TLS-intercepting proxy. The machine's CA is the only one that can sign its engine.
    """

    # The negotiation's /version answer, kept: it is also what `Engine.info()` reports, and
    # asking again costs a round trip (over a machine's TLS, one of the slower ones).
    _version_answer: dict[str, Any] | None = None

    def version(self, api_version: bool = True) -> dict[str, Any]:
        if self._version_answer is None:
            self._version_answer = super().version(api_version=api_version)
        return self._version_answer

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # type: ignore[no-untyped-def]
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None and isinstance(self.verify, str):
            settings["verify"] = self.verify
        return settings
