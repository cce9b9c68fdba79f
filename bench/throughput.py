"""Requests per second and latency: this repository deployed by dockerhello, against the same
image run the tutorial's way beside it (`docker run -p 127.0.0.1:PORT:8000 IMAGE gunicorn
helloworld.wsgi:application --bind 0.0.0.0:8000 --workers 3`), in the same run.

wrk drives each setup in turn, alternating, for `--rounds` rounds of `--seconds` each (the
machine is noisy: one round says little). Prints req/s, p50, p99, socket errors and non-2xx
per round and their medians per setup, and the ratio of the medians.

The tutorial's sync Gunicorn closes every connection, and under sustained load from one client
host the sockets left in TIME_WAIT slow its new connections down (it recovers as they expire,
after 60 s). `--rested` waits before each of its rounds until they have, so that the tutorial
is measured at its best; the run then takes about a minute more per round. Either way the last
line also compares dockerhello's median against the tutorial's best round.

    .venv/bin/python bench/throughput.py [--rounds 5] [--seconds 8] [--rested] [--machine NAME]

Needs wrk (`bash scripts/setup --test` installs it), a Docker engine and the base image.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import docker
from common import BASE, REPO, dockerhello, free_port

from provision.app import App

TUTORIAL = ["gunicorn", "helloworld.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]


@dataclass(frozen=True)
class Round:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_2xx: int
    socket_errors: str = ""  # wrk's own words: connect, read, write, timeout


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(text: str) -> Round:
    """wrk's report with --latency: Requests/sec, the latency distribution, errors."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    latency = {m.group(1): _ms(m.group(2), m.group(3)) for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\b",
                                                                             text, re.MULTILINE)}  # fmt: skip
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", text)) else 0
    kinds = m.group(1) if (m := re.search(r"Socket errors: (.*)", text)) else ""
    return Round(rps, latency.get("50", 0.0), latency.get("99", 0.0), errors, non_2xx, kinds)


def wrk(url: str, seconds: int, connections: int = 32) -> Round:
    # Bounded in time and to an address of this machine (or of its VM), as a load test here must be.
    proc = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", "Host: localhost",
                           url],
                          capture_output=True, text=True, timeout=seconds + 60, check=True)  # fmt: skip
    return parse_wrk(proc.stdout)


def time_wait() -> int:
    """Sockets of this host in TIME_WAIT: each connection a server closes leaves one for 60 s,
    and when they hold most of the ephemeral ports, new connections wait for a free one."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                count += sum(1 for line in lines if line.split()[3:4] == ["06"])
        except OSError:
            continue
    return count


def wait_answers(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Host": "localhost"}), timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def rest(limit: int = 2_000, timeout: float = 90) -> float:
    """Wait until this host holds fewer than `limit` sockets in TIME_WAIT; the seconds waited."""
    started = time.monotonic()
    while time_wait() >= limit and time.monotonic() - started < timeout:
        time.sleep(1)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per setup, alternating (at least 5)")
    parser.add_argument("--seconds", type=int, default=8, help="seconds of load per round")
    parser.add_argument(
        "--rested",
        action="store_true",
        help="before each tutorial round, wait until the sockets in TIME_WAIT have expired",
    )
    parser.add_argument("--machine", help="run both on this docker-machine VM's engine instead of the local one")
    args = parser.parse_args()
    rounds = max(5, args.rounds)
    name = f"bench-tp-{os.getpid()}"
    machine = ["--machine", args.machine] if args.machine else []
    with tempfile.TemporaryDirectory() as home:
        app = App.create({**os.environ, "DOCKERHELLO_HOME": home}, state_dir=Path(home))
        target = app.engine_target(args.machine)
        client = (
            docker.DockerClient(base_url=target.host, version="auto") if not target.tls else app.engine(target).client
        )
        host = target.hostname
        port, tutorial_port = free_port(), free_port()
        container = None
        try:
            publish = f"0.0.0.0:{port}" if machine else str(port)  # a VM's port is reached from this host
            deploy = ["deploy", str(REPO), "--app", name, "--publish", publish, "--base-image", BASE, *machine]
            url = dockerhello(deploy, home)
            url = url.replace("localhost", "127.0.0.1")
            # The tutorial's run, plus the one thing the image refuses to start without.
            container = client.containers.run(f"{name}:latest", TUTORIAL, detach=True,
                                              environment={"SECRET_KEY": secrets.token_urlsafe(50)},
                                              ports={"8000/tcp": ("127.0.0.1" if target.is_local else "0.0.0.0",
                                                                  tutorial_port)})  # fmt: skip
            tutorial_url = f"http://{host}:{tutorial_port}/"
            wait_answers(tutorial_url)
            wait_answers(url)
            results: dict[str, list[Round]] = {"tutorial": [], "dockerhello": []}
            for number in range(rounds):
                for label, target_url in (("tutorial", tutorial_url), ("dockerhello", url)):
                    if args.rested and label == "tutorial":
                        print(f"resting {rest():.0f} s (TIME_WAIT now {time_wait()})", flush=True)
                    measured = wrk(target_url, args.seconds)
                    results[label].append(measured)
                    print(f"round {number + 1} {label:<12} {measured.requests_per_second:>9.0f} req/s  "
                          f"p50 {measured.p50_ms:>6.1f} ms  p99 {measured.p99_ms:>6.1f} ms  "
                          f"errors {measured.errors}  non-2xx {measured.non_2xx}  "
                          f"TIME_WAIT after {time_wait()}", flush=True)  # fmt: skip
        finally:
            if container is not None:
                container.remove(force=True)
            dockerhello(["down", "--app", name, "--images", "--path", str(REPO), *machine], home)
    print(f"\n{'setup':<12}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'non-2xx':>9}  (medians of {rounds})")
    medians = {}
    for label, series in results.items():
        medians[label] = statistics.median(r.requests_per_second for r in series)
        print(f"{label:<12}{medians[label]:>10.0f}{statistics.median(r.p50_ms for r in series):>9.1f}"
              f"{statistics.median(r.p99_ms for r in series):>9.1f}{sum(r.errors for r in series):>8}"
              f"{sum(r.non_2xx for r in series):>9}")  # fmt: skip
    print(f"ratio dockerhello / tutorial: {medians['dockerhello'] / medians['tutorial']:.2f}x (the target is 2.0x)")
    best = max(r.requests_per_second for r in results["tutorial"])
    print(f"ratio dockerhello / the tutorial's best round ({best:.0f} req/s): {medians['dockerhello'] / best:.2f}x")


if __name__ == "__main__":
    main()
