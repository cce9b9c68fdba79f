"""`dockerhello init`: make a Django project deployable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from provision import settings
from provision.app import App
from provision.cli import cli, pass_app
from provision.cli.params import APP_NAME, DATABASE, PROJECT_DIR

if TYPE_CHECKING:
    from pathlib import Path


@cli.command()
@click.argument("path", default=".", type=PROJECT_DIR)
@click.option("--app", "app_name", type=APP_NAME, envvar=settings.envvar("app"), show_envvar=True,
              help="App name, written to dockerhello.toml.  [default: PATH's directory name]")  # fmt: skip
@click.option("--db", "database", type=DATABASE,
              help="The app's database.  [default: sqlite where the settings use a database, else none]")  # fmt: skip
@click.option("--ci", type=click.Choice(["github", "gitlab", "semaphore"]),
              help="Also write a pipeline for this CI service: build the image, run the project's tests inside it, "
              "then `manage.py check --deploy`.")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite files that differ from what init writes, showing each diff.")
@pass_app
def init(app: App, /, path: Path, app_name: str | None, database: str | None, ci: str | None, force: bool) -> None:
    """Write what the Django project at PATH needs to be deployed, changing none of its code.

    \b
    Finds manage.py, the settings module it names, the WSGI application, the dependencies
    (uv.lock, poetry.lock, Pipfile.lock, requirements.txt or pyproject.toml, in that order),
    the Python version (.python-version, requires-python) and whether the project uses a
    database, static files and media; prints what it found and chose; then writes:
      Dockerfile             slim base as BASE_IMAGE, dependencies first, non-root, HEALTHCHECK
      start.sh               Gunicorn through exec
      .dockerignore          no .git, virtualenvs, .env files or local databases in the image
      dockerhello_settings.py  the project's settings, with production values from the
                             environment (SECRET_KEY, DEBUG, ALLOWED_HOSTS, DATABASE_URL,
                             static files by WhiteNoise, media on the data volume, security)
      dockerhello.toml       the app, its database and migrations, for `dockerhello deploy`
    and with --ci the pipeline (.github/workflows/dockerhello.yml, .gitlab-ci.yml or
    .semaphore/semaphore.yml): the image built, the tests run inside it, check --deploy.
    A file already there and different is left alone unless --force, which shows its diff.
    Then: `dockerhello deploy`.
    """
    from provision.services.init import Initializer

    Initializer(app.console).run(path, app_name, database, force, ci)
    app.console.info(f"Next: dockerhello deploy {path}" if str(path) != "." else "Next: dockerhello deploy")
