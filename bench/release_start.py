"""Seconds the engine takes to start a container, the `POST /containers/ID/start` a redeploy
waits on: one given its own endpoint on a user-defined network at a fixed address (how a
release starts), one that joins a running container's network stack (`--network
container:HOLDER`: measured, and left out, see the README), and one on the default bridge
(as `docker run` without `--network` starts), alternating, in one run.

    .venv/bin/python bench/release_start.py [--rounds 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import docker
from common import BASE

from provision.app import App
from provision.owned import SLOTS
from provision.services.proxy_layout import slot_addresses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    api = docker.from_env().api
    run = f"bench-start-{os.getpid()}"
    with tempfile.TemporaryDirectory() as home:
        app = App.create({**os.environ, "DOCKERHELLO_HOME": home}, state_dir=Path(home))
        engine = app.engine(app.engine_target())
        # Made as a deploy makes the app's network, and the address a slot's.
        address = slot_addresses(engine.create_network(run, {}).subnet or "")[SLOTS[-1]]
        try:
            seconds = timed_starts(api, run, address, args.rounds)
        finally:
            engine.remove_network(run)
    for way, taken in seconds.items():
        print(f"{way:<36} {statistics.median(taken) * 1000:5.0f} ms (median of {args.rounds})")
    own, joined = (statistics.median(taken) for taken in list(seconds.values())[:2])
    print(f"joining a holder would save {(own - joined) * 1000:.0f} ms a start ({joined / own:.2f}x)")


def timed_starts(api: docker.APIClient, run: str, address: str, rounds: int) -> dict[str, list[float]]:
    """Seconds of each way's starts on the network `run`, alternating."""
    holder = api.create_container(BASE, ["sleep", "infinity"], name=f"{run}-holder",
                                  host_config=api.create_host_config(network_mode=run))  # fmt: skip
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
        api.start(holder["Id"])
        for _ in range(rounds):
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
    return seconds


if __name__ == "__main__":
    main()
