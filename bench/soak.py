"""A 60 s soak at 64 connections: errors, and the release container's memory before and after
(the baseline: the same container after a 5 s warm-up at the same load, so that Gunicorn's
workers and their threads exist and Django's lazy imports are done before the first figure).

    .venv/bin/python bench/soak.py [--seconds 60] [--connections 64]

Needs wrk (`bash scripts/setup --test` installs it).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

import docker
import docker.models.containers
from common import BASE, REPO, dockerhello, free_port
from throughput import wrk


def memory(container: docker.models.containers.Container) -> int:
    """Bytes in use as `docker stats` counts them: usage less the page cache."""
    stats: dict[str, Any] = container.stats(stream=False)["memory_stats"]  # type: ignore[index]
    cache = stats.get("stats", {}).get("inactive_file", stats.get("stats", {}).get("cache", 0))
    return int(stats["usage"]) - int(cache)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    client = docker.from_env()
    name = f"bench-soak-{os.getpid()}"
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        try:
            deploy = ["deploy", str(REPO), "--app", name, "--publish", f"127.0.0.1:{port}", "--base-image", BASE]
            url = dockerhello(deploy, home).replace("localhost", "127.0.0.1")
            [release] = client.containers.list(filters={"label": [f"dockerhello.app={name}",
                                                                   "dockerhello.role=release"]})  # fmt: skip
            wrk(url, 5, args.connections)
            before = memory(release)
            soak = wrk(url, args.seconds, args.connections)
            after = memory(release)
        finally:
            dockerhello(["down", "--app", name, "--images", "--path", str(REPO)], home)
    growth = (after - before) / before * 100
    print(f"soak: {args.seconds} s at {args.connections} connections: {soak.requests_per_second:.0f} req/s, "
          f"p99 {soak.p99_ms:.1f} ms, errors {soak.errors} ({soak.socket_errors or 'none'}), "
          f"non-2xx {soak.non_2xx}")  # fmt: skip
    print(f"release memory: {before / 2**20:.1f} MiB after warm-up, {after / 2**20:.1f} MiB after the soak "
          f"({growth:+.1f}%, the target is at most +10%)")  # fmt: skip


if __name__ == "__main__":
    main()
