"""`doctor`: what a deploy needs on this host, checked, with what to run where it is missing."""

from __future__ import annotations

import platform
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from provision.adapters.docker_machine import DockerMachine
from provision.adapters.engine import Engine
from provision.adapters.engine_model import ImageInfo
from provision.adapters.host import Sysctl
from provision.adapters.vboxmanage import VBoxManage, parse_version
from provision.defaults import BASE_REPOSITORY
from provision.engine import EngineTarget
from provision.errors import DockerHelloError
from provision.services.ports import host_port_free

DEFAULT_BASE = "python:3.12-slim"
# Older than this, a base image has likely missed security updates: Debian's official images, which
# the Python ones are built on, are rebuilt with its updates about once a month.
STALE_AFTER = timedelta(days=30)


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None
    # A failed check that blocks the next deploy makes doctor exit non-zero.
    blocks_deploy: bool = False


@dataclass(frozen=True)
class HostPlatform:
    system: str = field(default_factory=platform.system)  # Linux, Darwin, Windows
    machine: str = field(default_factory=platform.machine)  # x86_64, arm64...

    @property
    def apple_silicon(self) -> bool:
        return self.system == "Darwin" and self.machine in ("arm64", "aarch64")


def per_os(host: HostPlatform, linux: str, macos: str, windows: str) -> str:
    return {"Darwin": macos, "Windows": windows}.get(host.system, linux)


class Doctor:
    def __init__(
        self,
        docker_machine: DockerMachine,
        vbox: VBoxManage,
        engine: Callable[[EngineTarget], Engine],
        environ: Mapping[str, str],
        host: HostPlatform | None = None,
        cpuinfo: Path = Path("/proc/cpuinfo"),
        port_is_free: Callable[[str, int, str], bool] = host_port_free,
        sysctl: Sysctl | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.docker_machine = docker_machine
        self.vbox = vbox
        self.engine = engine
        self.environ = environ
        self.host = host or HostPlatform()
        self.cpuinfo = cpuinfo
        self.port_is_free = port_is_free
        self.sysctl = sysctl
        self.now = now

    def run(self) -> list[Check]:
        target = EngineTarget.from_environ(self.environ)
        checks = [self.docker_machine_check(target), self.vboxmanage_check(target), self.virtualisation_check()]
        engine_check, engine = self.engine_check(target)
        checks += [engine_check, self.port_check(), self.base_image_check(engine)]
        return checks

    def docker_machine_check(self, target: EngineTarget) -> Check:
        needed = target.machine is not None  # the next deploy goes to a machine
        if not self.docker_machine.available():
            fork = "https://gitlab.com/gitlab-org/ci-cd/docker-machine/-/releases"
            fix = per_os(
                self.host,
                linux=f"docker-machine is archived upstream (0.16.2) and not packaged by Debian or Ubuntu: put a "
                f"release of GitLab's maintained fork ({fork}) in /usr/local/bin.",
                macos=f"brew install docker-machine (0.16.2, archived upstream; GitLab maintains a fork: {fork})",
                windows=f"choco install docker-machine (0.16.2, archived upstream; GitLab maintains a fork: {fork})",
            )
            return Check(
                "docker-machine",
                Status.FAIL if needed else Status.WARN,
                "not found on PATH: needed for `dockerhello machine` and deploys to a VM",
                fix,
                blocks_deploy=needed,
            )
        try:
            return Check("docker-machine", Status.OK, self.docker_machine.version())
        except DockerHelloError as exc:
            return Check("docker-machine", Status.FAIL, exc.message, exc.hint, blocks_deploy=needed)

    def vboxmanage_check(self, target: EngineTarget) -> Check:
        needed = target.machine is not None
        if self.host.apple_silicon:
            return Check(
                "VBoxManage",
                Status.WARN,
                "VirtualBox cannot run boot2docker VMs on Apple Silicon",
                "Use Colima (`brew install colima && colima start`) or Podman machine, then `dockerhello deploy` "
                "to that local engine.",
            )
        if not self.vbox.available():
            fix = per_os(
                self.host,
                linux="Install VirtualBox from https://www.virtualbox.org/wiki/Linux_Downloads (Debian: Oracle's "
                "apt repository, package virtualbox-7.0).",
                macos="brew install --cask virtualbox",
                windows="choco install virtualbox, or the installer from https://www.virtualbox.org",
            )
            return Check("VBoxManage", Status.FAIL if needed else Status.WARN, "not found on PATH", fix, needed)
        try:
            text = self.vbox.version()
            version = parse_version(text)
        except DockerHelloError as exc:
            return Check("VBoxManage", Status.FAIL, exc.message, exc.hint, blocks_deploy=needed)
        if version < (5, 0, 0):
            upgrade = "Upgrade VirtualBox: https://www.virtualbox.org/wiki/Downloads"
            return Check("VBoxManage", Status.FAIL, f"{text}: docker-machine needs 5 or later", upgrade, needed)
        note = ""
        if version >= (6, 1, 28):
            note = " (host-only networks limited to 192.168.56.0/21: dockerhello's default 192.168.56.1/24 fits)"
        return Check("VBoxManage", Status.OK, f"VirtualBox {text}{note}")

    def virtualisation_check(self) -> Check:
        name = "hardware virtualisation"
        if self.host.system == "Linux":
            try:
                flags = self.cpuinfo.read_text()
            except OSError:
                return Check(name, Status.SKIP, f"cannot read {self.cpuinfo}")
            if re.search(r"^flags\s*:.*\b(vmx|svm)\b", flags, re.MULTILINE):
                return Check(name, Status.OK, "VT-x/AMD-V available (vmx/svm in /proc/cpuinfo)")
            return Check(
                name,
                Status.WARN,
                "no vmx/svm flag in /proc/cpuinfo: VirtualBox cannot start 64-bit VMs here",
                "Enable VT-x/AMD-V in the BIOS/UEFI; inside a VM, enable nested virtualisation. Without it, "
                "deploy to the local engine: `dockerhello deploy`.",
            )
        if self.host.system == "Darwin" and self.sysctl is not None:
            value = self.sysctl.value("kern.hv_support")
            if value == "1":
                return Check(name, Status.OK, "kern.hv_support = 1")
            if value == "0":
                return Check(name, Status.WARN, "kern.hv_support = 0", "This Mac cannot run VirtualBox VMs.")
        return Check(name, Status.SKIP, f"cannot tell on {self.host.system}")

    def engine_check(self, target: EngineTarget) -> tuple[Check, Engine | None]:
        name = "engine for the next deploy"
        try:
            engine = self.engine(target)
            info = engine.info()
        except DockerHelloError as exc:
            return Check(name, Status.FAIL, exc.message, exc.hint, blocks_deploy=True), None
        detail = f"{target.describe()}: Docker {info.version} (API {info.api_version})"
        return Check(name, Status.OK, detail), engine

    def port_check(self) -> Check:
        if self.port_is_free("127.0.0.1", 8000, "tcp"):
            return Check("port 8000", Status.OK, "127.0.0.1:8000 is free")
        return Check(
            "port 8000",
            Status.WARN,
            "127.0.0.1:8000 is in use (by an earlier deploy of the same app, that is fine)",
            "Otherwise free it (`ss -ltnp 'sport = :8000'` shows who holds it) or deploy with --publish "
            "127.0.0.1:8001.",
        )

    def base_image_check(self, engine: Engine | None) -> Check:
        name = "base image"
        configured = self.environ.get("DOCKERHELLO_BASE_IMAGE")
        image = configured or DEFAULT_BASE
        if engine is None:
            return Check(name, Status.SKIP, f"{image}: no engine to look in")
        found = engine.image(image)
        if found is None:
            if configured:
                return Check(name, Status.FAIL, f"DOCKERHELLO_BASE_IMAGE={image} is not on the engine",
                             "Build it: `sudo dockerhello base build`.", blocks_deploy=True)  # fmt: skip
            made = sorted(((tag, base) for base in engine.images(BASE_REPOSITORY) for tag in base.tags),
                          key=lambda made_as: made_as[0])  # fmt: skip
            if made:
                tag, base = made[0]
                return self._aged(name, base, tag, f"{image} is not on the engine: deploys that cannot pull it build "
                                  f"on {tag} (made by `dockerhello base build`)")  # fmt: skip
            return Check(
                name,
                Status.WARN,
                f"{image} is not on the engine: the next deploy pulls it",
                "Without a registry: `sudo dockerhello base build`, then deploy with --base-image "
                "dockerhello/python:trixie (or export DOCKERHELLO_BASE_IMAGE).",
            )
        return self._aged(name, found, image, f"{image} is on the engine")

    def _aged(self, name: str, image: ImageInfo, tag: str, detail: str) -> Check:
        """OK, or a warning where the base is older than STALE_AFTER: a deploy builds on the
        engine's copy as it is, and never gets the security updates published since."""
        age = self.now() - image.created if image.created else None
        if age is None or age < STALE_AFTER:
            return Check(name, Status.OK, detail)
        if tag.startswith(f"{BASE_REPOSITORY}:"):
            fix = (f"`sudo dockerhello base build --tag {tag} --rebuild` makes it again from Debian's current packages "
                   "(with the --suite it was made with).")  # fmt: skip
        else:
            fix = (
                f"`dockerhello deploy --pull` builds on its registry's newer version (`docker pull {tag}` fetches it)."
            )
        return Check(name, Status.WARN, f"{detail}, made {age.days} days ago", fix)
