"""`dockerhello deploy`."""

from __future__ import annotations

from pathlib import Path

import click

from provision.app import App
from provision.cli import cli, pass_app
from provision.project import Publish, load_project, parse_publish
from provision.services.deploy import DeployOptions, options_for


def publish_option(ctx: click.Context, param: click.Parameter, value: str) -> Publish:
    try:
        return parse_publish(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@cli.command()
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--app",
    "app_name",
    metavar="NAME",
    help="App name: names the image and the container. Default: `app` under "
    "[tool.dockerhello] in PATH/pyproject.toml, else PATH's directory name.",
)
@click.option(
    "--publish",
    default="127.0.0.1:8000",
    show_default=True,
    metavar="[IP:]PORT",
    envvar="DOCKERHELLO_PUBLISH",
    callback=publish_option,
    help="Host address for the container's port 8000. Loopback by default: use "
    "0.0.0.0:PORT only if the app should be reachable from the network.",
)
@click.option(
    "--base-image",
    metavar="IMAGE",
    envvar="DOCKERHELLO_BASE_IMAGE",
    help="Base image for the Dockerfile's BASE_IMAGE build argument, e.g. one made by "
    "`dockerhello base build`. Default: the Dockerfile's own (python:3.12-slim).",
)
@click.option(
    "--machine",
    "machine_name",
    metavar="NAME",
    help="Deploy to this Docker Machine VM's engine (over TLS, with its certificates). Without it: the engine "
    'DOCKER_HOST names, e.g. after `eval "$(dockerhello env)"`, else the local one.',
)
@click.option(
    "--health-timeout",
    type=click.FloatRange(min=1),
    default=120,
    show_default=True,
    metavar="SECONDS",
    help="How long the new container has to become healthy.",
)
@pass_app
def deploy(
    app: App,
    path: Path,
    app_name: str | None,
    publish: Publish,
    base_image: str | None,
    machine_name: str | None,
    health_timeout: float,
) -> None:
    """Build the image of the project at PATH and run it, replacing the previous deploy.

    \b
    PATH (default: the current directory) holds a Dockerfile; its image serves on port
    8000. The deploy:
      1. builds the image through the Docker SDK, showing the build as it goes;
      2. runs it as a container named after the app, with a restart policy and a
         SECRET_KEY generated once per app and kept outside the image;
      3. waits until Docker calls it healthy and / answers 200, then prints the URL.
    The previous container serves until the new one starts, and serves again if the
    new one fails; nothing is left behind by a failure.

    The engine is --machine's, else the one DOCKER_HOST (with DOCKER_TLS_VERIFY,
    DOCKER_CERT_PATH) names, else the local one. On a machine the container listens on
    the VM's port, reachable only from this host; `dockerhello forward-port 8000` then
    makes it http://localhost:8000.
    """
    project = load_project(path, app_name)
    target = app.engine_target(machine_name)
    app.console.info(f"Deploying {project.app} to the {target.describe()}")
    options = DeployOptions(publish=publish, base_image=base_image, health_timeout=health_timeout)
    options = options_for(target, options)
    result = app.deployer(target).deploy(project, options)
    app.console.info(f"{result.app} is up: release {result.release} ({result.image})")
    if target.machine:
        port = publish.host_port
        app.console.info(
            f"To reach it at http://localhost:{port}: dockerhello forward-port {port} --machine {target.machine}"
        )
    app.console.result(result.url)
