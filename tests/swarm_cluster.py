"""Three Docker engines that stand in for three docker-machine VMs, for a real Swarm.

Each `dockerd` runs in a network namespace of its own, joined by a veth pair to one bridge on
the host (SUBNET): the host reaches each engine at its address as it reaches a VM over the
host-only network, and the engines reach each other there (Swarm's 2377, 7946 and VXLAN's
4789). Each serves its API on ADDRESS:2376 with TLS and demands a client certificate, as a
docker-machine VM's engine does, with certificates this fixture makes. Each has its own data
root, exec root, pidfile and key file (else all share one engine ID, and Swarm sees one node).
The host masquerades the bridge's traffic, so builds on a node reach the package index as the
host's own engine does.

dockerd is started with `nsenter --net`, not `ip netns exec`, which remounts /sys and leaves
dockerd without its cgroups.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import docker

from provision.adapters.engine import connect
from provision.engine import EngineTarget
from tests import leftovers
from tests.tls_endpoint import make_certs

SUBNET_PREFIX = "192.168.77"
HOST_SIDE = f"{SUBNET_PREFIX}.1"
ENGINE_PORT = 2376


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), check=check, timeout=60, capture_output=True, text=True)


class Node:
    """One engine: its namespace, its dockerd, its address."""

    def __init__(self, cluster: SwarmCluster, index: int) -> None:
        self.cluster = cluster
        self.index = index
        self.address = f"{SUBNET_PREFIX}.{10 + index}"
        self.netns = f"{cluster.tag}-n{index}"
        self.veth = f"{cluster.tag}v{index}"  # interface names hold 15 characters
        self.root = cluster.root / f"node{index}"
        self.host = f"tcp://{self.address}:{ENGINE_PORT}"
        self.log = self.root / "dockerd.log"
        self.process: subprocess.Popen[bytes] | None = None

    def network(self) -> None:
        run("ip", "netns", "add", self.netns)
        run("ip", "link", "add", f"{self.veth}h", "type", "veth", "peer", "name", f"{self.veth}n")
        run("ip", "link", "set", f"{self.veth}n", "netns", self.netns)
        run("ip", "link", "set", f"{self.veth}h", "master", self.cluster.bridge)
        run("ip", "link", "set", f"{self.veth}h", "up")
        inside = (["addr", "add", f"{self.address}/24", "dev", f"{self.veth}n"], ["link", "set", f"{self.veth}n", "up"],
                  ["link", "set", "lo", "up"], ["route", "add", "default", "via", HOST_SIDE])  # fmt: skip
        for args in inside:
            run("ip", "netns", "exec", self.netns, "ip", *args)

    def start(self, timeout: float = 60) -> None:
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            raise RuntimeError("dockerd is not installed: scripts/ensure-docker installs it")
        self.root.mkdir(parents=True, exist_ok=True)
        # A registry on the bridge serves without TLS, as a user's may: the engines are told to
        # trust it, as `docker-machine create --engine-insecure-registry` tells a VM's engine.
        config = {"deprecated-key-path": str(self.root / "key.json"), "insecure-registries": [f"{SUBNET_PREFIX}.0/24"]}
        (self.root / "daemon.json").write_text(json.dumps(config) + "\n")
        certs = self.cluster.certs
        argv = [
            "nsenter", f"--net=/run/netns/{self.netns}", dockerd, "--data-root", str(self.root / "data"),
            "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "docker.pid"),
            "-H", f"tcp://0.0.0.0:{ENGINE_PORT}", "--tlsverify", "--tlscacert", str(certs / "ca.pem"),
            "--tlscert", str(certs / "server.pem"), "--tlskey", str(certs / "server-key.pem"),
            "--config-file", str(self.root / "daemon.json"),
        ]  # fmt: skip
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dockerd exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(Exception):
                client = self.client()
                client.ping()
                client.close()
                return
            time.sleep(0.3)
        raise RuntimeError(f"dockerd did not answer within {timeout:.0f} s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL, as a VM that loses power: no task is stopped, no node leaves."""
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None
        # Its containers' shims outlive it; they would hold the ports a restart needs.
        run("sh", "-c", f"pkill -KILL -f 'containerd-shim.*{self.root}' || true", check=False)

    def stop(self, timeout: float = 60) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    @property
    def target(self) -> EngineTarget:
        return EngineTarget(host=self.host, tls=True, tls_verify=True, cert_path=self.cluster.certs)

    def client(self) -> docker.DockerClient:
        """dockerhello's own client: docker-py's would take REQUESTS_CA_BUNDLE's CA instead."""
        return connect(self.target, timeout=300)

    def load(self, source: docker.DockerClient, *images: str) -> None:
        """Copy images from another engine (`docker save | docker load`)."""
        target = self.client()
        try:
            for name in images:
                target.images.load(b"".join(source.images.get(name).save(named=True)))
        finally:
            target.close()


class SwarmCluster:
    """Three engines (no Swarm yet: that is what dockerhello makes of them)."""

    def __init__(self, size: int = 3) -> None:
        # On the same filesystem as the host engine's data: overlay2 does not stack on overlayfs.
        self.root = Path(tempfile.mkdtemp(prefix="dockerhello-swarm-", dir="/var/tmp"))
        self.tag = f"dhs{secrets.token_hex(2)}"
        self.bridge = f"{self.tag}br"
        self.nodes = [Node(self, index) for index in range(1, size + 1)]
        self.certs = make_certs(self.root / "certs", server_ips=tuple(n.address for n in self.nodes))
        self.leftover = leftovers.Leftover(
            name=self.tag,
            root=str(self.root),
            netns=tuple(node.netns for node in self.nodes),
            links=(self.bridge,),
            undo=tuple(tuple(argv) for argv in self._nat("-D")),
        )

    def _nat(self, action: str) -> list[list[str]]:
        return [
            ["iptables", "-t", "nat", action, "POSTROUTING", "-s", f"{SUBNET_PREFIX}.0/24", "!", "-o", self.bridge,
             "-j", "MASQUERADE"],
            # Docker's FORWARD policy is DROP: the bridge's traffic is let through both ways.
            ["iptables", action, "FORWARD", "-i", self.bridge, "-j", "ACCEPT"],
            ["iptables", action, "FORWARD", "-o", self.bridge, "-j", "ACCEPT"],
        ]  # fmt: skip

    def start(self) -> None:
        # A killed run's bridge would hold HOST_SIDE too, and take the subnet's route.
        leftovers.sweep()
        leftovers.record(self.leftover)
        run("ip", "link", "add", self.bridge, "type", "bridge")
        run("ip", "addr", "add", f"{HOST_SIDE}/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        for argv in self._nat("-I"):
            run(*argv)
        for node in self.nodes:
            node.network()
            node.start()

    def close(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop(timeout=30)
        leftovers.tear_down(self.leftover)
