"""Images to the nodes of a Swarm without a registry, sending only the layers a node lacks.

`docker save` writes every layer of an image, the base's too: for this repository, 195 MB
where a code change adds a few. `docker load` reads a layer's file only when the engine
lacks that layer (moby's tarexport: each layer is looked up by its chain ID first), so the
archive sent to a node may leave out the layers the node has: the manifest and the image's
configuration still name them all. Which layers a node has is read from its images' layer
lists (the same prefix of layers is the same chain).
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from provision.adapters.engine import Engine
    from provision.console import Console
    from provision.services.cluster import Member

CHUNK = 1 << 20


def held_layers(layers: Sequence[str], chains: set[tuple[str, ...]]) -> int:
    """How many of `layers`, from the first, the node holds: the longest prefix it has."""
    held = 0
    for count in range(1, len(layers) + 1):
        if tuple(layers[:count]) not in chains:
            break
        held = count
    return held


def layer_dirs(archive: Path) -> list[str]:
    """The archive's layer entries (`DIR/layer.tar`), in the image's order, from its manifest."""
    with tarfile.open(archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None, "docker save wrote no manifest.json"
        manifest = json.loads(member.read())
    return [str(path).split("/")[0] for path in manifest[0]["Layers"]]


def without_layers(archive: Path, skipped: set[str], into: Path) -> Path:
    """A copy of `archive` without the entries of the layer directories in `skipped`."""
    with tarfile.open(archive) as source, tarfile.open(into, "w") as target:
        for member in source:
            if member.name.split("/")[0] in skipped:
                continue
            target.addfile(member, source.extractfile(member) if member.isfile() else None)
    return into


def chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as stream:
        while block := stream.read(CHUNK):
            yield block


class Archive:
    """One image saved once to a temporary file, cut per node; removed when closed."""

    def __init__(self, saved: Iterator[bytes]) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dockerhello-image-"))
        self.path = self.directory / "image.tar"
        with open(self.path, "wb") as out:
            for block in saved:
                out.write(block)
        self.dirs = layer_dirs(self.path)
        self._cuts = 0

    def for_node(self, held: int) -> Path:
        """The archive for a node that holds the first `held` layers."""
        if held == 0:
            return self.path
        self._cuts += 1
        return without_layers(self.path, set(self.dirs[:held]), self.directory / f"cut-{self._cuts}.tar")

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def ship(
    source: Engine,
    images: list[str],
    members: list[Member],
    console: Console,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Every node gets the images it lacks: each saved once from the manager's engine, then
    loaded into each node in parallel, without the layers that node has already."""
    wanted = []
    for reference in images:
        info = source.image(reference)
        assert info is not None, reference
        lacking = [m for m in members[1:] if m.engine.image(info.id) is None]
        if lacking:
            wanted.append((reference, info.layers, lacking))
    if not wanted:
        return
    started = clock()
    machines = sorted({m.machine for _, _, lacking in wanted for m in lacking})
    console.step(f"Sending {', '.join(r for r, _, _ in wanted)} to {', '.join(machines)} (docker save | docker load)")
    chains = {m.machine: m.engine.layer_chains() for _, _, lacking in wanted for m in lacking}
    sent = 0
    for reference, layers, lacking in wanted:
        archive = Archive(source.save_image(reference))
        try:
            cuts = {m.machine: archive.for_node(held_layers(layers, chains[m.machine])) for m in lacking}
            sent += sum(cut.stat().st_size for cut in cuts.values())

            def send(member: Member, cuts: dict[str, Path] = cuts) -> None:
                member.engine.load_image(chunks(cuts[member.machine]))

            with ThreadPoolExecutor(max_workers=len(lacking)) as pool:
                list(pool.map(send, lacking))
        finally:
            archive.close()
    console.info(f"Images sent in {clock() - started:.1f} s ({sent / 1e6:.1f} MB: the layers the nodes lacked)")
