"""The one exception tree of dockerhello.

Catch `DockerHelloError` to catch everything dockerhello raises on purpose. Each error
carries what went wrong (`message`), what to do about it (`hint`) and the exit status the
command line ends with. Only `provision.cli` turns them into output; nothing here imports click.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum, unique


@unique
class ExitCode(IntEnum):
    """Exit statuses, distinct where a script may want to tell the cases apart."""

    OK = 0
    ERROR = 1
    USAGE = 2  # click's own status for bad arguments
    ENGINE_UNREACHABLE = 3
    DEPLOY_FAILED = 4
    # `docker run`'s own statuses (and a shell's) for a command that cannot be run: a script
    # that ran `docker run IMAGE CMD` before tells the cases apart the same way.
    COMMAND_CANNOT_RUN = 126
    COMMAND_NOT_FOUND = 127
    INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


class DockerHelloError(Exception):
    """Base class of every error dockerhello reports to its user."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Lines shown after the message, e.g. a container's last log lines.
        self.details = tuple(details)


class ToolNotFound(DockerHelloError):
    """An external program is not installed or not on PATH."""

    def __init__(self, tool: str, hint: str | None = None) -> None:
        super().__init__(f"{tool} not found on PATH", hint)
        self.tool = tool


class ToolFailed(DockerHelloError):
    """An external program exited non-zero (or was stopped at its timeout); its own words are kept."""

    def __init__(
        self,
        argv: Sequence[str],
        returncode: int | None,
        stderr: str,
        stdout: str = "",
        timeout: float | None = None,
        silent_for: float | None = None,
    ) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
        self.stdout = stdout
        said = stderr.strip() or stdout.strip()
        if returncode is None:
            # The tool and its subcommand, e.g. "docker-machine create": which one stalled.
            tool = " ".join(argv[:2]) if len(argv) > 1 and argv[1].isalpha() else argv[0]
            silence = f", silent for the last {silent_for:.0f} s" if silent_for is not None else ""
            after = f" after {timeout:g} s" if timeout is not None else ""
            message = f"{tool} did not finish{after}{silence}: dockerhello stopped it"
            super().__init__(message, hint="Its last output is above or below; run it again, or with --debug.")
            return
        message = f"{argv[0]} failed (exit {returncode})"
        super().__init__(f"{message}: {said}" if said else message)


class NameTaken(DockerHelloError):
    """The engine has an object of that name already: what makes a name a lock."""


class CommandCannotRun(DockerHelloError):
    """The engine could not start a container's command: not in the image, or not executable."""

    def __init__(self, command: str, reason: str) -> None:
        self.command = command
        self.reason = reason
        if reason == "permission denied":
            self.exit_code = ExitCode.COMMAND_CANNOT_RUN
            super().__init__(
                f'The command "{command}" cannot be run in the container: {reason}',
                hint="It is a directory, or a file the container's user may not execute: `chmod +x` it "
                "before the build, or `RUN chmod +x FILE` in the Dockerfile.",
            )
            return
        self.exit_code = ExitCode.COMMAND_NOT_FOUND
        super().__init__(
            f'The command "{command}" is not in the image: {reason}',
            hint="Name a program the image has, or its full path; a name without a slash is looked up "
            "in the image's PATH, not this host's.",
        )


class InterruptedElsewhere(DockerHelloError):
    """Ctrl-C while a step ran in a container, where it goes on: the engine gives no way to stop
    an exec. Said as an error, so that the user learns what state it leaves, with Ctrl-C's status."""

    exit_code = ExitCode.INTERRUPTED


class RestoreInterrupted(InterruptedElsewhere):
    def __init__(self, where: str) -> None:
        super().__init__(
            f"Interrupted while the restore ran in {where}, where it goes on, in one transaction",
            hint="The database ends up as it was or as the backup, whole, never a mix: run the same "
            "`dockerhello db restore` again to be sure it is the backup's.",
        )


class EngineUnreachable(DockerHelloError):
    exit_code = ExitCode.ENGINE_UNREACHABLE


class DeployFailed(DockerHelloError):
    exit_code = ExitCode.DEPLOY_FAILED


class BuildFailed(DeployFailed):
    """The image did not build; `details` holds the build's last output lines."""


class BaseImageUnavailable(BuildFailed):
    """The Dockerfile's base image is neither local nor pullable."""

    # Whether the Dockerfile takes its base from the BASE_IMAGE build argument, so that
    # another base can be given without editing it.
    takes_base_arg: bool = False


class MachineNotFound(DockerHelloError):
    """docker-machine has no machine of that name."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f'Docker machine "{name}" does not exist',
            hint=f"Create it with `dockerhello machine create {name}`, or list machines with `dockerhello machine ls`.",
        )
        self.name = name


class MachineNotRunning(DockerHelloError):
    exit_code = ExitCode.ENGINE_UNREACHABLE

    def __init__(self, name: str) -> None:
        super().__init__(
            f'Machine "{name}" is not running',
            hint=f"Start it with `dockerhello machine start {name}`.",
        )
        self.name = name


class CertificateMismatch(DockerHelloError):
    exit_code = ExitCode.ENGINE_UNREACHABLE


class VmNotFound(DockerHelloError):
    """VirtualBox has no VM of that name (deleted behind docker-machine's back)."""
