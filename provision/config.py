"""The project's files that dockerhello reads: its settings table (`dockerhello.toml`, else
`[tool.dockerhello]` in `pyproject.toml`), checked against the schema of settings that
`provision.settings` declares and passes in; that module applies them under flags and
DOCKERHELLO_* variables.

Also the app's environment files (`KEY=VALUE` lines), whose values are secrets: they go to
the container at run time and are never printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from provision import validators
from provision.errors import DockerHelloError

if TYPE_CHECKING:
    from pathlib import Path


class Setting(Protocol):
    """What the file may hold for one setting, as the schema (`provision.settings`) declares."""

    @property
    def kinds(self) -> tuple[type, ...]: ...
    @property
    def allowed(self) -> str: ...


@dataclass(frozen=True)
class ProjectConfig:
    source: Path | None  # the file the values came from
    values: dict[str, Any]

    def where(self, key: str) -> str:
        table = "" if self.source is None or self.source.name == "dockerhello.toml" else "[tool.dockerhello] "
        return f"{self.source}: {table}{key}"


def load_config(project: Path, schema: Mapping[str, Setting]) -> ProjectConfig:
    """The project's settings table, each key one `schema` declares and each value of a kind
    it allows; the values' own rules are the flags', applied where they are merged."""
    dedicated = project / "dockerhello.toml"
    pyproject = project / "pyproject.toml"
    if dedicated.is_file():
        source, table = dedicated, _read(dedicated)
    elif pyproject.is_file():
        source, table = pyproject, _read(pyproject)
        for key in ("tool", "dockerhello"):
            table = table.get(key, {})
            if not isinstance(table, dict):
                raise DockerHelloError(
                    f"{pyproject}: [tool{'.dockerhello' if key == 'dockerhello' else ''}] is not a table",
                    hint="dockerhello reads its settings from a [tool.dockerhello] table in pyproject.toml.",
                )
    else:
        return ProjectConfig(None, {})
    config = ProjectConfig(source, dict(table))
    for key, value in table.items():
        declaration = schema.get(key)
        if declaration is None:
            raise DockerHelloError(f"{config.where(key)}: unknown setting", hint=f"Allowed: {', '.join(schema)}.")
        # bool is an int in Python: keep true/false out of numeric settings.
        if not isinstance(value, declaration.kinds) or (isinstance(value, bool) and bool not in declaration.kinds):
            raise DockerHelloError(
                f"{config.where(key)} = {value!r} is not allowed", hint=f"It must be {declaration.allowed}."
            )
    for name, value in table.get("env", {}).items():
        if not validators.is_env_name(name) or not isinstance(value, str) or "\0" in value:
            raise DockerHelloError(
                f"{config.where('env')}.{name} = {value!r} is not allowed",
                hint='Environment entries are NAME = "value", NAME made of letters, digits and _.',
            )
    return config


def _read(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise DockerHelloError(f"{path} is not valid TOML: {exc}", hint="Fix the line it names.") from None


def _text(path: Path) -> str:
    """A file's text, or one error naming it: unreadable, or not UTF-8 (with the line)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DockerHelloError(f"Cannot read {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DockerHelloError(
            f"{path}:{line}: not UTF-8 text", hint="Save the file as UTF-8 (dockerhello reads no other encoding)."
        ) from None


def parse_env_file(path: Path) -> dict[str, str]:
    """`KEY=VALUE` lines, `#` comments, optional `export ` and matching quotes, as
    docker's --env-file and most dotenv files write them. Errors name the line, never
    the value."""
    text = _text(path)
    values: dict[str, str] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not validators.is_env_name(name) or "\0" in value:
            raise DockerHelloError(
                f"{path}:{number}: expected NAME=VALUE",
                hint="One variable a line; NAME made of letters, digits and _.",
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[name] = value
    return values
