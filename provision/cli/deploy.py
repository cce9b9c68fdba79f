"""`dockerhello deploy`, and how its settings are resolved: flag > DOCKERHELLO_* variable >
the project's dockerhello.toml or [tool.dockerhello] > default."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource
from click.decorators import FC

from provision.app import App
from provision.cli import cli
from provision.cli.params import (
    APP_NAME,
    CPUS,
    ENV_PAIR,
    IMAGE,
    MEMORY,
    PROJECT_DIR,
    PUBLISH,
    READABLE_FILE,
    SECONDS,
    count,
    machine_option,
)
from provision.errors import DockerHelloError

if TYPE_CHECKING:
    from provision.config import ProjectConfig


def option(name: str, *decls: str, **kwargs: Any) -> Callable[[FC], FC]:
    """An option that DOCKERHELLO_<NAME> can also set."""
    return click.option(name, *decls, envvar=f"DOCKERHELLO_{name.lstrip('-').split('/')[0].replace('-', '_').upper()}",
                        show_envvar=True, **kwargs)  # fmt: skip


def resolve(ctx: click.Context, config: ProjectConfig) -> dict[str, Any]:
    """The command's parameters with the project file's values where no flag or variable
    set them, checked and converted as the flag would be."""
    params = dict(ctx.params)
    command = ctx.command
    for key, value in config.values.items():
        if key in ("app", "env", "env_file"):
            continue
        param = next(p for p in command.params if p.name == key)
        if ctx.get_parameter_source(key) is not ParameterSource.DEFAULT:
            continue
        try:
            converted = param.type_cast_value(ctx, value)
            params[key] = param.callback(ctx, param, converted) if param.callback else converted
        except click.BadParameter as exc:
            raise DockerHelloError(
                f"{config.where(key)} = {value!r} is not allowed: {exc.message}",
                hint=f"`dockerhello deploy --help` says what --{key.replace('_', '-')} takes.",
            ) from None
    return params


def app_environment(project: Path, config: ProjectConfig, env_file: Path | None, env: tuple[tuple[str, str], ...]
                    ) -> tuple[tuple[str, str], ...]:  # fmt: skip
    """The app's variables: the file's `env` table, its `env_file`, then --env-file, then --env."""
    from provision.config import parse_env_file

    merged: dict[str, str] = dict(config.values.get("env", {}))
    if config.values.get("env_file"):
        merged.update(parse_env_file(project / config.values["env_file"]))
    if env_file is not None:
        merged.update(parse_env_file(env_file))
    merged.update(dict(env))
    return tuple(merged.items())


@cli.command()
@click.argument("path", default=".", type=PROJECT_DIR)
@click.option("--app", "app_name", type=APP_NAME,
              help="App name: names the image and the containers. Default: `app` in the project's config, "
              "else PATH's directory name.")  # fmt: skip
@option("--publish", type=PUBLISH, default="127.0.0.1:8000", show_default=True,
        help="Host address for the app. Loopback by default: 0.0.0.0:PORT opens it to the network.")  # fmt: skip
@option("--base-image", type=IMAGE,
        help="Base image for the Dockerfile's BASE_IMAGE build argument, e.g. one made by `dockerhello base "
        "build`. Default: the Dockerfile's own (python:3.12-slim).")  # fmt: skip
@machine_option
@option("--env", "env", multiple=True, type=ENV_PAIR,
        help="A variable for the app (repeatable). Secrets belong in --env-file.")  # fmt: skip
@option("--env-file", type=READABLE_FILE, metavar="FILE",
        help="NAME=VALUE lines for the app, e.g. secrets. Given to the container at run time, never built into "
        "the image nor printed.")  # fmt: skip
@option("--health-timeout", type=SECONDS, default="120", show_default=True,
        help="How long the new release has to become healthy.")  # fmt: skip
@option("--keep", type=count(1, 1000), default="5", show_default=True, help="Release images kept for rollback.")
@option("--memory", type=MEMORY, default="512m", show_default=True,
        help='Memory limit of the app container, e.g. 512m or 1g ("" for none).')  # fmt: skip
@option("--cpus", type=CPUS, default="1", show_default=True, help="CPU limit, e.g. 1.5 (0 for none).")
@option("--read-only/--writable", "read_only", default=True, show_default=True,
        help="Read-only root filesystem, with a tmpfs on /tmp.")  # fmt: skip
@option("--drop-capabilities/--keep-capabilities", "drop_capabilities", default=True, show_default=True,
        help="Drop all Linux capabilities.")  # fmt: skip
@option("--no-new-privileges/--allow-new-privileges", "no_new_privileges", default=True, show_default=True,
        help="Forbid gaining privileges (setuid binaries).")  # fmt: skip
@option("--allow-root", is_flag=True, help="Run an image that has no USER as root (default: as UID 10001).")
@click.option("--no-wait", is_flag=True, help="If another deploy of the app runs, stop instead of waiting.")
@click.pass_context
def deploy(
    ctx: click.Context, /, path: Path, app_name: str | None, machine_name: str | None, no_wait: bool, **_: Any
) -> None:
    """Build the image of the project at PATH and switch the app to it once it is healthy.

    \b
    PATH (default: the current directory) holds a Dockerfile; its image serves on port
    8000. Each deploy is a release:
      1. builds APP:RELEASE through the Docker SDK, showing the build as it goes;
      2. runs it as container APP-RELEASE beside the release that serves, hardened, with
         a SECRET_KEY generated once per app and kept outside the image;
      3. waits until Docker calls it healthy and / answers 200, then points the app's
         proxy (container APP, which owns the published port) at it, with no request
         dropped, and retires the previous release.
    If the new release fails, it is removed and the previous one keeps serving untouched.

    The engine is --machine's, else the one DOCKER_HOST (with DOCKER_TLS_VERIFY,
    DOCKER_CERT_PATH) names, else the local one. Settings also come from dockerhello.toml
    or [tool.dockerhello] in PATH/pyproject.toml, under flags and DOCKERHELLO_* variables.
    """
    from provision.config import load_config
    from provision.project import load_project
    from provision.services.deploy import DeployOptions, Hardening, options_for  # loads the SDK: not at start-up

    app = ctx.find_object(App)
    assert app is not None
    config = load_config(path.resolve())
    settings = resolve(ctx, config)
    project = load_project(path, app_name)
    target = app.engine_target(machine_name)
    hardening = Hardening(settings["read_only"], settings["drop_capabilities"], settings["no_new_privileges"],
                          settings["allow_root"], settings["memory"], settings["cpus"])  # fmt: skip
    options = DeployOptions(
        publish=settings["publish"],
        base_image=settings["base_image"],
        health_timeout=settings["health_timeout"],
        environment=app_environment(project.path, config, settings["env_file"], settings["env"]),
        hardening=hardening,
        keep=settings["keep"],
        wait_for_lock=not no_wait,
    )
    app.console.info(f"Deploying {project.app} to the {target.describe()}")
    result = app.deployer(target).deploy(project, options_for(target, options))
    app.console.info(f"{result.app} is up: release {result.release} ({result.image})")
    if target.machine:
        port = options.publish.host_port
        app.console.info(
            f"To reach it at http://localhost:{port}: dockerhello forward-port {port} --machine {target.machine}"
        )
    app.console.result(result.url)
