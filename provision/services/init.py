"""`dockerhello init`: the files that make a Django project deployable, written from what
`django_project.scan` found, following the rules this repository's own image follows (slim
base as a build argument, dependency layer first, non-root, HEALTHCHECK, Gunicorn through exec).

`render` is pure: a project and the choices in, file texts out. `Initializer` shows what it
found and chose, and writes only files that are new or, with --force, changed, after showing
their diff; nothing is written when any file would be refused.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from provision import validators
from provision.console import Console
from provision.errors import DockerHelloError
from provision.services.django_project import DependencyKind, DjangoProject, scan

OVERLAY = "dockerhello_settings.py"
# `--ci`: where each service reads its pipeline.
CI_FILES = {
    "github": ".github/workflows/dockerhello.yml",
    "gitlab": ".gitlab-ci.yml",
    "semaphore": ".semaphore/semaphore.yml",
}
# What the image adds where the project does not list it: the server and the static files.
SERVER_PACKAGES = {"gunicorn": "gunicorn>=23,<28", "whitenoise": "whitenoise>=6.6,<7"}
# PostgreSQL's driver, the binary wheel: it carries libpq, so the slim base needs no apt.
POSTGRES_DRIVER = "psycopg[binary]>=3.2,<4"
POSTGRES_DRIVERS = ("psycopg", "psycopg-binary", "psycopg2", "psycopg2-binary")


@dataclass(frozen=True)
class Choices:
    database: str  # "sqlite": a database file on the app's data volume; "postgres": the app's server; "none"

    @property
    def migrate(self) -> bool:
        return self.database != "none"  # nothing to migrate without a database


@dataclass(frozen=True)
class Change:
    path: str  # relative to the project
    text: str
    old: str | None  # None: a new file
    mode: int = 0o644

    @property
    def unchanged(self) -> bool:
        return self.old == self.text


def choose(project: DjangoProject, database: str | None) -> Choices:
    """The database from --db, else from what the settings use: PostgreSQL stays PostgreSQL,
    SQLite (or another) gets SQLite, its file on a volume; a project with no database gets
    none, and nothing to migrate."""
    if database is None:
        database = {"postgres": "postgres", "sqlite": "sqlite", "other": "sqlite"}.get(project.database, "none")
    return Choices(database=database)


def _template(name: str) -> str:
    return resources.files("provision.templates").joinpath(name).read_text(encoding="utf-8")


def _fill(template: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    if "{{" in template:
        raise AssertionError(f"unfilled placeholder in template: {template[template.index('{{') :][:40]}")
    return template


def extra_packages(project: DjangoProject, choices: Choices) -> list[str]:
    """What the image needs and the project does not list: the server, static files and the
    database's driver. Installed after the project's own, so its pins win."""
    extra = [spec for name, spec in SERVER_PACKAGES.items() if not project.has(name)]
    if choices.database == "postgres" and not any(project.has(name) for name in POSTGRES_DRIVERS):
        extra.append(POSTGRES_DRIVER)
    return extra


def dependency_layer(project: DjangoProject, choices: Choices) -> str:
    """The Dockerfile's dependency layer: the project's own installer's lock where it has one,
    read by a tool that leaves in the same layer, into the virtualenv at /opt/venv."""
    deps = project.dependencies
    extras = " ".join(f'"{spec}"' for spec in extra_packages(project, choices))
    add_extras = f"    && pip install --no-cache-dir {extras} \\\n" if extras else ""
    tail = add_extras + "    && pip uninstall --yes --quiet pip"
    venv = "RUN python3 -m venv /opt/venv \\\n"
    copy = f"COPY {' '.join(deps.files)} ./\n" if deps.files else ""
    to_requirements = {
        DependencyKind.REQUIREMENTS: "",
        DependencyKind.PEP621: "    && python3 -c \"import tomllib; print('\\n'.join("
        "tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))\" > /tmp/requirements.txt \\\n",
        DependencyKind.PIPFILE: "    && python3 -c \"import json; d = json.load(open('Pipfile.lock'))['default']; "
        "print('\\n'.join(n + p['version'] + ('; ' + p['markers'] if p.get('markers') else '') "
        "for n, p in d.items() if 'version' in p))\" > /tmp/requirements.txt \\\n",
        DependencyKind.UV: "    && python3 -m venv /opt/uv \\\n"
        '    && /opt/uv/bin/pip install --no-cache-dir --quiet "uv>=0.4" \\\n'
        "    && /opt/uv/bin/uv export --frozen --no-dev --no-hashes --no-emit-project --quiet "
        "-o /tmp/requirements.txt \\\n"
        "    && rm -rf /opt/uv \\\n",
    }
    if deps.kind is DependencyKind.STARTPROJECT:
        return f'{venv}    && pip install --no-cache-dir "Django=={deps.django_version}" {extras} \\\n' + (
            "    && pip uninstall --yes --quiet pip"
        )
    if deps.kind is DependencyKind.POETRY:
        return (
            copy + venv + "    && python3 -m venv /opt/poetry \\\n"
            '    && /opt/poetry/bin/pip install --no-cache-dir --quiet "poetry>=1.8,<3" \\\n'
            "    && POETRY_VIRTUALENVS_CREATE=false /opt/poetry/bin/poetry install --only main --no-root "
            "--no-interaction --no-ansi \\\n"
            "    && rm -rf /opt/poetry /root/.cache/pypoetry \\\n" + tail
        )
    requirements = "requirements.txt" if deps.kind is DependencyKind.REQUIREMENTS else "/tmp/requirements.txt"
    cleanup = "" if deps.kind is DependencyKind.REQUIREMENTS else "    && rm /tmp/requirements.txt \\\n"
    return (
        copy + venv + to_requirements[deps.kind]
        + f"    && pip install --no-cache-dir -r {requirements} \\\n" + cleanup + tail
    )  # fmt: skip


def ci_pipeline(service: str, app: str, database: str = "sqlite") -> str:
    """The pipeline of `service`: build the image, run the project's tests inside it, then
    `check --deploy` as production runs it (HTTPS on, a fresh key of Django's length). A
    PostgreSQL project's tests run on PostgreSQL (the official image: a CI service reaches a
    registry), as production runs them; SQLite ones on a file in the container."""
    if database == "postgres":
        test = (
            "docker network create ci && docker run --detach --network ci --name ci-db "
            "--env POSTGRES_PASSWORD=tests-only postgres:17 && "
            "until docker exec ci-db pg_isready --username postgres; do sleep 1; done && "
            "docker run --rm --network ci --env SECRET_KEY=tests-only-not-a-secret "
            f"--env DATABASE_URL=postgres://postgres:tests-only@ci-db:5432/postgres {app}:ci python manage.py test"
        )
    else:
        test = (
            "docker run --rm --env SECRET_KEY=tests-only-not-a-secret --env DATABASE_URL=sqlite:////tmp/tests.sqlite3 "
            f"{app}:ci python manage.py test"
        )
    check = (
        'docker run --rm --env SECRET_KEY="$(head -c 48 /dev/urandom | base64)" --env HTTPS=on '
        f"{app}:ci python manage.py check --deploy --fail-level WARNING"
    )
    return _fill(_template(f"ci-{service}.yml.tmpl"), {"app": app, "test_command": test, "check_command": check})


CONFIG_HEADER = "# dockerhello's settings for this project, written by `dockerhello init`\n"


def merged_config(existing: str | None, values: dict[str, str]) -> str:
    """dockerhello.toml with init's keys set to `values` (TOML values, as text). An existing
    file keeps everything else the user wrote in it, comments and other settings included:
    each of init's keys replaces its own line, or is added after the rest."""
    if existing is None:
        return CONFIG_HEADER + "".join(f"{key} = {value}\n" for key, value in values.items())
    lines = existing.splitlines()
    for key, value in values.items():
        at = next((i for i, line in enumerate(lines) if re.match(rf"\s*{key}\s*=", line)), None)
        if at is None:
            lines.append(f"{key} = {value}")
        else:
            lines[at] = f"{key} = {value}"
    return "\n".join(lines) + "\n"


def configured(existing: str | None, key: str, rule: Callable[[str], str]) -> str | None:
    """What an existing dockerhello.toml sets `key` to, when `rule` accepts it."""
    try:
        value = tomllib.loads(existing or "").get(key)
        return rule(value) if isinstance(value, str) else None
    except (tomllib.TOMLDecodeError, ValueError):
        return None


def render(project: DjangoProject, choices: Choices, app: str, ci: str | None = None,
           config: str | None = None) -> dict[str, tuple[str, int]]:  # fmt: skip
    """Every file init writes: path -> (text, mode); `config`, the dockerhello.toml there is."""
    app_dir = "/app" if project.manage_dir == "." else f"/app/{project.manage_dir}"
    overlay_path = OVERLAY if project.manage_dir == "." else f"{project.manage_dir}/{OVERLAY}"
    start = "start.sh" if project.manage_dir == "." else f"{project.manage_dir}/start.sh"
    values = {
        "project": project.package,
        "python": project.python,
        "python_source": project.python_source,
        "app_dir": app_dir,
        "dependency_source": project.dependencies.kind.value,
        "dependency_layer": dependency_layer(project, choices),
        "health_path": project.health_path,
        "wsgi": f"{project.wsgi_module}:{project.wsgi_callable}",
        "settings_module": project.settings_module,
    }
    settings = {"app": f'"{app}"', "database": f'"{choices.database}"', "migrate": str(choices.migrate).lower()}
    if project.health_path != "/":
        settings["health_path"] = f'"{project.health_path}"'
    pipeline = {CI_FILES[ci]: (ci_pipeline(ci, app, choices.database), 0o644)} if ci else {}
    return {
        **pipeline,
        "Dockerfile": (_fill(_template("Dockerfile.tmpl"), values), 0o644),
        start: (_fill(_template("start.sh.tmpl"), values), 0o755),
        ".dockerignore": (_fill(_template("dockerignore.tmpl"), values), 0o644),
        overlay_path: (_fill(_template("dockerhello_settings.py.tmpl"), values), 0o644),
        "dockerhello.toml": (merged_config(config, settings), 0o644),
    }


def diff(change: Change) -> str:
    lines = difflib.unified_diff(
        (change.old or "").splitlines(keepends=True), change.text.splitlines(keepends=True),
        f"a/{change.path}", f"b/{change.path}",
    )  # fmt: skip
    return "".join(lines)


class Initializer:
    def __init__(self, console: Console) -> None:
        self.console = console

    def run(self, path: Path, app_name: str | None, database: str | None, force: bool,
            ci: str | None = None) -> list[Change]:  # fmt: skip
        project = scan(path.resolve())
        config = _read_or_none(project.root / "dockerhello.toml")
        # What the file says stands unless a flag says otherwise: a new app name would orphan the deployed one.
        app = (app_name or configured(config, "app", validators.app_name)
               or validators.app_name_from_directory(project.root.name))  # fmt: skip
        choices = choose(project, database or configured(config, "database", validators.database))
        self._report(project, choices, app)
        changes = [
            Change(name, text, _read_or_none(project.root / name), mode)
            for name, (text, mode) in render(project, choices, app, ci, config).items()
        ]
        if _has_tool_table(project.root):
            changes = [c for c in changes if c.path != "dockerhello.toml"]
            self.console.warn("pyproject.toml has a [tool.dockerhello] table: dockerhello.toml not written")
        refused = [c.path for c in changes if c.old is not None and not c.unchanged]
        if refused and not force:
            raise DockerHelloError(
                f"Not overwriting {', '.join(refused)}: already there and different",
                hint="`dockerhello init --force` shows the diff of each and overwrites them.",
            )
        for change in changes:  # every diff first: output that fails (a closed pipe) writes nothing
            if change.old is not None and not change.unchanged:
                self.console.result(diff(change).rstrip("\n"))
        for change in changes:
            if not change.unchanged:
                _write(project.root / change.path, change.text, change.mode)
        for change in changes:
            done = "unchanged" if change.unchanged else "overwrote" if change.old is not None else "wrote"
            self.console.info(f"  {done:9}  {change.path}")
        return changes

    def _report(self, project: DjangoProject, choices: Choices, app: str) -> None:
        deps = project.dependencies
        source = f" (from {project.settings_source})" if project.settings_source != "manage.py" else ""
        found = [
            ("project", str(project.root) + (f" (manage.py in {project.manage_dir}/)" * (project.manage_dir != "."))),
            ("settings", project.settings_module + source),
            ("WSGI", f"{project.wsgi_module}:{project.wsgi_callable}"),
            ("dependencies", ", ".join(deps.files) if deps.files else f"none listed: Django {deps.django_version}, "
             "the version startproject wrote the settings with"),
            ("Python", f"{project.python} (from {project.python_source})"),
            ("database", f"{project.database} in the settings"),
            ("static files", "yes" if project.static else "no"),
            ("media", "yes" if project.media else "no"),
        ]  # fmt: skip
        self.console.step("Found")
        for label, value in found:
            self.console.info(f"  {label + ':':14} {value}")
        chosen = [
            ("base image", f"python:{project.python}-slim (BASE_IMAGE; `dockerhello base build` for no registry)"),
            ("server", "Gunicorn, gthread workers" + ("" if project.has("gunicorn") else " (added to the image)")),
            ("static", "collectstatic at build, served by WhiteNoise"
             + ("" if project.has("whitenoise") else " (added to the image)")),
            ("database", {"sqlite": f"SQLite, its file on the data volume {app}-data at /data",
                          "postgres": f"PostgreSQL, a server of the app's own ({app}-db), its data on the volume "
                          f"{app}-postgres" + ("" if any(project.has(n) for n in POSTGRES_DRIVERS)
                                               else " (psycopg added to the image)"),
                          "none": "none"}[choices.database]),
            ("migrations", "`manage.py migrate` before each release serves" if choices.migrate else "none"),
            ("health check", f"GET {project.health_path}"),
        ]  # fmt: skip
        self.console.step("Chosen")
        for label, value in chosen:
            self.console.info(f"  {label + ':':14} {value}")
        self.console.step("Files")


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise DockerHelloError(f"Cannot read {path}: {exc}", hint="Move it away and run init again.") from None


def _write(path: Path, text: str, mode: int) -> None:
    """Whole or not at all: a Ctrl-C leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.dockerhello-tmp")
    partial.write_text(text, encoding="utf-8")
    os.chmod(partial, mode)
    os.replace(partial, path)


def _has_tool_table(root: Path) -> bool:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file() or (root / "dockerhello.toml").is_file():
        return False
    try:
        return "dockerhello" in tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


__all__ = ["Change", "Choices", "Initializer", "choose", "render"]
