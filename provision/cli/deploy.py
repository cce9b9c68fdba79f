"""`dockerhello deploy`: its settings are declared in `provision.settings`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from provision.app import App
from provision.cli import cli, pass_app, setting_options
from provision.cli.params import PROJECT_DIR, cluster_option, count, machine_option

if TYPE_CHECKING:
    from pathlib import Path


@cli.command()
@click.argument("path", default=".", type=PROJECT_DIR)
@setting_options.options
@machine_option
@cluster_option
@click.option(
    "--replicas",
    type=count(1, 1000),
    default=None,
    help="On a cluster: how many tasks of the app run.  [default: as many as now, else one per node]",
)
@click.option("--no-wait", is_flag=True, help="If another deploy of the app runs, stop instead of waiting.")
@pass_app
def deploy(app: App, /, path: Path, machine_name: str | None, cluster_name: str | None, replicas: int | None,
           no_wait: bool, **_: Any) -> None:  # fmt: skip
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

    With --cluster, the app is a Swarm service instead: Swarm replaces its tasks one at a
    time, each new one healthy before an old one stops, and rolls back by itself when a new
    one fails; nginx runs on every node, on port 8000 of each.

    The engine is --machine's, else the one DOCKER_HOST (with DOCKER_TLS_VERIFY,
    DOCKER_CERT_PATH) names, else the local one. Settings also come from dockerhello.toml
    or [tool.dockerhello] in PATH/pyproject.toml, under flags and DOCKERHELLO_* variables.
    """
    from provision.project import load_project
    from provision.services.deploy import DeployOptions  # loads the SDK: not at start-up

    chosen = setting_options.load(path, click.get_current_context())
    project = load_project(path, chosen.app)
    if cluster_name:
        options = DeployOptions.from_settings(chosen, wait_for_lock=not no_wait)
        app.console.info(f"Deploying {project.app} to the cluster {cluster_name}")
        deployer = app.cluster_deployer(cluster_name)
        result = deployer.deploy(project, options, replicas)
        app.console.info(f"{result.app} is up: release {result.release} ({result.image})")
        port = options.publish.host_port
        app.console.info(
            f"To reach it at http://localhost:{port}: dockerhello forward-port {port} --machine "
            f"{deployer.manager.machine} (or any node's machine)"
        )
        app.console.result(result.url)
        return
    if chosen.registry:
        app.console.warn("--registry is for a cluster (--cluster): one engine builds the images it runs")
    target = app.engine_target(machine_name)
    options = DeployOptions.from_settings(chosen, wait_for_lock=not no_wait)
    app.console.info(f"Deploying {project.app} to the {target.describe()}")
    result = app.deployer(target).deploy(project, options)
    app.console.info(f"{result.app} is up: release {result.release} ({result.image})")
    if target.machine:
        port = options.publish.host_port
        app.console.info(
            f"To reach it at http://localhost:{port}: dockerhello forward-port {port} --machine {target.machine}"
        )
    app.console.result(result.url)
