"""A Docker engine of the tests' own, beside the host's: its own dockerd with its own data
root, exec root, pidfile and socket, so that a test may stop and start it without touching
the engine the user (and every other test) runs on.

It runs without iptables and without the default bridge: containers on user-defined
networks reach each other and the host reaches published ports through Docker's userland
proxy, which is all a deploy needs. It reaches no registry or package index, so what it
runs is loaded into it from the host's engine (`load`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import docker


class OwnEngine:
    def __init__(self) -> None:
        # On the same filesystem as the host engine's data: overlay2 does not stack on overlayfs.
        self.root = Path(tempfile.mkdtemp(prefix="dockerhello-engine-", dir="/var/tmp"))
        self.socket = self.root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.log = self.root / "dockerd.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            raise RuntimeError("dockerd is not installed: scripts/ensure-docker installs it")
        (self.root / "daemon.json").write_text('{"deprecated-key-path": "%s"}\n' % (self.root / "key.json"))
        argv = [
            dockerd, "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
            "--pidfile", str(self.root / "docker.pid"), "-H", self.host, "--config-file",
            str(self.root / "daemon.json"), "--bridge", "none", "--iptables=false", "--ip-masq=false",
        ]  # fmt: skip
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dockerd exited: {self.log.read_text()[-2000:]}")
            client = self.client_or_none()
            if client is not None:
                client.close()
                return
            time.sleep(0.3)
        raise RuntimeError(f"dockerd did not answer within {timeout:.0f} s: {self.log.read_text()[-2000:]}")

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM, as an init system stops it: containers stop, restart policies are kept."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host, version="auto", timeout=300)

    def client_or_none(self) -> docker.DockerClient | None:
        try:
            client = self.client()
            client.ping()
        except Exception:
            return None
        return client

    def load(self, source: docker.DockerClient, *images: str) -> None:
        """Copy images from another engine (`docker save | docker load`)."""
        target = self.client()
        try:
            for name in images:
                target.images.load(b"".join(source.images.get(name).save(named=True)))
        finally:
            target.close()

    def close(self) -> None:
        self.stop()
        # What dockerd left mounted under its roots must go before the directory can.
        subprocess.run(["sh", "-c", f"grep -o ' {self.root}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l"],
                       check=False, timeout=60)  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)
