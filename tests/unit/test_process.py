from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from provision.errors import ToolFailed, ToolNotFound
from provision.process import Runner


def test_run_captures_both_streams() -> None:
    done = Runner().run([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"])
    assert (done.returncode, done.stdout, done.stderr) == (0, "out\n", "err\n")


def test_failure_is_raised_with_the_tools_own_words() -> None:
    with pytest.raises(ToolFailed) as raised:
        Runner().run([sys.executable, "-c", "import sys; sys.exit('Machine \"x\" is already running.')"])
    assert raised.value.returncode == 1
    assert str(raised.value) == f'{sys.executable} failed (exit 1): Machine "x" is already running.'


def test_check_false_returns_the_failure() -> None:
    done = Runner().run([sys.executable, "-c", "raise SystemExit(3)"], check=False)
    assert done.returncode == 3


def test_timeout_is_a_failure_not_a_hang() -> None:
    with pytest.raises(ToolFailed) as raised:
        Runner().run([sys.executable, "-c", "import time; time.sleep(10)"], timeout=0.5)
    assert raised.value.returncode is None
    assert str(raised.value) == f"{sys.executable} did not finish after 0.5 s: dockerhello stopped it"


def test_missing_program() -> None:
    with pytest.raises(ToolNotFound) as raised:
        Runner({"PATH": "/nonexistent"}).run(["docker-machine", "ls"])
    assert raised.value.message == "docker-machine not found on PATH"


def test_stream_passes_lines_as_they_come_and_keeps_them() -> None:
    seen: list[str] = []
    done = Runner().stream([sys.executable, "-c", "print('a'); print('b')"], seen.append)
    assert seen == ["a\n", "b\n"]
    assert done.stdout == "a\nb\n"


def test_stream_timeout_holds_for_a_silent_child() -> None:
    started = time.monotonic()
    with pytest.raises(ToolFailed) as raised:
        Runner().stream(["sh", "-c", "sleep 30"], lambda _: None, timeout=1)
    assert time.monotonic() - started < 6
    assert raised.value.returncode is None
    assert raised.value.message == "sh did not finish after 1 s, silent for the last 1 s: dockerhello stopped it"


def test_stream_timeout_ends_what_the_child_started(tmp_path: Path) -> None:
    # A grandchild holding the output pipe must not keep dockerhello waiting, nor outlive it.
    pidfile = tmp_path / "pid"
    script = f"sleep 60 & echo $! > {pidfile}; echo started; wait"
    with pytest.raises(ToolFailed):
        Runner().stream(["sh", "-c", script], lambda _: None, timeout=1)
    grandchild = int(pidfile.read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{grandchild}").exists() or "Z" in Path(f"/proc/{grandchild}/stat").read_text().split()[2]


def test_run_timeout_ends_what_the_child_started() -> None:
    started = time.monotonic()
    with pytest.raises(ToolFailed) as raised:
        Runner().run(["sh", "-c", "sleep 60 & wait"], timeout=0.5)
    assert time.monotonic() - started < 6
    assert raised.value.message == "sh did not finish after 0.5 s: dockerhello stopped it"


def test_stream_names_the_subcommand_that_stalled(tmp_path: Path) -> None:
    tool = tmp_path / "docker-machine"
    tool.write_text("#!/bin/sh\necho 'Running pre-create checks...'\nsleep 30\n")
    tool.chmod(0o755)
    seen: list[str] = []
    with pytest.raises(ToolFailed) as raised:
        Runner({"PATH": f"{tmp_path}:/usr/bin:/bin"}).stream(
            ["docker-machine", "create", "dev"], seen.append, timeout=1
        )
    assert seen == ["Running pre-create checks...\n"]
    assert raised.value.message.startswith("docker-machine create did not finish after 1 s, silent for the last ")
