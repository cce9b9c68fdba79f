"""The one way dockerhello runs an external program.

argv is a list (never a shell), every call has a timeout that holds, and a failure is raised
with the program's own words (`ToolFailed`), never swallowed. Each program runs in a process
group of its own, so that a timeout or a Ctrl-C ends it and everything it started (docker-
machine drives VBoxManage and ssh): a grandchild left holding the output pipe would otherwise
keep dockerhello waiting after the child itself was killed. Tests pass a `Runner` whose PATH
holds stand-in executables, so nothing here is patched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from provision.errors import ToolFailed, ToolNotFound

if TYPE_CHECKING:
    import queue

DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


GRACE = 3.0  # seconds a stopped tool gets to clean up after SIGTERM, before SIGKILL


def _end_group(proc: subprocess.Popen[str]) -> None:
    """End the child's whole process group (SIGTERM, then SIGKILL), then reap the child."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=GRACE)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # what it started and left behind
    proc.wait()


class Runner:
    """Runs programs found on `environ["PATH"]` with `environ` as their environment."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)

    def which(self, program: str) -> str | None:
        return shutil.which(program, path=self.environ.get("PATH", os.defpath))

    def _spawn(self, argv: Sequence[str], env: Mapping[str, str] | None, merge: bool, stdin: int | None
               ) -> subprocess.Popen[str]:  # fmt: skip
        exe = self.which(argv[0])
        if exe is None:
            raise ToolNotFound(argv[0])
        return subprocess.Popen(
            [exe, *argv[1:]],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge else subprocess.PIPE,
            text=True,
            bufsize=1 if merge else -1,
            env={**self.environ, **(env or {})},
            start_new_session=True,  # its own process group: see the module's docstring
        )

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Completed:
        """Run to completion and capture both streams.

        With check=False a non-zero exit is returned rather than raised, for callers that
        read meaning into exit codes (e.g. "already running").
        """
        started = time.monotonic()
        proc = self._spawn(argv, env, merge=False, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL)
        try:
            stdout, stderr = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            _end_group(proc)
            stdout, stderr = proc.communicate()
            raise ToolFailed(argv, None, stderr or "", stdout or "", timeout=timeout) from None
        except BaseException:  # Ctrl-C: the tool goes with us
            _end_group(proc)
            raise
        _debug("ran %s -> %s in %.2fs", list(argv), proc.returncode, time.monotonic() - started)
        done = Completed(tuple(argv), proc.returncode, stdout, stderr)
        if check and proc.returncode != 0:
            raise ToolFailed(argv, proc.returncode, stderr, stdout)
        return done

    def stream(
        self,
        argv: Sequence[str],
        on_line: Callable[[str], None],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Completed:
        """Run while passing each output line (stdout and stderr merged) to `on_line`.

        For long-running tools whose progress the user should see as it happens. A reader
        thread takes the lines while this one watches the clock, so a tool that stalls
        without printing is stopped at the deadline too. The merged output is kept and
        returned, so a failure still carries the tool's words.
        """
        import queue  # here, not at start-up: only streaming tools need a reader thread
        import threading

        deadline = time.monotonic() + timeout
        proc = self._spawn(argv, env, merge=True, stdin=subprocess.DEVNULL)
        lines: list[str] = []
        last_output = time.monotonic()
        pending: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        reader = threading.Thread(target=_pump, args=(proc.stdout, pending), daemon=True)
        reader.start()
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    _end_group(proc)
                    silent = time.monotonic() - last_output
                    raise ToolFailed(argv, None, "".join(lines[-20:]), timeout=timeout, silent_for=silent)
                try:
                    line = pending.get(timeout=min(remaining, 1.0))
                except queue.Empty:
                    continue
                if line is None:
                    break
                last_output = time.monotonic()
                lines.append(line)
                on_line(line)
            returncode = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _end_group(proc)
            raise ToolFailed(argv, None, "".join(lines[-20:]), timeout=timeout, silent_for=0) from None
        except BaseException:
            _end_group(proc)
            raise
        finally:
            reader.join(timeout=1)
        done = Completed(tuple(argv), returncode, "".join(lines), "")
        if check and returncode != 0:
            # The last lines are where tools say why they failed.
            raise ToolFailed(argv, returncode, "".join(lines[-20:]))
        return done


def _debug(message: str, *args: object) -> None:
    # logging costs start-up time every command would pay; only --debug (which loads it) listens.
    if "logging" in sys.modules:
        sys.modules["logging"].getLogger(__name__).debug(message, *args)


def _pump(source: IO[str], into: queue.Queue[str | None]) -> None:
    """Move lines from a pipe into a queue; None marks the end of the output."""
    try:
        for line in source:
            into.put(line)
    except (OSError, ValueError):  # the pipe was closed under us by a kill
        pass
    finally:
        into.put(None)
