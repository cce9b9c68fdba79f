"""A TLS endpoint in front of the local Docker engine, as a docker-machine VM's engine is.

docker-machine VMs serve the Docker API on tcp://IP:2376 with TLS, and demand a client
certificate signed by the machine CA. This makes such a CA, a server certificate for
127.0.0.1 (the stand-in VM's address) and a client certificate, then forwards every
authenticated connection to /var/run/docker.sock byte for byte.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ENGINE_SOCKET = "/var/run/docker.sock"


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    usage: x509.ObjectIdentifier | None = None,
    ips: tuple[str, ...] = (),
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if ips:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_certs(directory: Path, server_ips: tuple[str, ...] = ("127.0.0.1",)) -> Path:
    """ca.pem, cert.pem, key.pem (the client's, as in a machine directory) and server.pem,
    server-key.pem (the engine's, valid for `server_ips` only)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca = _cert("dockerhello test CA", ca_key, None, ca_key, ca=True)
    server_key, client_key = _key(), _key()
    server = _cert("engine", server_key, ca.subject, ca_key, usage=ExtendedKeyUsageOID.SERVER_AUTH, ips=server_ips)
    client = _cert("client", client_key, ca.subject, ca_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    for name, data in {
        "ca.pem": ca.public_bytes(serialization.Encoding.PEM),
        "server.pem": server.public_bytes(serialization.Encoding.PEM),
        "server-key.pem": _pem_key(server_key),
        "cert.pem": client.public_bytes(serialization.Encoding.PEM),
        "key.pem": _pem_key(client_key),
    }.items():
        (directory / name).write_bytes(data)
    return directory


class TlsEngineEndpoint:
    """Listens on each address in `hosts` at one port; stops when closed."""

    def __init__(self, certs: Path, hosts: tuple[str, ...] = ("127.0.0.1",), upstream: str = ENGINE_SOCKET) -> None:
        self.upstream = upstream
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certs / "ca.pem"))
        self.context.load_cert_chain(str(certs / "server.pem"), str(certs / "server-key.pem"))
        self.context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no engine
        self.listeners: list[socket.socket] = []
        self.port = 0
        for host in hosts:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, self.port))
            self.port = listener.getsockname()[1]
            listener.listen(64)
            self.listeners.append(listener)
        self.rejected = 0
        self.served = 0  # authenticated connections forwarded to the engine
        self._stopping = threading.Event()
        for listener in self.listeners:
            threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            self.rejected += 1
            conn.close()
            return
        self.served += 1
        engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            engine.connect(self.upstream)
        except OSError:
            tls.close()
            return
        done = threading.Barrier(2, action=lambda: _close(tls, engine))
        threading.Thread(target=_pump, args=(engine, tls, done), daemon=True).start()
        _pump(tls, engine, done)

    def close(self) -> None:
        self._stopping.set()
        for listener in self.listeners:
            with contextlib.suppress(OSError):
                listener.close()


def _pump(source: socket.socket, sink: socket.socket, done: threading.Barrier) -> None:
    """Copy one direction; at its end, half-close the sink as the peer did.

    Hijacked connections (exec, attach) end with a half-close from the engine; passing it
    on, rather than closing, lets the client read to the end. shutdown() is called on the
    plain socket: SSLSocket.shutdown() would drop the TLS layer the other direction uses,
    and close() alone does not wake a thread blocked in recv().
    """
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sink, socket.SHUT_WR)
    with contextlib.suppress(threading.BrokenBarrierError):
        done.wait(timeout=3600)


def _close(*sockets: socket.socket) -> None:
    for s in sockets:
        with contextlib.suppress(OSError):
            socket.socket.shutdown(s, socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            s.close()
