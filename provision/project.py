"""The project being deployed: its directory and its app name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provision import validators
from provision.errors import DockerHelloError
from provision.validators import Publish

__all__ = ["Project", "Publish", "load_app_name", "load_project"]


@dataclass(frozen=True)
class Project:
    path: Path
    app: str


def load_project(path: Path, app: str | None = None) -> Project:
    """Find the project at `path`; its app name comes from `app`, `app` in its configuration
    file, or its directory name, in that order."""
    path = path.resolve()
    if not (path / "Dockerfile").is_file():
        raise DockerHelloError(
            f"No Dockerfile in {path}",
            hint="dockerhello deploy builds the Dockerfile at the root of PATH: run it in the "
            "project's directory or pass that directory as PATH.",
        )
    return Project(path=path, app=load_app_name(path, app))


def load_app_name(path: Path, app: str | None = None) -> str:
    """The app name as deploy finds it, for commands that need no Dockerfile. A name given
    on the command line was checked by its parameter type; the file's by the config loader."""
    from provision.config import load_config  # config imports nothing of ours; this keeps it so

    path = path.resolve()
    configured = load_config(path).values.get("app")
    name = app or (str(configured) if configured is not None else None)
    if name is None:
        return validators.app_name_from_directory(path.name)
    try:
        return validators.app_name(name)
    except ValueError as exc:
        raise DockerHelloError(f"Invalid app name: {exc}", hint="Name it with --app, e.g. --app helloworld.") from None
