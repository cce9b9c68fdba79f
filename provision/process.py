"""The one way dockerhello runs an external program.

argv is a list (never a shell), every call has a timeout, and a failure is raised with the
program's own words (`ToolFailed`), never swallowed. Tests pass a `Runner` whose PATH holds
stand-in executables, so nothing here is patched.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from provision.errors import ToolFailed, ToolNotFound

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class Runner:
    """Runs programs found on `environ["PATH"]` with `environ` as their environment."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)

    def which(self, program: str) -> str | None:
        return shutil.which(program, path=self.environ.get("PATH", os.defpath))

    def _resolve(self, argv: Sequence[str]) -> list[str]:
        exe = self.which(argv[0])
        if exe is None:
            raise ToolNotFound(argv[0])
        return [exe, *argv[1:]]

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
        resolved = self._resolve(argv)
        started = time.monotonic()
        try:
            proc = subprocess.run(
                resolved,
                input=input,
                capture_output=True,
                text=True,
                timeout=timeout,
                env={**self.environ, **(env or {})},
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise ToolFailed(argv, None, _text(exc.stderr), _text(exc.stdout)) from exc
        log.debug("ran %s -> %s in %.2fs", list(argv), proc.returncode, time.monotonic() - started)
        done = Completed(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise ToolFailed(argv, proc.returncode, proc.stderr, proc.stdout)
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

        For long-running tools whose progress the user should see as it happens. The merged
        output is kept and returned too, so a failure still carries the tool's words.
        """
        resolved = self._resolve(argv)
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        with subprocess.Popen(
            resolved,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env={**self.environ, **(env or {})},
        ) as proc:
            assert proc.stdout is not None
            try:
                for line in proc.stdout:
                    lines.append(line)
                    on_line(line)
                    if time.monotonic() > deadline:
                        raise subprocess.TimeoutExpired(resolved, timeout)
                returncode = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except (subprocess.TimeoutExpired, KeyboardInterrupt) as exc:
                proc.kill()
                proc.wait()
                if isinstance(exc, KeyboardInterrupt):
                    raise
                raise ToolFailed(argv, None, "".join(lines[-20:])) from exc
        output = "".join(lines)
        done = Completed(tuple(argv), returncode, output, "")
        if check and returncode != 0:
            # The last lines are where tools say why they failed.
            raise ToolFailed(argv, returncode, "".join(lines[-20:]))
        return done


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value
