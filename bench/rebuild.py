"""A code-only change rebuilds in seconds: the image of this repository built from scratch
(no cache: the baseline) against a rebuild after a change to a view, through the Docker SDK
as dockerhello builds, in the same run."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import docker
from common import BASE, copy_project


def build(client: docker.DockerClient, path: Path, tag: str, nocache: bool) -> float:
    started = time.monotonic()
    for chunk in client.api.build(path=str(path), tag=tag, buildargs={"BASE_IMAGE": BASE}, nocache=nocache,
                                  rm=True, forcerm=True, decode=True):  # fmt: skip
        if "error" in chunk:
            raise SystemExit(chunk["error"])
    return time.monotonic() - started


def main() -> None:
    client = docker.from_env()
    tag = f"bench-rebuild:{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_project(Path(tmp))
        try:
            full = build(client, project, tag, nocache=True)
            views = project / "helloworld" / "views.py"
            views.write_text(views.read_text().replace("Hello, World!", "Hello again, World!"))
            code_only = build(client, project, tag, nocache=False)
        finally:
            client.images.remove(tag, force=True)
    print(f"full build (baseline, no cache)  {full:6.1f} s")
    print(f"code-only change rebuild         {code_only:6.1f} s   ({full / code_only:.0f}x faster)")
    fast = code_only < 10 and code_only < full / 2
    print("OK" if fast else "REGRESSION: a code change rebuilds too slowly")
    sys.exit(0 if fast else 1)


if __name__ == "__main__":
    main()
