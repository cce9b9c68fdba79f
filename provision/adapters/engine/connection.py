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

ClientFactory = Callable[[EngineTarget], docker.DockerClient]


def connect(target: EngineTarget, timeout: int = DEFAULT_TIMEOUT) -> docker.DockerClient:
    """A client for `target` with the API version negotiated.

    Negotiation matters: boot2docker VMs run Engine 19.03 (API 1.40), older than the
    version docker-py would otherwise ask for. It is also the first request, so an engine
    that cannot be reached, or something that is not an engine, is found here.
    """
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
