"""The apps dockerhello has anything of on an engine, and the error for one it has nothing of:
a name misspelt, or taken from the wrong directory, gets the names it could have meant."""

from __future__ import annotations

from provision.adapters.engine import Engine
from provision.errors import DockerHelloError
from provision.owned import LABEL_APP


def known_apps(engine: Engine) -> list[str]:
    """The apps with a container on the engine (a release, a proxy, a database, the release
    records) or a labelled volume: deployed ones, and ones taken down whose records stay."""
    return engine.label_values(LABEL_APP)


def not_deployed(engine: Engine, app: str, what: str = "is not deployed") -> DockerHelloError:
    """`APP is not deployed on the ENGINE`, with a hint naming the apps that are there."""
    others = [name for name in known_apps(engine) if name != app]
    # The name came from --app, dockerhello.toml or the directory's name: the one meant may be
    # among the others.
    if others:
        hint = f"dockerhello's apps there: {', '.join(others)} (`--app NAME`); `dockerhello deploy` deploys {app}."
    else:
        hint = f"`dockerhello deploy` deploys {app}; no other app of dockerhello's is there."
    return DockerHelloError(f"{app} {what} on the {engine.target.describe()}", hint=hint)
