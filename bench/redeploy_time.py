"""Seconds from a one-line change to a view to the new text served: `dockerhello deploy`
(build, health-gated start beside the serving release, switch) against the by-hand
`docker build && docker rm -f && docker run` on the same project, alternating, in one run.

Both start from a warm build cache (the dependency layer built), as a developer's second
deploy does. Both are run as a user runs them, as new processes: `dockerhello` pays for its
Python start as `docker` does for its own. The clock stops when GET / answers with the new text;
when the commands return is printed too (dockerhello's returns later: the old release drains).
Each timed round starts after a few seconds of quiet: what the round before left the engine doing
(its other Gunicorn workers booting, the clean-up after a removal) slowed the next one down, and
whichever of the two came after the other's quicker round paid for it.

    .venv/bin/python bench/redeploy_time.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from common import BASE, copy_project, dockerhello, free_port

SETTLE = 3.0  # seconds of quiet before each timed round


def body(port: int) -> str:
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": "localhost"})
        with urllib.request.urlopen(request, timeout=2) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def until_served(port: int, text: str, started: float, timeout: float = 120) -> float:
    while time.monotonic() - started < timeout:
        if body(port) == text:
            return time.monotonic() - started
        time.sleep(0.05)
    raise SystemExit(f"port {port} did not serve {text!r} within {timeout:.0f} s")


def change(project: Path, text: str) -> None:
    views = project / "helloworld" / "views.py"
    lines = views.read_text().splitlines(keepends=True)
    views.write_text("".join(re_text(line, text) for line in lines))


def re_text(line: str, text: str) -> str:
    if line.lstrip().startswith("return HttpResponse(") and '"ok"' not in line:
        return f'    return HttpResponse("{text}", content_type="text/plain; charset=utf-8")\n'
    return line


def dockerhello_command() -> list[str]:
    """The `dockerhello` command of the virtualenv that runs this bench."""
    script = Path(sys.executable).parent / "dockerhello"
    return [str(script)] if script.exists() else [sys.executable, "-m", "provision"]


def watched_deploy(deploy: list[str], home: str, port: int, text: str, started: float) -> tuple[float, float]:
    """Seconds until `text` is served, watched while the deploy runs, and until the command
    returns (later: it lets the previous release drain, then stops it)."""
    seen: list[float] = []
    watcher = threading.Thread(target=lambda: seen.append(until_served(port, text, started)))
    watcher.start()
    subprocess.run([*dockerhello_command(), "-q", *deploy], check=True, capture_output=True, timeout=600,
                   env={**os.environ, "DOCKERHELLO_HOME": home})  # fmt: skip
    returned = time.monotonic() - started
    watcher.join()
    return seen[0], returned


def by_hand(project: Path, tag: str, name: str, port: int, key: str) -> str:
    """The by-hand redeploy; returns the image built, which the next round's build leaves
    untagged (the bench removes them all at the end, as `dockerhello down --images` does its own)."""
    docker = shutil.which("docker") or "docker"
    built = subprocess.run([docker, "build", "-q", "--build-arg", f"BASE_IMAGE={BASE}", "-t", tag, str(project)],
                           check=True, capture_output=True, text=True, timeout=600)  # fmt: skip
    subprocess.run([docker, "rm", "-f", name], check=False, capture_output=True, timeout=60)
    subprocess.run([docker, "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8000", "-e", f"SECRET_KEY={key}",
                    tag], check=True, capture_output=True, timeout=60)  # fmt: skip
    return built.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    app, key = f"bench-rd-{os.getpid()}", secrets.token_urlsafe(50)
    run = secrets.token_hex(4)
    hand_tag, hand_name = f"{app}-hand:latest", f"{app}-hand"
    hand_port, port = free_port(), free_port()
    times: dict[str, list[float]] = {"by hand": [], "dockerhello": []}
    returns: dict[str, list[float]] = {"by hand": [], "dockerhello": []}
    built: list[str] = []  # the by-hand images, one a round
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as home:
        project = copy_project(Path(tmp) / "project")
        deploy = ["deploy", str(project), "--app", app, "--publish", f"127.0.0.1:{port}", "--base-image", BASE]
        try:
            dockerhello(deploy, home)  # warm: the dependency layer is built, the proxy runs
            built.append(by_hand(project, hand_tag, hand_name, hand_port, key))
            until_served(hand_port, "Hello, World!", time.monotonic())
            for number in range(args.rounds):
                for label in ("by hand", "dockerhello"):
                    # Unique to this run: an image an earlier run built from the same text would
                    # still be in the engine's build cache, and the build would take no time.
                    text = f"Hello, {label} {number} {run}!"
                    change(project, text)
                    # What the previous round left working (a release's other workers booting, the
                    # engine's clean-up after a removal) must not land in this one's time.
                    time.sleep(SETTLE)
                    started = time.monotonic()
                    if label == "by hand":
                        built.append(by_hand(project, hand_tag, hand_name, hand_port, key))
                        returned = time.monotonic() - started
                        took = until_served(hand_port, text, started)
                    else:
                        took, returned = watched_deploy(deploy, home, port, text, started)
                    times[label].append(took)
                    returns[label].append(returned)
                    print(f"round {number + 1} {label:<12} served after {took:5.2f} s, the commands returned "
                          f"after {returned:5.2f} s", flush=True)  # fmt: skip
        finally:
            subprocess.run(["docker", "rm", "-f", hand_name], check=False, capture_output=True)
            subprocess.run(["docker", "rmi", "-f", hand_tag, *built], check=False, capture_output=True)
            dockerhello(["down", "--app", app, "--images", "--path", str(project)], home)
    hand, ours = statistics.median(times["by hand"]), statistics.median(times["dockerhello"])
    print(f"\nby hand (docker build && docker rm -f && docker run)  {hand:6.2f} s (median of {args.rounds})")
    print(f"dockerhello deploy (health-gated, zero downtime)      {ours:6.2f} s")
    print(f"ratio: {ours / hand:.2f}x (the target is at most 1.1x)")
    hand_returned, ours_returned = (statistics.median(returns[label]) for label in ("by hand", "dockerhello"))
    print(f"the commands returned after: by hand {hand_returned:.2f} s, dockerhello {ours_returned:.2f} s "
          "(it lets the old release drain, then stops it)")  # fmt: skip


if __name__ == "__main__":
    main()
