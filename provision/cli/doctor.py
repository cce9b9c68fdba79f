"""`dockerhello doctor`."""

from __future__ import annotations

import click

from provision.app import App
from provision.cli import cli, pass_app
from provision.cli.render import to_json
from provision.errors import ExitCode


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_app
def doctor(app: App, as_json: bool) -> None:
    """Check this host for what deploys need, and say how to fix what is missing.

    \b
    Checks docker-machine, VBoxManage and its version, hardware virtualisation, the
    engine the next deploy would use, port 8000 and the base image. Exits 1 when
    something blocks the next deploy.
    """
    from provision.services.doctor import Status

    checks = app.doctor().run()
    if as_json:
        app.console.result(to_json(checks))
    else:
        width = max(len(check.name) for check in checks)
        for check in checks:
            app.console.result(f"[{check.status.value:>4}] {check.name.ljust(width)}  {check.detail}")
            if check.fix and check.status in (Status.FAIL, Status.WARN):
                app.console.result(f"{'':7}{'':{width}}  fix: {check.fix}")
    if any(check.blocks_deploy and check.status is Status.FAIL for check in checks):
        raise click.exceptions.Exit(ExitCode.ERROR)
