"""Files dockerhello writes on this host: whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from provision.errors import DockerHelloError


def unused_name(path: Path) -> Path:
    """`path`, or where a file is there already, the first of NAME-2.EXT, NAME-3.EXT... that is
    free: for a name dockerhello chose (a backup's, from the second it started), not the user's."""
    number = 1
    candidate = path
    while candidate.exists() or candidate.is_symlink():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


@contextlib.contextmanager
def new_file(path: Path) -> Iterator[IO[bytes]]:
    """A file that appears at `path` only once everything was written, readable by its owner
    only: an error or a Ctrl-C half-way leaves no file, never half of one. A file already there
    is not replaced."""
    if path.exists():
        raise DockerHelloError(f"{path} exists already", hint="Name another file, or move that one away.")
    try:
        # A partial file of its own (mkstemp: made new, mode 0600): two writing the same path
        # at once each write their own, and the second to finish is refused, where a shared
        # one would interleave their bytes.
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    except OSError as exc:
        raise DockerHelloError(
            f"Cannot write {path}: {exc.strerror}", hint="Name a file in a directory you can write to."
        ) from None
    partial = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.link(partial, path)  # fails if the name was taken meanwhile, rather than replacing it
    except FileExistsError:
        raise DockerHelloError(f"{path} exists already", hint="Name another file, or move that one away.") from None
    finally:
        partial.unlink(missing_ok=True)


def begins_with(path: Path, magic: bytes) -> bool:
    """Whether the file at `path` begins with `magic`, as a file format's first bytes say what it is."""
    with path.open("rb") as f:
        return f.read(len(magic)) == magic
