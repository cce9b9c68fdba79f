"""`dockerhello config`: the settings a deploy would use, and where each one comes from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from provision import settings
from provision.app import App
from provision.cli import cli, pass_app, setting_options
from provision.cli.params import PROJECT_DIR
from provision.cli.render import table, to_json

if TYPE_CHECKING:
    from pathlib import Path

    from provision.engine import EngineTarget

# What a setting without a value does, in the table's words.
UNSET = {
    "base_image": "the Dockerfile's",
    "registry": "none",  # a cluster's images go to each node through its engine
    "memory": "none (no limit)",
    "cpus": "none (every CPU of the engine)",
}
SIZES = (("g", 1024**3), ("m", 1024**2), ("k", 1024))


@cli.command("config")
@click.argument("path", default=".", type=PROJECT_DIR)
@setting_options.options
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts, each value as the file writes it.")
@pass_app
def config(app: App, /, path: Path, as_json: bool, **_: Any) -> None:
    """Show the settings `dockerhello deploy` would use for the project at PATH, and where each
    comes from.

    \b
    Highest first: a flag, a DOCKERHELLO_* variable, PATH's dockerhello.toml (or the
    [tool.dockerhello] table of its pyproject.toml), the default. It takes deploy's flags, so
    that `DOCKERHELLO_MEMORY=1g dockerhello config --writable` shows what that deploy would
    run with. Values pass the same rules as a deploy's, and env files are read: what a deploy
    would refuse, this refuses with the same words. The app's variables are listed by name,
    their values never printed. Nothing is asked of an engine.
    """
    from provision.project import load_project

    chosen, origins = setting_options.load_explained(path, click.get_current_context())
    project = load_project(path, chosen.app)
    # Each setting by its key in the project's file, its value as the file writes it (the app's
    # variables by name only), and where it came from.
    shown = [("app", project.app, origins["app"] if chosen.app else "PATH's directory name")]
    names = [name for name, _ in chosen.environment()]  # reads the env files, as a deploy does
    for name in settings.DECLARATIONS:
        if name != "app":
            value = names if name == "env" else getattr(chosen, name)
            shown.append((name, file_value(name, value, project.path), origins[name]))
    if as_json:
        app.console.result(to_json([{"setting": name, "value": value, "source": source}
                                    for name, value, source in shown]))  # fmt: skip
    else:
        app.console.info(f"Settings of a deploy of {project.app} from {project.path}")
        rows = [(name, words(name, value), source) for name, value, source in shown]
        app.console.result(table(("SETTING", "VALUE", "SOURCE"), rows))
    for line in target_adjustments(app.engine_target(), chosen):
        app.console.info(line)


def target_adjustments(target: EngineTarget, chosen: settings.DeploySettings) -> list[str]:
    """What a deploy to `target` (the environment's: no engine is asked) adds to the settings:
    inside a docker-machine VM, the address it listens on and ALLOWED_HOSTS."""
    from provision.services.plan import DeployOptions, for_target

    asked = DeployOptions.from_settings(chosen)
    adjusted = for_target(target, asked)
    if adjusted == asked:
        return []
    added = [f"{name}={value}" for name, value in adjusted.environment if (name, value) not in asked.environment]
    return [f"On machine {target.machine} (DOCKER_MACHINE_NAME), a deploy also:",
            f"  listens on {adjusted.bind_ip} inside the VM: VirtualBox's NAT forwards to the VM's address, "
            "and only this host reaches the VM",
            *(f"  sets {variable}: the VM's IP too (your own ALLOWED_HOSTS stands)" for variable in added)]  # fmt: skip


def file_value(name: str, value: Any, project: Path) -> Any:
    """`value` of the setting `name` as the project's file would write it."""
    if name == "memory":
        return "" if value is None else size(value)
    if name == "cpus" and value is None:
        return 0
    if name == "env_file":
        return [str(path.relative_to(project)) if path.is_relative_to(project) else str(path) for path in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool | int | list) or value is None:
        return value
    return str(value)


def words(name: str, value: Any) -> str:
    """A value as `file_value` wrote it, in the table's words."""
    if name in UNSET and value in (None, "", 0):
        return UNSET[name]
    if isinstance(value, bool):
        on, _, off = settings.DECLARATIONS[name].flag.partition("/")
        return (on if value else off).lstrip("-")
    if isinstance(value, list):
        shown = ", ".join(value) or "none"
        return f"{shown} (values not shown)" if name == "env" and value else shown
    if name == "health_timeout":
        return f"{value} s"
    return str(value)


def size(count: int) -> str:
    """A byte count as --memory takes it: 536870912 is 512m."""
    for suffix, unit in SIZES:
        if count % unit == 0:
            return f"{count // unit}{suffix}"
    return str(count)
