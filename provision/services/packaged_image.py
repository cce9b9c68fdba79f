"""Images dockerhello builds from files it ships (the proxy's nginx, the app's PostgreSQL):
Debian's packages on the app's own base image, so that no registry is needed for either."""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass
from importlib import resources

from provision.adapters.engine import Engine
from provision.console import Console
from provision.errors import DeployFailed
from provision.owned import LABEL_PROXY_BASE, LABEL_ROLE


@dataclass(frozen=True)
class PackagedImage:
    package: str  # where its build context lives, e.g. "provision.proxy"
    files: tuple[str, ...]  # the build context: a Dockerfile and what it copies
    repository: str  # e.g. "dockerhello/proxy"
    role: str  # its LABEL_ROLE
    what: str  # for the progress line: "the proxy image"
    packages: str  # what it installs, for the progress line: "nginx"

    def _read(self, name: str) -> bytes:
        return resources.files(self.package).joinpath(name).read_bytes()

    def tag(self, base_image: str | None) -> str:
        """Tagged by what it is made of, so a changed file or base builds a new image."""
        digest = hashlib.sha256()
        for name in self.files:
            digest.update(self._read(name))
        digest.update((base_image or "").encode())
        return f"{self.repository}:{digest.hexdigest()[:12]}"

    def context(self) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name in self.files:
                data = self._read(name)
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o755 if name.endswith(".sh") else 0o644  # a wheel keeps no modes
                tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    def ensure(self, engine: Engine, console: Console, base_image: str | None) -> str:
        """The image's tag, built first if the engine lacks it."""
        tag = self.tag(base_image)
        if engine.image(tag) is not None:
            return tag
        console.step(f"Building {self.what} {tag} ({self.packages} from Debian's packages)")
        labels = {LABEL_ROLE: self.role, LABEL_PROXY_BASE: base_image or ""}
        buildargs = {"BASE_IMAGE": base_image} if base_image else None
        for event in engine.build(tag, labels, buildargs, context=self.context()):
            if event.kind == "error":
                raise self._failure(engine, base_image, event.text)
            console.stream(event.text)
        return tag

    def _failure(self, engine: Engine, base_image: str | None, said: str) -> DeployFailed:
        what = f"{self.what[0].upper()}{self.what[1:]}"
        if base_image and engine.image(base_image) is None:
            # Removed since (a proxy upgrade builds on the base the running proxy was made on):
            # the engine then tries a registry, and its words alone would blame the mirror.
            return DeployFailed(
                f"{what} did not build: its base image {base_image} is not on the {engine.target.describe()}, "
                f"and pulling it failed: {said}",
                hint=f"Put {base_image} back on the engine (`docker pull {base_image}`, or, for an image "
                "`dockerhello base build` made, build it again), then run the command again.",
            )
        return DeployFailed(
            f"{what} did not build: {said}",
            hint="It installs Debian's packages with apt from the base image: the engine needs to reach a "
            "Debian mirror, and the base image must be Debian-based.",
        )
