"""A Docker engine of the tests' own, beside the host's: its own dockerd, with its own data
root, exec root and pidfile, in a network namespace of its own, so that a test may stop and
start it without touching the engine the user (and every other test) runs on.

In its namespace it has its own docker0, its own iptables and its own address pools; a veth
pair joins it to the host, which reaches its API and its published ports at ADDRESS, as it
would reach another machine's. It reaches no registry or package index, so what it runs is
loaded into it from the host's engine (`load`). dockerd is started with `nsenter --net`,
not `ip netns exec`, which remounts /sys and leaves dockerd without its cgroups.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import docker

from tests import leftovers


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, timeout=30, capture_output=True)


class OwnEngine:
    HOST_SIDE = "10.253.77.1"
    ADDRESS = "10.253.77.2"  # the engine's side of the veth pair: where its ports are reached

    def __init__(self) -> None:
        # On the same filesystem as the host engine's data: overlay2 does not stack on overlayfs.
        self.root = Path(tempfile.mkdtemp(prefix="dockerhello-engine-", dir="/var/tmp"))
        tag = secrets.token_hex(3)
        self.netns = f"dhtest-{tag}"
        self.veth = f"dhv{tag}"  # interface names hold 15 characters
        self.host = f"tcp://{self.ADDRESS}:2375"
        self.log = self.root / "dockerd.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.leftover = leftovers.Leftover(name=self.netns, root=str(self.root), netns=(self.netns,),
                                           links=(f"{self.veth}h",))  # fmt: skip

    def _network(self) -> None:
        if Path(f"/run/netns/{self.netns}").exists():
            return
        # A killed run's namespace would hold ADDRESS too, and take its route.
        leftovers.sweep()
        leftovers.record(self.leftover)
        ip("netns", "add", self.netns)
        ip("link", "add", f"{self.veth}h", "type", "veth", "peer", "name", f"{self.veth}n")
        ip("link", "set", f"{self.veth}n", "netns", self.netns)
        ip("addr", "add", f"{self.HOST_SIDE}/30", "dev", f"{self.veth}h")
        ip("link", "set", f"{self.veth}h", "up")
        for args in (["addr", "add", f"{self.ADDRESS}/30", "dev", f"{self.veth}n"], ["link", "set", f"{self.veth}n", "up"],
                     ["link", "set", "lo", "up"]):  # fmt: skip
            ip("netns", "exec", self.netns, "ip", *args)

    def start(self, timeout: float = 60) -> None:
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            raise RuntimeError("dockerd is not installed: scripts/ensure-docker installs it")
        self._network()
        (self.root / "daemon.json").write_text('{"deprecated-key-path": "%s"}\n' % (self.root / "key.json"))
        argv = [
            "nsenter", f"--net=/run/netns/{self.netns}", dockerd, "--data-root", str(self.root / "data"),
            "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "docker.pid"), "-H", self.host,
            "--config-file", str(self.root / "daemon.json"),
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
        leftovers.tear_down(self.leftover)
