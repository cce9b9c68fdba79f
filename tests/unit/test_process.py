from __future__ import annotations

import sys

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
    assert "timed out" in str(raised.value)


def test_missing_program() -> None:
    with pytest.raises(ToolNotFound) as raised:
        Runner({"PATH": "/nonexistent"}).run(["docker-machine", "ls"])
    assert raised.value.message == "docker-machine not found on PATH"


def test_stream_passes_lines_as_they_come_and_keeps_them() -> None:
    seen: list[str] = []
    done = Runner().stream([sys.executable, "-c", "print('a'); print('b')"], seen.append)
    assert seen == ["a\n", "b\n"]
    assert done.stdout == "a\nb\n"
