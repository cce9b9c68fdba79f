"""Seconds the engine takes to start a container, the `POST /containers/ID/start` a redeploy
waits on: one given its own endpoint on a user-defined network at a fixed address (how a
release starts), one that joins a running container's network stack (`--network
container:HOLDER`: measured, and left out, see the README), and one on the default bridge
(as `docker run` without `--network` starts), alternating, in one run.

    .venv/bin/python bench/release_start.py [--rounds 9]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import statistics
import time
from typing import Any

import docker

BASE = os.environ.get("DOCKERHELLO_BASE_IMAGE", "dockerhello/python:trixie")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    api = docker.from_env().api
    run = f"bench-start-{os.getpid()}"
    # As a deploy makes the app's network: a subnet the engine picks (a fixed one could be
    # another network's), written down as the user's, which a fixed address needs.
    picked = api.inspect_network(api.create_network(run, driver="bridge")["Id"])["IPAM"]["Config"][0]
    api.remove_network(run)
    pool = docker.types.IPAMPool(subnet=picked["Subnet"], gateway=picked["Gateway"])
    api.create_network(run, driver="bridge", ipam=docker.types.IPAMConfig(pool_configs=[pool]))
    address = str(ipaddress.ip_network(picked["Subnet"])[-2])  # the last, as a slot's
    holder = api.create_container(BASE, ["sleep", "infinity"], name=f"{run}-holder",
                                  host_config=api.create_host_config(network_mode=run))  # fmt: skip
    api.start(holder["Id"])
    ways: dict[str, dict[str, Any]] = {
        "own endpoint on the app's network": {
            "host_config": api.create_host_config(network_mode=run),
            "networking_config": api.create_networking_config(  # a dict of endpoint configs, whatever the stub says
                {run: api.create_endpoint_config(ipv4_address=address)}  # type: ignore[arg-type]
            ),
        },
        "joins a holder's network stack": {
            "host_config": api.create_host_config(network_mode=f"container:{run}-holder")
        },
        "default bridge (docker run)": {"host_config": api.create_host_config()},
    }
    seconds: dict[str, list[float]] = {way: [] for way in ways}
    try:
        for _ in range(args.rounds):
            for way, config in ways.items():
                container = api.create_container(BASE, ["sleep", "60"], **config)
                try:
                    started = time.monotonic()
                    api.start(container["Id"])
                    seconds[way].append(time.monotonic() - started)
                finally:  # one that failed to start is not left behind either
                    api.remove_container(container["Id"], force=True)
    finally:
        api.remove_container(holder["Id"], force=True)
        api.remove_network(run)
    for way, taken in seconds.items():
        print(f"{way:<36} {statistics.median(taken) * 1000:5.0f} ms (median of {args.rounds})")
    own, joined = (statistics.median(seconds[way]) for way in list(ways)[:2])
    print(f"joining a holder would save {(own - joined) * 1000:.0f} ms a start ({joined / own:.2f}x)")


if __name__ == "__main__":
    main()
