"""What `Engine` does inside containers: their output, their terminals, commands run in them
and files put into them or taken out. Part of `Engine`, kept apart to keep each module short."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import socket
import tarfile
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import docker
import docker.errors
import requests.exceptions

from provision.adapters.engine.translated import translated
from provision.adapters.engine_model import parse_exec_stream
from provision.engine import EngineTarget
from provision.errors import DockerHelloError

# How long a held exec's command may go without output or its end, once given its line.
FINISH_TIMEOUT = 30.0


class HeldExec:
    """A command started in a container that waits for a line on its stdin: `finish` writes
    it and returns the command's exit code and output; `close` without it ends the command's
    stdin unwritten (as does this process ending, however it ends). A held exec answers in a
    write and a read, where a new one is a round trip and a process start (about 60 ms)."""

    def __init__(self, api: docker.APIClient, target: EngineTarget, container: str, exec_id: str, sock: Any) -> None:
        self.api = api
        self.target = target  # `translated` names the engine in the errors of `_finish`
        self.container = container
        self.exec_id = exec_id
        self.sock = sock  # docker-py's: a SocketIO over a local socket, a TLS socket over TCP
        self.raw: Any = getattr(sock, "_sock", sock)

    def finish(self, line: str, timeout: float = FINISH_TIMEOUT) -> tuple[int, str]:
        """Give the command `line`; its exit code and output once it ends, within `timeout`
        seconds of each read (else DockerHelloError: it is left to its own end)."""
        try:
            return self._finish(line, timeout)
        finally:
            self.close()

    @translated
    def _finish(self, line: str, timeout: float) -> tuple[int, str]:
        with contextlib.suppress(OSError):  # the command ended before reading: its output and exit code say why
            self.raw.sendall(line.encode())
        self.raw.settimeout(timeout)
        received = bytearray()
        try:
            while chunk := self.raw.recv(65536):
                received += chunk
        except TimeoutError:
            raise DockerHelloError(
                f"The command given its input in container {self.container[:12]} did not end within {timeout:g} s",
                hint=f"`docker top {self.container[:12]}` shows whether it still runs.",
            ) from None
        code = self.api.exec_inspect(self.exec_id).get("ExitCode")
        return int(code or 0), parse_exec_stream(bytes(received))

    def close(self) -> None:
        for closing in (lambda: self.raw.shutdown(socket.SHUT_RDWR), self.raw.close, self.sock.close):
            with contextlib.suppress(OSError):  # closed already, or by the engine
                closing()


class InsideContainers:
    api: docker.APIClient
    target: EngineTarget

    @translated
    def attach_output(self, container: str) -> Iterator[str]:
        """The output of a container not yet started, both streams, from its start until it
        exits. Attached now, before the start, as `docker run` does: attaching to a container
        that has already exited waits for ever."""
        return self._decoded(self.api.attach(container, stdout=True, stderr=True, stream=True, logs=True))

    @translated
    def _decoded(self, stream: Iterator[bytes]) -> Iterator[str]:
        for chunk in stream:
            yield bytes(chunk).decode("utf-8", errors="replace")

    @translated
    def attach_terminal(self, container: str) -> Any:
        """A socket on the container's terminal (created with `tty`), before it starts: what
        is written reaches its stdin, what it prints comes back, raw."""
        return self.api.attach_socket(container, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})

    @translated
    def resize(self, container: str, height: int, width: int) -> None:
        self.api.resize(container, height=height, width=width)

    @translated
    def exec(self, container: str, argv: Sequence[str]) -> tuple[int, str]:
        """Run `argv` in the container; its exit code and output (both streams)."""
        created = self.api.exec_create(container, list(argv))
        output = self.api.exec_start(created["Id"])
        code = self.api.exec_inspect(created["Id"]).get("ExitCode")
        return int(code or 0), bytes(output).decode("utf-8", errors="replace")

    @translated
    def exec_held(self, container: str, argv: Sequence[str]) -> HeldExec:
        """Start `argv` in the container with its stdin open to this process (`HeldExec`)."""
        exec_id = self.api.exec_create(container, list(argv), stdin=True)["Id"]
        return HeldExec(self.api, self.target, container, exec_id, self.api.exec_start(exec_id, socket=True))

    @translated
    def put_file(self, container: str, directory: str, name: str, content: str | bytes, uid: int) -> None:
        """Write one file into the container (its volumes included, running or not), owned by `uid`."""
        data = content.encode() if isinstance(content, str) else content
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), 0o644, uid, uid
            tar.addfile(info, io.BytesIO(data))
        self.api.put_archive(container, directory, buffer.getvalue())

    @translated
    def get_file(self, container: str, path: str) -> bytes | None:
        """A file's content from the container (its volumes included); None if missing."""
        try:
            stream, _ = self.api.get_archive(container, path)
            archive = b"".join(stream)
        except docker.errors.NotFound:
            return None
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            member = tar.next()
            extracted = tar.extractfile(member) if member is not None else None
            return extracted.read() if extracted is not None else None

    @translated
    def link_target(self, container: str, path: str) -> str | None:
        """Where the symbolic link at `path` in the container points, as the engine resolves
        it (an absolute path); None where there is no such link. Asked as the stat header of
        HEAD /containers/ID/archive, which the SDK has no method for: no exec, no content,
        about 1 ms where an exec of `readlink` takes 45."""
        url = f"{self.api.base_url}/v{self.api.api_version}/containers/{urllib.parse.quote(container, safe='')}/archive"
        response = self.api.head(url, params={"path": path})
        if response.status_code == 404:
            return None
        try:
            response.raise_for_status()
        except requests.exceptions.HTTPError as exc:
            docker.errors.create_api_error_from_http_exception(exc)  # raises the SDK's error, as its own calls do
        header = response.headers.get("X-Docker-Container-Path-Stat")
        target = json.loads(base64.b64decode(header)).get("linkTarget") if header else None
        return str(target) if target else None  # a path that is not a link has an empty one

    @translated
    def has_file(self, container: str, path: str) -> bool:
        try:
            self.api.get_archive(container, path)
        except docker.errors.NotFound:
            return False
        return True

    @translated
    def exec_to(self, container: str, argv: Sequence[str], out: IO[bytes]) -> tuple[int, str]:
        """Run `argv` in the container, its stdout written to `out` as it comes, byte for byte
        (a dump); its exit code and what it wrote to stderr."""
        created = self.api.exec_create(container, list(argv))
        errors: list[bytes] = []
        for stdout, stderr in self.api.exec_start(created["Id"], stream=True, demux=True):
            if stdout:
                out.write(stdout)
            if stderr:
                errors.append(stderr)
        code = self.api.exec_inspect(created["Id"]).get("ExitCode")
        return int(code or 0), b"".join(errors).decode("utf-8", errors="replace")

    @translated
    def exec_terminal(self, container: str, argv: Sequence[str]) -> tuple[Any, Callable[[int, int], None],
                                                                           Callable[[], int]]:  # fmt: skip
        """Run `argv` in the container on a terminal: a socket to it, a way to resize it and,
        once the socket closes, a way to learn its exit code."""
        exec_id = self.api.exec_create(container, list(argv), stdin=True, tty=True)["Id"]
        sock = self.api.exec_start(exec_id, tty=True, socket=True)

        def resize(height: int, width: int) -> None:
            self.api.exec_resize(exec_id, height=height, width=width)

        def exit_code() -> int:
            return int(self.api.exec_inspect(exec_id).get("ExitCode") or 0)

        return sock, resize, exit_code

    @translated
    def put_path(self, container: str, directory: str, name: str, source: Path, uid: int) -> None:
        """Copy the file `source` into the container as DIRECTORY/NAME, owned by `uid` and
        readable by it only, streamed from disk: a dump may be larger than memory."""
        with tempfile.TemporaryFile() as archive:
            with tarfile.open(fileobj=archive, mode="w") as tar:
                info = tar.gettarinfo(str(source), arcname=name)
                info.uid, info.gid, info.mode, info.uname, info.gname = uid, uid, 0o600, "", ""
                with source.open("rb") as data:
                    tar.addfile(info, data)
            archive.seek(0)
            self.api.put_archive(container, directory, archive)
