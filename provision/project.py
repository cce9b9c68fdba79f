"""The project being deployed: its directory and its app name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from provision import validators
from provision.errors import DockerHelloError
from provision.validators import Publish

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Project", "Publish", "load_app_name", "load_project"]


@dataclass(frozen=True)
class Project:
    path: Path
    app: str


def load_project(path: Path, app: str | None = None) -> Project:
    """Find the project at `path`; its app name is `app` (as its settings give it), else its
    directory's name."""
    path = path.resolve()
    if not (path / "Dockerfile").is_file():
        raise DockerHelloError(
            f"No Dockerfile in {path}",
            hint="dockerhello deploy builds the Dockerfile at the root of PATH: run it in the "
            "project's directory or pass that directory as PATH.",
        )
    return Project(path=path, app=app or validators.app_name_from_directory(path.name))


def load_app_name(path: Path, app: str | None = None) -> str:
    """The app name as deploy finds it: `app` (checked by its parameter type), else `app` in
    the project's configuration (checked with the rest of the file), else the directory's."""
    from provision.settings import load  # settings reads the file; this module stays light

    name = app or load(path, {}).app
    return name or validators.app_name_from_directory(path.resolve().name)
