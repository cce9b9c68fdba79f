"""The `dockerhello` command line: click only. Each command parses its arguments, calls one
service and renders the result; errors become output and exit codes here, in one place."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from provision import __version__
from provision.app import App
from provision.errors import DockerHelloError, ExitCode


class DockerHelloGroup(click.Group):
    """Turns `DockerHelloError` into `Error: ...` / `Hint: ...` lines and an exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DockerHelloError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            render_error(exc)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(ExitCode.INTERRUPTED)
        except Exception as exc:
            error = engine_error(ctx, exc)
            if error is None or ctx.find_root().params.get("debug"):
                raise
            render_error(error)
            ctx.exit(error.exit_code)


def engine_error(ctx: click.Context, exc: Exception) -> DockerHelloError | None:
    """An error of the Docker SDK or its transport, with its meaning for the engine in use.
    The SDK is loaded only by commands that reach an engine; if it is not, this was not one."""
    if "docker" not in sys.modules:
        return None
    from provision.adapters.engine import is_engine_error, translate
    from provision.engine import EngineTarget

    if not is_engine_error(exc):
        return None
    app = ctx.find_object(App)
    target = app.engine_in_use if app is not None and app.engine_in_use is not None else EngineTarget()
    return translate(target, exc)


def render_error(exc: DockerHelloError) -> None:
    click.echo(f"Error: {exc.message}", err=True)
    for line in exc.details:
        click.echo(f"  | {line}", err=True)
    if exc.hint:
        click.echo(f"Hint: {exc.hint}", err=True)


HELP_WIDTH = 100


def help_width() -> int:
    """The width click's help takes, found as click finds it but without the shutil it imports
    for that (about 5 ms of every `--help`): COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return max(min(columns or 80, HELP_WIDTH) - 2, 50)


# Subcommands' contexts inherit the width from this one's.
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": HELP_WIDTH,
                    "terminal_width": help_width()}  # fmt: skip


@click.group(cls=DockerHelloGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="dockerhello")
@click.option("-q", "--quiet", is_flag=True, help="Print only results and errors, no progress.")
@click.option("--debug", is_flag=True, help="Log every external command and show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, debug: bool) -> None:
    """Take a Django app from source to a running container, one command a step.

    \b
    The tutorial's flow, on a Docker Machine VM in VirtualBox:
      dockerhello machine create        # VM with 2 CPUs, 4096 MB, 5000 MB disk
      eval "$(dockerhello env)"         # point Docker at the VM's engine
      dockerhello deploy                # build the image and run it there
      dockerhello forward-port 8000     # http://localhost:8000 reaches the VM
    Or on the local Docker engine: `dockerhello deploy`, then open http://localhost:8000.
    """
    if debug:
        import logging  # only here: every other command starts without it

        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    if ctx.obj is None:
        ctx.obj = App.from_os(quiet=quiet)
    elif quiet:
        ctx.obj.console.quiet = True


pass_app = click.make_pass_decorator(App)


def confirm(question: str, what: str) -> None:
    """Ask `question` (y/N) on stderr, and stop at a no. Where stdin ends before an answer (a
    script, CI, a cron job), that is an error saying what was not done and how to say yes, not
    click's bare "Aborted!"; `echo y |` still answers."""
    piped = not sys.stdin.isatty()
    try:
        answered = click.confirm(question, err=True)
    except click.Abort:
        if not piped:  # Ctrl-C at the question
            raise
        click.echo("", err=True)  # a piped answer is not echoed: end the question's line
        raise DockerHelloError(f"Not {what}: asked to confirm, and stdin ended without an answer",
                               hint="Pass -y/--yes to confirm where no one can answer.") from None  # fmt: skip
    if piped:
        click.echo("", err=True)
    if not answered:
        raise click.Abort


def main() -> None:
    cli(prog_name="dockerhello")


# Command groups register themselves on import; imported last so that they can use `cli`.
from provision.cli import (  # noqa: E402,F401
    base,
    cluster,
    config,
    db,
    deploy,
    doctor,
    env,
    forward_port,
    init,
    machine,
    operate,
    proxy,
    run,
    up,
)
