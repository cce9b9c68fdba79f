"""Operating a deploy: `releases`, `rollback`, `status`, `logs`, `down`, `prune`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from provision.app import App
from provision.cli import cli, confirm, pass_app, setting_options
from provision.cli.params import MACHINE_NAME as CLUSTER_NAME
from provision.cli.params import (
    RELEASE,
    app_option,
    cluster_option,
    count,
    json_option,
    machine_option,
    path_option,
)
from provision.cli.render import table, to_json
from provision.owned import what_it_keeps
from provision.project import load_app_name

if TYPE_CHECKING:
    from pathlib import Path

    pass

APP = app_option
PATH = path_option
MACHINE = machine_option
CLUSTER = cluster_option


@cli.command()
@APP
@PATH
@MACHINE
@CLUSTER
@json_option
@pass_app
def releases(app: App, app_name: str | None, path: Path, machine_name: str | None, cluster_name: str | None,
             as_json: bool) -> None:  # fmt: skip
    """List the app's releases, newest last, with what became of each."""
    name = load_app_name(path, app_name)
    if cluster_name:
        found = app.cluster_operator(cluster_name).store(name).load()
    else:
        found = app.operator(name, machine_name).releases(name)
    if as_json:
        app.console.result(to_json(found))
        return
    rows = [[r.id, r.state.value, r.git or "-", r.created, r.note] for r in found]
    app.console.result(table(["RELEASE", "STATE", "GIT", "CREATED", "NOTE"], rows))


@cli.command()
@click.argument("release", required=False, type=RELEASE)
@APP
@PATH
@MACHINE
@CLUSTER
@setting_options.some("health_timeout")
@pass_app
def rollback(app: App, /, release: str | None, app_name: str | None, path: Path, machine_name: str | None,
             cluster_name: str | None, **_: Any) -> None:  # fmt: skip
    """Go back to RELEASE, or without it to the previous healthy release.

    The same health-gated switch as a deploy, without a build: the release's image must
    still be on the engine (the last 5 are kept). A prefix of the release id is enough.
    """
    name = load_app_name(path, app_name)
    # As a deploy of the project at PATH would have it: a flag, DOCKERHELLO_HEALTH_TIMEOUT, the file.
    health_timeout = setting_options.load(path, click.get_current_context()).health_timeout
    if cluster_name:  # the previous image, as a Swarm update: health-gated, rolled back by Swarm itself
        from provision.services.plan import DeployOptions

        back = app.cluster_deployer(cluster_name).rollback(name, release, DeployOptions(health_timeout=health_timeout))
        app.console.info(f"{name} is back on release {back.release}.")
        app.console.result(back.url)
        return
    target = app.engine_target(machine_name)
    deployer = app.deployer(target)
    options = deployer.serving_options(name, health_timeout)
    result = deployer.rollback(name, release, options)
    app.console.info(f"{name} is back on release {result.release}.")
    app.console.result(result.url)


@cli.command()
@APP
@PATH
@MACHINE
@CLUSTER
@json_option
@pass_app
def status(app: App, app_name: str | None, path: Path, machine_name: str | None, cluster_name: str | None,
           as_json: bool) -> None:  # fmt: skip
    """Where the app runs, which release, its state, health, restarts, uptime and URL, its
    database server and the volumes its data is on, where it has them. On a cluster: its
    tasks, node by node."""
    name = load_app_name(path, app_name)
    if cluster_name:
        from provision.cli.cluster import render_app_status

        app.console.result(render_app_status(app.cluster_operator(cluster_name).status(name), as_json))
        return
    result = app.operator(name, machine_name).status(name)
    if as_json:
        app.console.result(to_json(result))
        return
    uptime = "-" if result.uptime_seconds is None else _duration(result.uptime_seconds)
    health = result.health or "-"
    if result.health == "starting" and result.serving:  # Docker runs its check once an --interval
        health = "starting: Docker has not run its check yet; the deploy's passed before the switch"
    engine = result.engine + (f" (machine {result.machine})" if result.machine else "")
    rows: list[list[object]] = [["App", result.app], ["Engine", engine], ["Release", result.release or "-"],
            ["Container", result.container or "-"], ["State", result.state], ["Health", health],
            ["Restarts", result.restarts], ["Uptime", uptime], ["URL", result.url or "-"]]  # fmt: skip
    if result.database:
        rows.append(["Database", result.database])
    if result.volumes:
        rows.append(["Volumes", ", ".join(result.volumes)])
    if result.proxy and result.proxy != "current":
        rows.append(["Proxy", f"made by an earlier dockerhello: {result.proxy}"])
    app.console.result(table(["FIELD", "VALUE"], rows).split("\n", 1)[1])


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes}m {secs}s" if hours else f"{minutes}m {secs}s"


@cli.command()
@APP
@PATH
@MACHINE
@CLUSTER
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (Ctrl-C stops).")
@click.option("--tail", type=count(0, 1000000), default="100", show_default=True, help="Lines from the end.")
@click.option("--access", is_flag=True, help="The proxy's access log instead: a line per request, no health checks.")
@pass_app
def logs(app: App, app_name: str | None, path: Path, machine_name: str | None, cluster_name: str | None, follow: bool,
         tail: int, access: bool) -> None:  # fmt: skip
    """The serving release's log: the app's and Gunicorn's output (--access: the requests).
    On a cluster: every task's lines, each headed by the task and its node (hello-web.2@web-3)."""
    name = load_app_name(path, app_name)
    out = app.console.out
    source = app.cluster_operator(cluster_name) if cluster_name else app.operator(name, machine_name)
    for chunk in source.logs(name, follow, tail, access):
        out.write(chunk)
        out.flush()


@cli.command()
@APP
@PATH
@MACHINE
@CLUSTER
@click.option(
    "--images",
    is_flag=True,
    help="Remove everything of the app: its images and its release record too (default: kept, for a later rollback).",
)
@click.option(
    "--volumes",
    is_flag=True,
    help="Remove the app's data volumes too (APP-data: its SQLite database and uploads; APP-postgres: its "
    "PostgreSQL's data; APP-volume-...: what the releases wrote at the paths their image declares VOLUME). "
    "Asks first.",
)
@click.option("-y", "--yes", is_flag=True, help="Do not ask before removing the data volumes.")
@pass_app
def down(app: App, app_name: str | None, path: Path, machine_name: str | None, cluster_name: str | None,
         images: bool, volumes: bool, yes: bool) -> None:  # fmt: skip
    """Stop and remove the app's containers (proxy, releases, database) and network.

    The app's data volumes (its database and uploads) are kept: the next deploy finds its
    data again. Only --volumes removes them, after asking.
    """
    name = load_app_name(path, app_name)
    if cluster_name:  # no volume of an app lives on a cluster: it has no database there
        gone = app.cluster_operator(cluster_name).down(name, images)
        app.console.info(f"Removed: {', '.join(gone)}" if gone else f"{name} was not running: nothing to remove.")
        return
    operator = app.operator(name, machine_name)
    doomed = operator.data_volumes(name) if volumes else []
    if doomed and not yes:
        kept = [f"{volume} ({what_it_keeps(name, volume)})" for volume in doomed]
        listed = f"{'; '.join(kept[:-1])} and {kept[-1]}" if len(kept) > 1 else kept[0]
        confirm(f"Remove the data of {name} for good: {listed}?", f"removing the data of {name}")
    removed = operator.down(name, images, volumes)
    app.console.info(f"Removed: {', '.join(removed)}" if removed else f"{name} was not running: nothing to remove.")


@cli.command()
@APP
@PATH
@MACHINE
@setting_options.some("keep")
@pass_app
def prune(app: App, /, app_name: str | None, path: Path, machine_name: str | None, **_: Any) -> None:
    """Free disk: old release images, dangling images and the build cache.

    Never the serving release nor the one `rollback` would go back to.
    """
    name = load_app_name(path, app_name)
    keep = setting_options.load(path, click.get_current_context()).keep  # as deploys prune, from the same layers
    removed, freed = app.operator(name, machine_name).prune(name, keep)
    for item in removed:
        app.console.info(f"removed {item}")
    app.console.result(f"Freed {freed / 1e6:.1f} MB")


@cli.command()
@click.argument("replicas", type=count(0, 1000), metavar="N")
@APP
@PATH
@click.option("--cluster", "cluster_name", type=CLUSTER_NAME, required=True, envvar="DOCKERHELLO_CLUSTER",
              help="The cluster the app runs on.  [env: DOCKERHELLO_CLUSTER]")  # fmt: skip
@pass_app
def scale(app: App, replicas: int, app_name: str | None, path: Path, cluster_name: str) -> None:
    """Run N tasks of the app on its cluster (0 stops them all; `deploy` keeps the count).

    Swarm places new tasks on the nodes with the fewest, and each takes requests once its
    health check passes.
    """
    name = load_app_name(path, app_name)
    app.console.info(app.cluster_operator(cluster_name).scale(name, replicas))
