"""The small tools dockerhello runs on this host besides docker-machine and VBoxManage: git (a
release's commit), debootstrap and chroot (a base image's filesystem), sysctl (macOS's
virtualisation flag). One class each, one method per use, all through the one `Runner`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from provision.errors import DockerHelloError, ToolNotFound

if TYPE_CHECKING:
    from provision.process import Runner


class Git:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def commit(self, project: Path) -> str | None:
        """The short commit of the checkout at `project`, `-dirty` with local changes; None
        outside a checkout or without git."""
        if self.runner.which("git") is None:
            return None
        head = self.runner.run(["git", "-C", str(project), "rev-parse", "--short=7", "HEAD"], check=False, timeout=10)
        if head.returncode != 0:
            return None
        status = self.runner.run(["git", "-C", str(project), "status", "--porcelain"], check=False, timeout=30)
        dirty = status.returncode == 0 and bool(status.stdout.strip())
        return head.stdout.strip() + ("-dirty" if dirty else "")


class Debootstrap:
    """debootstrap, and chroot into what it made."""

    TIMEOUT = 1200.0  # a slow mirror: 20 minutes, then it is a stall, not slowness

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def require(self) -> None:
        if self.runner.which("debootstrap") is None:
            raise ToolNotFound("debootstrap", hint="Install it: `sudo apt-get install debootstrap`.")

    def install(
        self, suite: str, root: Path, packages: Sequence[str], mirror: str | None, on_line: Callable[[str], None]
    ) -> None:
        argv = ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", suite, str(root)]
        self.runner.stream([*argv, *([mirror] if mirror else [])], on_line, timeout=self.TIMEOUT)

    def chroot(self, root: Path, argv: Sequence[str], timeout: float = 120) -> None:
        self.runner.run(["chroot", str(root), *argv], timeout=timeout)


class Sysctl:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def value(self, name: str) -> str | None:
        """A kernel setting (macOS: kern.hv_support), or None where it cannot be read."""
        try:
            return self.runner.run(["sysctl", "-n", name], timeout=10).stdout.strip()
        except DockerHelloError:
            return None
