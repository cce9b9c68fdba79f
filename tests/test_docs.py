"""The README and the command line agree: every command and option `--help` shows is in the
README, and every `dockerhello ...` command the README shows exists, with options it has."""

from __future__ import annotations

import re

import click
import pytest

from provision.cli import cli
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], click.Command]:
    found: dict[tuple[str, ...], click.Command] = {}
    for name, command in group.commands.items():
        path = (*prefix, name)
        found[path] = command
        if isinstance(command, click.Group):
            found.update(commands(command, path))
    return found


COMMANDS = commands(cli)


def flags(command: click.Command) -> list[str]:
    return [flag for param in command.params if isinstance(param, click.Option)
            for flag in (*param.opts, *param.secondary_opts) if flag.startswith("--")]  # fmt: skip


@pytest.mark.parametrize("path", [" ".join(path) for path in COMMANDS])
def test_every_command_is_in_the_readme(path: str) -> None:
    *group, name = path.split()
    # `dockerhello machine create`, or in the commands table: `dockerhello machine ls | status | ...`
    pattern = rf"dockerhello {' '.join(group)}{' ' if group else ''}(?:[a-z-]+(?: \\?\| )?)*\b{re.escape(name)}\b"
    assert re.search(pattern, README), f"`dockerhello {path}` is not in the README"


@pytest.mark.parametrize("path", [" ".join(path) for path in COMMANDS])
def test_every_option_is_in_the_readme(path: str) -> None:
    missing = [flag for flag in flags(COMMANDS[tuple(path.split())]) if not re.search(rf"{flag}\b", README)]
    assert missing == [], f"options of `dockerhello {path}` missing from the README"


# What the README shows as code: fenced blocks and `spans`.
CODE = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", README, re.DOTALL) + re.findall(r"`([^`\n]+)`", README))


def shown_commands() -> list[tuple[tuple[str, ...], str]]:
    """(command path as written, the rest of it) for each `dockerhello ...` in the README's code.
    The commands table writes alternatives, `dockerhello logs [-f] | down [--images]`: each is one."""
    shown = []
    # A command where one is typed: at the start, after a prompt, sudo, `$(`, `&&` or `;`.
    for line in re.findall(r"(?m)(?:^|\$ |sudo |\$\(|&& |; )dockerhello((?: [^\n`|#)\"]*(?:\|)?)+)", CODE):
        parent: tuple[str, ...] = ()
        for number, piece in enumerate(line.split("|")):
            words = re.findall(r"^(?: ?([a-z][a-z-]*))+", piece.strip()) and piece.split()
            path = [] if number == 0 else list(parent)
            rest: list[str] = []
            for word in words:
                if not rest and re.fullmatch(r"[a-z][a-z-]*", word) and (len(path) == 0 or isinstance(
                        COMMANDS.get(tuple(path)), click.Group)):  # fmt: skip
                    path.append(word)
                else:
                    rest.append(word)
            if number == 0:
                parent = tuple(path[:-1])
            if path:
                shown.append((tuple(path), " ".join(rest)))
    return shown


SHOWN = shown_commands()


@pytest.mark.parametrize("shown", sorted({" ".join(path) for path, _ in SHOWN}))
def test_every_command_the_readme_shows_exists(shown: str) -> None:
    assert tuple(shown.split()) in COMMANDS, f"`dockerhello {shown}` is in the README but is not a command"


def test_every_option_the_readme_gives_a_command_exists() -> None:
    unknown = []
    for path, rest in SHOWN:
        if path not in COMMANDS:
            continue
        known = {*flags(COMMANDS[path]), *flags(cli), "--help", "--version"}
        unknown += [f"dockerhello {' '.join(path)} {flag}" for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest)
                    if flag not in known]  # fmt: skip
    assert unknown == []
