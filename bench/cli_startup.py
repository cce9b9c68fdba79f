"""How long `dockerhello --help` takes, against `python -c "import click"` in the same run:
the least any click program can take. The target is a ratio of at most 1.5.
`dockerhello env --help` is shown beside it, for information.

Runs each command alternately (at least 15 times each), warm: bytecode is written by a first
run, as an installed package has it. Prints the medians and their ratios.

    .venv/bin/python bench/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET = 1.5
VENV_BIN = Path(sys.executable).parent


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="runs of each command (at least 15)")
    runs = max(15, parser.parse_args().runs)
    dockerhello = shutil.which("dockerhello", path=str(VENV_BIN)) or shutil.which("dockerhello")
    if dockerhello is None:
        sys.exit("dockerhello is not installed: run scripts/setup first")
    # Bytecode as an installed package has it: a session that forbids writing it would time
    # the compiler, not the start-up.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    commands = {
        "python -c 'import click'": [sys.executable, "-c", "import click"],
        "dockerhello --help": [dockerhello, "--help"],
        "dockerhello env --help": [dockerhello, "env", "--help"],
    }
    for argv in commands.values():
        timed(argv, env)  # warm-up: bytecode, page cache
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(timed(argv, env))
    baseline = statistics.median(times["python -c 'import click'"])
    print(f"{'command':<28} {'median ms':>10} {'ratio':>7}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<28} {median * 1000:>10.1f} {median / baseline:>6.2f}x")
    ratio = statistics.median(times["dockerhello --help"]) / baseline
    # Whether the SDK, requests or Django were loaded: they must not be, at start-up.
    probe = (
        "import sys; from provision.cli import cli; "
        "print(','.join(m for m in ('docker', 'requests', 'django') if m in sys.modules) or 'none')"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    print(f"heavy modules loaded at start-up: {loaded.stdout.strip()}")
    verdict = "meets" if ratio <= TARGET else "misses"
    print(f"dockerhello --help: {ratio:.2f}x, {verdict} the target of {TARGET}x ({runs} runs each, alternating)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
