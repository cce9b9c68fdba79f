"""Bytes this repository's image adds above its base: its own layers, built as dockerhello
builds it, against the base image's size measured in the same run.

    .venv/bin/python bench/image_size.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import docker

REPO = Path(__file__).resolve().parent.parent
BASE = os.environ.get("DOCKERHELLO_BASE_IMAGE", "dockerhello/python:trixie")
TARGET = 40 * 10**6  # bytes, as `docker images` counts MB


def main() -> None:
    client = docker.from_env()
    tag = f"bench-size:{os.getpid()}"
    try:
        client.images.build(path=str(REPO), tag=tag, buildargs={"BASE_IMAGE": BASE}, rm=True, forcerm=True)
        image, base = client.images.get(tag), client.images.get(BASE)
        added = int(image.attrs["Size"]) - int(base.attrs["Size"])
        history = image.history()  # newest first: the image's own steps, then the base's
        own = history[: len(history) - len(base.history())]
        layers = [(int(layer["Size"]), str(layer["CreatedBy"])[-70:]) for layer in own if layer["Size"]]
    finally:
        client.images.remove(tag, force=True)
    print(f"base {BASE}: {int(base.attrs['Size']) / 1e6:.1f} MB; image: {int(image.attrs['Size']) / 1e6:.1f} MB")
    for size, created_by in layers:
        print(f"  {size / 1e6:7.1f} MB  {created_by}")
    print(f"added above the base: {added / 1e6:.1f} MB (the target is at most {TARGET / 1e6:.0f} MB)")
    sys.exit(0 if added <= TARGET else 1)


if __name__ == "__main__":
    main()
