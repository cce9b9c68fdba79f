"""The settings of `provision.settings` on the command line: click options, each a flag and a
DOCKERHELLO_* variable, and what a command's invocation gave."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from provision import settings
from provision.cli.params import READABLE_FILE, Validated

if TYPE_CHECKING:
    from pathlib import Path

F = TypeVar("F", bound=Callable[..., Any])


def options(command: F) -> F:
    """The settings as click options, flag and DOCKERHELLO_* variable, on `command`."""
    return some(*settings.DECLARATIONS)(command)


def some(*names: str) -> Callable[[F], F]:
    """The settings `names` only, as `options` makes them: for a command that uses a few of a
    deploy's settings (rollback's health timeout, prune's keep), from the same flag, variable
    and project file, so that what the file says holds there too."""

    def decorate(command: F) -> F:
        for name in reversed(names):
            command = _option(name)(command)
        return command

    return decorate


def _option(name: str) -> Callable[[F], F]:
    """One setting as a click option: its flag and DOCKERHELLO_* variable."""
    declaration = settings.DECLARATIONS[name]
    shown = declaration.shown_default()
    help_text = declaration.help + (f"  [default: {shown}]" if shown else "")
    kwargs: dict[str, Any] = {"help": help_text, "envvar": settings.envvar(name), "show_envvar": True}
    if declaration.parse is not None:
        kwargs["type"] = Validated(name, declaration.parse, declaration.metavar, declaration.choices)
    elif "/" not in declaration.flag:
        kwargs["type"] = READABLE_FILE
        kwargs["metavar"] = declaration.metavar
    # None marks "not given", so that the project's file and the default come next.
    kwargs["default"] = () if declaration.multiple else None
    return click.option(declaration.flag, name, multiple=declaration.multiple, **kwargs)


def given_by(ctx: click.Context) -> dict[str, Any]:
    """The settings the command line or a DOCKERHELLO_* variable gave, and only those: a value
    of None can be given too (`--memory ""`: no limit), so presence, not value, says given."""
    return {name: ctx.params[name] for name in given_from(ctx)}


def given_from(ctx: click.Context) -> dict[str, str]:
    """Each setting the command line or a DOCKERHELLO_* variable gave: its flag as written, or its variable."""
    found: dict[str, str] = {}
    for name, declaration in settings.DECLARATIONS.items():
        source = ctx.get_parameter_source(name)
        on, _, off = declaration.flag.partition("/")
        if source == click.core.ParameterSource.ENVIRONMENT:
            found[name] = settings.envvar(name)
        elif source == click.core.ParameterSource.COMMANDLINE:
            found[name] = off if off and not ctx.params[name] else on
    return found


def load(project: Path, ctx: click.Context) -> settings.DeploySettings:
    """The settings of a deploy of the project at `project`, as invoked by `ctx`."""
    return settings.load(project, given_by(ctx))


def load_explained(project: Path, ctx: click.Context) -> tuple[settings.DeploySettings, dict[str, str]]:
    """`load`, with where each value came from (`settings.origins`)."""
    return settings.load_explained(project, given_by(ctx), given_from(ctx))
