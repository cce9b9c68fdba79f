"""A deploy's settings: each declared once, as a field of `DeploySettings`, with its flag, its
DOCKERHELLO_* variable, its key in the project's file, its rule, its default and its help.

Where a value comes from, highest first: the flag, the variable (click reads both), the
project's `dockerhello.toml` or `[tool.dockerhello]`, the default. `merge` is the pure
function that applies that order; `load` reads the project's file and env files for it.
`deploy`, `up` and `config` take the same options (`provision.cli.setting_options`), and so honour the
same settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from provision import validators
from provision.config import ProjectConfig, load_config, parse_env_file
from provision.errors import DockerHelloError
from provision.validators import Publish

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class Declaration:
    """What the command line, the environment and the project file know of one setting."""

    flag: str  # "--publish", or "--read-only/--writable" for a switch
    help: str
    # The default as a user would write it ("512m"), or a switch's bool; None: none.
    default: str | bool | None = None
    parse: Callable[[str], Any] | None = None  # the rule, for text; None: a switch or a file
    metavar: str | None = None
    multiple: bool = False
    # What the file may hold, and those words when it holds something else.
    kinds: tuple[type, ...] = (str,)
    allowed: str = ""
    choices: tuple[str, ...] = ()  # every value the rule allows, where they are few: the shell completes them

    def typed_default(self) -> Any:
        if self.multiple:
            return ()
        if isinstance(self.default, str) and self.parse is not None:
            return self.parse(self.default)
        return self.default

    def shown_default(self) -> str | None:
        """The default for --help, in the words of the switch or the flag."""
        if isinstance(self.default, bool):
            on, off = self.flag.split("/")
            return (on if self.default else off).lstrip("-")
        return self.default


def setting(declaration: Declaration) -> Any:
    """A field of DeploySettings: its default is the declaration's, parsed by its own rule
    when a value is made (not at import: every command would pay for it at start-up)."""
    return field(default_factory=declaration.typed_default, metadata={"setting": declaration})


@dataclass(frozen=True)
class Hardening:
    """Container hardening, on by default (DeploySettings declares the defaults); each can be
    switched off for an app that needs it."""

    read_only: bool  # root filesystem read-only, a tmpfs on /tmp
    drop_capabilities: bool
    no_new_privileges: bool
    allow_root: bool  # an image without USER runs as 10001 unless allowed
    memory: int | None  # bytes
    cpus: float | None


@dataclass(frozen=True)
class DeploySettings:
    app: str | None = setting(
        Declaration(
            "--app",
            "App name: names the image and the containers.  [default: PATH's directory name]",
            parse=validators.app_name,
            metavar="NAME",
            allowed="a name of lower-case letters, digits and '-', at most 32 characters",
        )
    )
    publish: Publish = setting(
        Declaration(
            "--publish",
            "Host address for the app. Loopback by default: 0.0.0.0:PORT opens it to the network.",
            "127.0.0.1:8000",
            validators.publish,
            "[IP:]PORT",
            allowed='an address "[IP:]PORT", e.g. "127.0.0.1:8000"',
        )
    )
    base_image: str | None = setting(
        Declaration(
            "--base-image",
            "Base image for the Dockerfile's BASE_IMAGE build argument, e.g. one made by `dockerhello "
            "base build`.  [default: the Dockerfile's own; where that cannot be pulled, a base that "
            "`dockerhello base build` made]",
            parse=validators.image,
            metavar="IMAGE",
            allowed="an image name",
        )
    )
    pull: bool = setting(
        Declaration(
            "--pull/--no-pull",
            "Ask the base image's registry for a newer version of it before the build, as `docker build "
            "--pull` does: without it, a base already on the engine is built on as it is, and never gets "
            "the updates its registry has.",
            False,
            kinds=(bool,),
            allowed="true or false",
        )
    )
    cache: bool = setting(
        Declaration(
            "--cache/--no-cache",
            "Reuse the build's cached steps. --no-cache runs every step of the Dockerfile again, as `docker "
            "build --no-cache` does: the dependencies are installed afresh, not taken from the layer an "
            "earlier build made.",
            True,
            kinds=(bool,),
            allowed="true or false",
        )
    )
    health_timeout: float = setting(
        Declaration(
            "--health-timeout",
            "How long the new release has to become healthy.",
            "120",
            validators.seconds,
            "SECONDS",
            kinds=(int, float),
            allowed="a number of seconds",
        )
    )
    keep: int = setting(
        Declaration(
            "--keep",
            "Release images kept for rollback.",
            "5",
            lambda text: validators.count(text, 1, 1000),
            "N",
            kinds=(int,),
            allowed="a number of release images to keep",
        )
    )
    database: str = setting(
        Declaration(
            "--db",
            "The app's database: sqlite keeps its file on the app's data volume APP-data (mounted at "
            "/data, DATABASE_URL given); postgres runs a PostgreSQL server of the app's own, APP-db, its data "
            "on the volume APP-postgres. Both outlive every release, rollback and `down`; none: no volume.",
            "none",
            validators.database,
            "sqlite|postgres|none",
            allowed='"sqlite", "postgres" or "none"',
            choices=validators.DATABASES,
        )
    )
    migrate: bool = setting(
        Declaration(
            "--migrate/--no-migrate",
            "Run `manage.py migrate --noinput` in a one-off container of the new release before it takes "
            "traffic; a failing migration stops the deploy and the serving release stays.",
            False,
            kinds=(bool,),
            allowed="true or false",
        )
    )
    health_path: str = setting(
        Declaration(
            "--health-path",
            "The path that must answer 200 before a release takes traffic.",
            "/",
            validators.health_path,
            "PATH",
            allowed='a URL path such as "/" or "/admin/login/"',
        )
    )
    registry: str | None = setting(
        Declaration(
            "--registry",
            "On a cluster: a registry of yours (HOST[:PORT]) that the release's images are pushed to and every node "
            "pulls from.  [default: none: the images are sent to each node through its engine]",
            parse=validators.registry,
            metavar="HOST[:PORT]",
            allowed='a registry address "HOST[:PORT]", e.g. "registry.example.com:5000"',
        )
    )
    memory: int | None = setting(
        Declaration(
            "--memory",
            'Memory limit of the app container, e.g. 512m or 1g ("" for none).',
            "512m",
            validators.memory,
            "SIZE",
            allowed='a memory limit such as "512m", or "" for none',
        )
    )
    cpus: float | None = setting(
        Declaration(
            "--cpus",
            "CPU limit, e.g. 1.5 (0, the default: none, every CPU of the engine).",
            "0",
            validators.cpus,
            "CPUS",
            kinds=(int, float),
            allowed="a number of CPUs such as 1.5, or 0 for no limit",
        )
    )
    read_only: bool = setting(
        Declaration(
            "--read-only/--writable",
            "Read-only root filesystem, with a tmpfs on /tmp.",
            True,
            kinds=(bool,),
            allowed="true or false",
        )
    )
    drop_capabilities: bool = setting(
        Declaration(
            "--drop-capabilities/--keep-capabilities",
            "Drop all Linux capabilities.",
            True,
            kinds=(bool,),
            allowed="true or false",
        )
    )
    no_new_privileges: bool = setting(
        Declaration(
            "--no-new-privileges/--allow-new-privileges",
            "Forbid gaining privileges (setuid binaries).",
            True,
            kinds=(bool,),
            allowed="true or false",
        )
    )
    allow_root: bool = setting(
        Declaration(
            "--allow-root/--no-allow-root",
            "Run an image that has no USER as root, not as UID 10001.",
            False,
            kinds=(bool,),
            allowed="true or false",
        )
    )
    env: tuple[tuple[str, str], ...] = setting(
        Declaration(
            "--env",
            'A variable for the app (repeatable); in the file, a table of NAME = "value". Secrets belong '
            "in --env-file.",
            parse=validators.env_pair,
            metavar="NAME=VALUE",
            multiple=True,
            kinds=(dict,),
            allowed='a table of NAME = "value" strings',
        )
    )
    env_file: tuple[Path, ...] = setting(
        Declaration(
            "--env-file",
            "NAME=VALUE lines for the app, e.g. secrets (repeatable; in the file, one path relative to "
            "the project). Given to the container at run time, never built into the image nor printed.",
            metavar="FILE",
            multiple=True,
            allowed="a path, relative to the project",
        )
    )

    # The file's `env` table, which comes first: env files, then --env, override it.
    env_table: tuple[tuple[str, str], ...] = ()

    @property
    def hardening(self) -> Hardening:
        return Hardening(self.read_only, self.drop_capabilities, self.no_new_privileges, self.allow_root,
                         self.memory, self.cpus)  # fmt: skip

    def environment(self) -> tuple[tuple[str, str], ...]:
        """The app's variables: the file's `env` table, the env files (the file's, then
        --env-file), then --env, each later one winning. Reads the env files."""
        merged: dict[str, str] = dict(self.env_table)
        for path in self.env_file:
            merged.update(parse_env_file(path))
        merged.update(dict(self.env))
        return tuple(merged.items())


DECLARATIONS: dict[str, Declaration] = {
    f.name: f.metadata["setting"] for f in dataclasses.fields(DeploySettings) if "setting" in f.metadata
}


def envvar(name: str) -> str:
    return f"DOCKERHELLO_{name.upper()}"


def origins(given: Mapping[str, str], config: ProjectConfig) -> dict[str, str]:
    """Where each setting's value comes from, in `merge`'s order: the flag or variable that gave it
    (`given`), else the project's file, else the default; for the app's variables and env files,
    the file's and then those given."""
    found: dict[str, list[str]] = {}
    for name, declaration in DECLARATIONS.items():
        found[name] = [given[name]] if name in given else []
        if name in config.values and (not found[name] or declaration.multiple):
            found[name].insert(0, config.where(name))
    # The env files' variables come between the file's table and --env (`DeploySettings.environment`).
    table = found["env"][:1] if "env" in config.values else []
    found["env"] = [*table, *found["env_file"], *found["env"][len(table) :]]
    return {name: ", then ".join(parts) or "default" for name, parts in found.items()}


def merge(given: Mapping[str, Any], config: ProjectConfig) -> DeploySettings:
    """Flags and variables (`given`: what `given_by` found) over the project's file over the
    defaults. The file's values pass the same rules as the flags'."""
    values: dict[str, Any] = {}
    for name, declaration in DECLARATIONS.items():
        if name == "env" and name in config.values:  # a table of its own, under --env
            values["env_table"] = _from_file(name, declaration, config)
        if name in given:
            values[name] = tuple(given[name]) if declaration.multiple else given[name]
        elif name in config.values and name != "env":
            values[name] = _from_file(name, declaration, config)
    if given.get("env_file") and "env_file" in config.values:  # --env-file adds to the file's
        values["env_file"] = (*_from_file("env_file", DECLARATIONS["env_file"], config), *given["env_file"])
    return DeploySettings(**values)


def _from_file(name: str, declaration: Declaration, config: ProjectConfig) -> Any:
    value = config.values[name]
    if name == "env":
        return tuple((key, str(item)) for key, item in value.items())
    if name == "env_file":
        assert config.source is not None
        return (config.source.parent / value,)
    if declaration.parse is None:  # a switch: the loader checked it is a bool
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        return declaration.parse(str(value))
    except ValueError as exc:
        raise DockerHelloError(
            f"{config.where(name)} = {value!r} is not allowed: {exc}",
            hint=f"`dockerhello deploy --help` says what {declaration.flag.split('/')[0]} takes.",
        ) from None


def load(project: Path, given: Mapping[str, Any]) -> DeploySettings:
    """The settings for the project at `project`: its file read, merged under `given`."""
    return merge(given, load_config(project.resolve(), DECLARATIONS))


def load_explained(
    project: Path, given: Mapping[str, Any], given_from: Mapping[str, str]
) -> tuple[DeploySettings, dict[str, str]]:
    """`load`, with each setting's `origins`; `given_from` says where `given`'s values came from."""
    config = load_config(project.resolve(), DECLARATIONS)
    return merge(given, config), origins(given_from, config)
