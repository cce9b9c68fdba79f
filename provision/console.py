"""Where dockerhello writes: results to stdout, everything else to stderr.

Keeping progress off stdout means `url=$(dockerhello deploy)` and `eval "$(dockerhello env)"`
get only what they asked for.
"""

from __future__ import annotations

import sys
from typing import TextIO


class Console:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, quiet: bool = False) -> None:
        self._out = out
        self._err = err
        self.quiet = quiet

    # Resolved at call time so that click's CliRunner, which swaps sys.stdout/stderr while a
    # command runs, captures what we write.
    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err or sys.stderr

    def result(self, text: str) -> None:
        """What the command produces: a URL, a table, JSON, shell code."""
        print(text, file=self.out, flush=True)

    def step(self, text: str) -> None:
        """A headline of progress: `==> Building image helloworld:latest`."""
        if not self.quiet:
            print(f"==> {text}", file=self.err, flush=True)

    def info(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.err, flush=True)

    def warn(self, text: str) -> None:
        print(f"Warning: {text}", file=self.err, flush=True)

    def stream(self, text: str) -> None:
        """A tool's own output passed through as it comes (build steps, docker-machine)."""
        if not self.quiet:
            self.err.write(text)
            self.err.flush()

    def raw(self, text: str) -> None:
        """A command's own output, which is the result (`dockerhello run`): to stdout as it comes."""
        self.out.write(text)
        self.out.flush()
