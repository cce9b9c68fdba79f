"""Cutting a `docker save` archive for a node: the layers it holds left out, the rest whole."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from provision.services.image_transfer import Archive, chunks, held_layers


def saved(layers: list[str]) -> bytes:
    """An archive laid out as Engine 20.10's `docker save` lays it out."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for layer in layers:
            directory = tarfile.TarInfo(layer)
            directory.type = tarfile.DIRTYPE
            tar.addfile(directory)
            add(f"{layer}/VERSION", b"1.0")
            add(f"{layer}/json", b"{}")
            add(f"{layer}/layer.tar", layer.encode() * 1000)
        add("cfg.json", b'{"rootfs": {}}')
        manifest = [{"Config": "cfg.json", "RepoTags": ["hello:1"], "Layers": [f"{x}/layer.tar" for x in layers]}]
        add("manifest.json", json.dumps(manifest).encode())
        add("repositories", b"{}")
    return buffer.getvalue()


def names(path: Path) -> list[str]:
    with tarfile.open(path) as tar:
        return tar.getnames()


def test_a_node_that_holds_the_base_gets_the_app_layers_only() -> None:
    archive = Archive(iter([saved(["base1", "base2", "app"])]))
    try:
        assert archive.dirs == ["base1", "base2", "app"]
        cut = archive.for_node(2)
        assert names(cut) == ["app", "app/VERSION", "app/json", "app/layer.tar", "cfg.json", "manifest.json",
                              "repositories"]  # fmt: skip
        with tarfile.open(cut) as tar:
            member = tar.extractfile("app/layer.tar")
            assert member is not None and member.read() == b"app" * 1000
        assert archive.for_node(0) == archive.path  # a node with none of them gets it whole
        assert b"".join(chunks(cut)) == cut.read_bytes()
    finally:
        archive.close()
    assert not archive.directory.exists()


def test_held_layers_is_the_longest_prefix_the_node_has() -> None:
    layers = ["a", "b", "c"]
    assert held_layers(layers, set()) == 0
    assert held_layers(layers, {("a",), ("a", "b")}) == 2
    assert held_layers(layers, {("b",), ("b", "c")}) == 0  # the same layer on another base is another chain
    assert held_layers(layers, {("a",), ("a", "b"), ("a", "b", "c")}) == 3
