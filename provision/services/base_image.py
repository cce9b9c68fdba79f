"""A Python base image made from Debian packages, for engines that cannot reach a registry.

debootstrap installs a minimal Debian with python3 and its venv module into a directory,
which is imported as an image (`docker import`, through the SDK). CA certificates the user
names are added to the system store, and pip is pointed at that store, so that `pip install`
inside the image works behind a TLS-intercepting proxy.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from provision.adapters.host import Debootstrap
from provision.console import Console
from provision.defaults import DEFAULT_SUITE, base_image_tag
from provision.errors import DockerHelloError

if TYPE_CHECKING:  # `dockerhello base --help` starts without the SDK
    from provision.adapters.engine import Engine

PACKAGES = ("python3", "python3-venv", "ca-certificates")
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def split_reference(reference: str) -> tuple[str, str]:
    """`registry:5000/name:tag` -> (`registry:5000/name`, `tag`); no tag means `latest`."""
    repository, _, tag = reference.rpartition(":")
    if not repository or "/" in tag:  # the colon was a registry's port, not a tag
        return reference, "latest"
    return repository, tag


@dataclass(frozen=True)
class BaseImageSpec:
    suite: str = DEFAULT_SUITE
    tag: str = base_image_tag(DEFAULT_SUITE)
    mirror: str | None = None
    ca_certs: tuple[Path, ...] = ()


# What `docker import` cannot know from a bare filesystem: a PATH (the Dockerfile extends
# it), a UTF-8 locale, and a command.
IMAGE_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
)

PIP_CONF = f"""\
# Written by dockerhello base build: pip trusts the system CA store, which holds the
# certificates given with --ca-cert, instead of the bundle vendored in pip.
[global]
cert = {SYSTEM_BUNDLE}
"""


class BaseImageBuilder:
    def __init__(
        self,
        debootstrap: Debootstrap,
        engine: Engine,
        console: Console,
        is_root: Callable[[], bool] = lambda: os.geteuid() == 0,
    ) -> None:
        self.debootstrap = debootstrap
        self.engine = engine
        self.console = console
        self.is_root = is_root

    def exists(self, tag: str) -> bool:
        return self.engine.image(tag) is not None

    def build(self, spec: BaseImageSpec, rebuild: bool = False) -> bool:
        """Build `spec.tag`; False when it already existed and `rebuild` was not asked."""
        if not rebuild and self.exists(spec.tag):
            self.console.info(f"Base image {spec.tag} already exists (--rebuild makes it again)")
            return False
        for cert in spec.ca_certs:
            if not cert.is_file():
                raise DockerHelloError(f"CA certificate file {cert} does not exist")
        self.debootstrap.require()
        if not self.is_root():
            raise DockerHelloError(
                "debootstrap needs root to build the base image's filesystem",
                hint="Run it with sudo: `sudo dockerhello base build`.",
            )
        # /var/tmp: on disk (a root filesystem does not fit every tmpfs /tmp) and not noexec.
        import tempfile  # here, not at start-up: every command imports this module

        workdir = Path(tempfile.mkdtemp(prefix="dockerhello-base-", dir="/var/tmp"))
        try:
            rootfs = workdir / "rootfs"
            self._debootstrap(spec, rootfs)
            self._add_ca_certs(spec, rootfs)
            self._slim(rootfs)
            archive = workdir / "rootfs.tar"
            self.console.step(f"Importing the filesystem as {spec.tag}")
            import tarfile

            with tarfile.open(archive, "w") as tar:
                tar.add(rootfs, arcname=".")
            repository, tag = split_reference(spec.tag)
            self.engine.import_image(archive, repository, tag, IMAGE_CHANGES)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        self.console.info(f"Built base image {spec.tag}")
        return True

    def _debootstrap(self, spec: BaseImageSpec, rootfs: Path) -> None:
        self.console.step(f"Installing Debian {spec.suite} with {', '.join(PACKAGES)} (debootstrap)")
        self.debootstrap.install(spec.suite, rootfs, PACKAGES, spec.mirror, self.console.stream)

    def _add_ca_certs(self, spec: BaseImageSpec, rootfs: Path) -> None:
        (rootfs / "etc" / "pip.conf").write_text(PIP_CONF, encoding="utf-8")
        if not spec.ca_certs:
            return
        self.console.step(f"Adding {len(spec.ca_certs)} CA certificate file(s) to the system store")
        target = rootfs / "usr" / "local" / "share" / "ca-certificates"
        target.mkdir(parents=True, exist_ok=True)
        for index, cert in enumerate(spec.ca_certs):
            # update-ca-certificates only reads files ending in .crt; a bundle of several
            # certificates in one file is taken whole.
            shutil.copyfile(cert, target / f"dockerhello-{index}-{cert.stem}.crt")
        self.debootstrap.chroot(rootfs, ["update-ca-certificates"])

    def _slim(self, rootfs: Path) -> None:
        # debootstrap keeps the downloaded .debs and apt's package lists: ~100 MB no
        # container needs (the python:slim images drop them too).
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            directory = rootfs / leftover
            for entry in directory.glob("*"):
                if entry.is_file() and entry.name != "lock":
                    entry.unlink()
