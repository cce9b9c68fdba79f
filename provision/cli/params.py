"""The parameters every command shares: click types over the pure validators in
`provision.validators`, and the options several commands take, declared once.

A bad value is click's usage error (exit 2) naming the option and the rule, before any tool
runs; values from DOCKERHELLO_* variables and the project file pass the same types.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import click

from provision import settings, validators

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


class Validated(click.ParamType, Generic[T]):  # type: ignore[type-arg]  # generic only from click 8.3
    """A click type whose conversion is one validator: text in, typed value or its message out."""

    def __init__(self, name: str, validate: Callable[[str], T], metavar: str | None = None,
                 choices: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.name = name
        self.validate = validate
        self._metavar = metavar or name.upper()
        self.choices = choices  # for the shell's completion, where the rule allows only these

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return self._metavar

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(choice) for choice in self.choices if choice.startswith(incomplete)]

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> T:
        if not isinstance(value, str):
            if isinstance(value, bool):  # a TOML true where a number or a name belongs
                self.fail(f"{value!r} is not allowed here", param, ctx)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            value = str(value)
        try:
            return self.validate(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def count(minimum: int = 0, maximum: int | None = None, metavar: str = "N") -> Validated[int]:
    return Validated("count", lambda text: validators.count(text, minimum, maximum), metavar)


MACHINE_NAME = Validated("machine name", validators.machine_name, "NAME")
APP_NAME = Validated("app name", validators.app_name, "NAME")
RELEASE = Validated("release", validators.release_id, "RELEASE")
PORT = Validated("port", validators.port, "PORT")
SECONDS = Validated("seconds", validators.seconds, "SECONDS")
IMAGE = Validated("image", validators.image, "IMAGE")
DEBIAN_SUITE = Validated("suite", validators.debian_suite, "SUITE")
MIRROR = Validated("mirror", validators.mirror, "URL")
IPV4 = Validated("IPv4 address", validators.ipv4_host, "IP")
HOSTONLY_CIDR = Validated("CIDR", validators.hostonly_cidr, "CIDR")
DATABASE = Validated("database", validators.database, "sqlite|postgres|none", validators.DATABASES)


class PathParam(click.Path):
    """click.Path handing out a pathlib.Path, loaded when a value comes, not at start-up."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import pathlib

        return pathlib.Path(os.fsdecode(super().convert(value, param, ctx)))


# A file dockerhello reads: it must exist and be a file; its content is checked when read.
READABLE_FILE = PathParam(exists=True, dir_okay=False)
PROJECT_DIR = PathParam(exists=True, file_okay=False)

# Options that several commands take, each declared once.
machine_option = click.option(
    "--machine",
    "machine_name",
    type=MACHINE_NAME,
    help="The Docker Machine VM whose engine to use (over TLS, with its certificates).  "
    '[default: the engine DOCKER_HOST names, e.g. after `eval "$(dockerhello env)"`, else the local one]',
)
# The variable is deploy's (settings.envvar("app")): a shell or CI job that sets it for the
# deploy finds the same app in every other command.
app_option = click.option(
    "--app",
    "app_name",
    type=APP_NAME,
    envvar=settings.envvar("app"),
    show_envvar=True,
    help="App name.  [default: `app` in PATH's configuration, else its directory]",
)
path_option = click.option(
    "--path", type=PROJECT_DIR, default=".", show_default=True, help="Project directory, where the app name is read."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
cluster_option = click.option(
    "--cluster",
    "cluster_name",
    type=MACHINE_NAME,
    envvar="DOCKERHELLO_CLUSTER",
    help="The Swarm of machines (`dockerhello cluster create`) to work on, instead of one engine.  "
    "[env: DOCKERHELLO_CLUSTER]",
)
