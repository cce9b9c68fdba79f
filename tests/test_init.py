"""`dockerhello init` on projects no one here wrote (Django's own `startproject`, run now) and
on the layouts people use (Poetry, uv, Pipfile, a src/ layout, a settings package), read back
as a user would: what it printed, the files it wrote, and what it refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from provision.services.django_project import DependencyKind, scan
from tests.conftest import Dockerhello
from tests.test_image_files import lint

WRITTEN = ("Dockerfile", "start.sh", ".dockerignore", "dockerhello_settings.py", "dockerhello.toml")


def startproject(parent: Path, name: str = "mysite", directory: str = "site") -> Path:
    target = parent / directory
    target.mkdir()
    subprocess.run([sys.executable, "-m", "django", "startproject", name, str(target)], check=True, timeout=60)
    return target


def snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_init_on_djangos_own_template_says_what_it_found_and_writes_linted_files(
    tmp_path: Path, dockerhello: Dockerhello
) -> None:
    site = startproject(tmp_path)
    before = snapshot(site)
    result = dockerhello("init", str(site), "--app", "mysite")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert "  settings:      mysite.settings" in lines
    assert "  WSGI:          mysite.wsgi:application" in lines
    assert "  database:      sqlite in the settings" in lines
    assert "  health check:  GET /admin/login/" in lines  # the template routes nothing at /
    assert [line.split()[-1] for line in lines if line.startswith("  wrote")] == list(WRITTEN)
    # The project's own files are untouched; only new files were added.
    after = snapshot(site)
    assert {k: v for k, v in after.items() if k in before} == before
    assert sorted(set(after) - set(before)) == sorted(WRITTEN)
    assert (site / "start.sh").stat().st_mode & 0o111
    dockerfile = (site / "Dockerfile").read_text()
    version = __import__("django").get_version()
    assert f'pip install --no-cache-dir "Django=={version}" "gunicorn>=23,<28" "whitenoise>=6.6,<7"' in dockerfile
    assert "ARG BASE_IMAGE=python:3.13-slim" in dockerfile and "USER 10001:10001" in dockerfile
    assert (site / "dockerhello.toml").read_text().splitlines()[1:] == [
        'app = "mysite"', 'database = "sqlite"', "migrate = true", 'health_path = "/admin/login/"']  # fmt: skip
    assert "from mysite.settings import *" in (site / "dockerhello_settings.py").read_text()
    for argv in (["hadolint", str(site / "Dockerfile")], ["shellcheck", str(site / "start.sh")]):
        proc = lint(argv)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_init_twice_changes_nothing_and_refuses_to_overwrite_an_edited_file(
    tmp_path: Path, dockerhello: Dockerhello
) -> None:
    site = startproject(tmp_path)
    assert dockerhello("init", str(site)).exit_code == 0
    again = dockerhello("init", str(site))
    assert again.exit_code == 0
    assert [line.split()[0] for line in again.stderr.splitlines() if line.startswith("  unchanged")] == [
        "unchanged"
    ] * 5
    (site / "Dockerfile").write_text("FROM scratch\n")
    (site / "dockerhello.toml").unlink()
    refused = dockerhello("init", str(site))
    assert refused.exit_code == 1
    assert "Error: Not overwriting Dockerfile: already there and different" in refused.stderr.splitlines()
    assert "Hint: `dockerhello init --force` shows the diff of each and overwrites them." in refused.stderr
    # Nothing was written, not even the file that was missing.
    assert (site / "Dockerfile").read_text() == "FROM scratch\n" and not (site / "dockerhello.toml").exists()
    forced = dockerhello("init", str(site), "--force")
    assert forced.exit_code == 0
    assert forced.stdout.startswith("--- a/Dockerfile\n+++ b/Dockerfile\n")
    assert "-FROM scratch\n" in forced.stdout
    assert (site / "Dockerfile").read_text().startswith("# Production image for mysite")


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({}, "Error: No manage.py in {root} (nor one or two directories down): this is not a Django project"),
        ({"manage.py": "print('hi')\n"}, "Error: manage.py does not name a settings module (DJANGO_SETTINGS_MODULE)"),
        (
            {"manage.py": 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")\n'},
            "Error: manage.py names the settings module shop.settings, but shop/settings.py is not there",
        ),
        (
            {"manage.py": 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")\n',
             "shop/__init__.py": "", "shop/settings.py": "DEBUG = False\n", "shop/wsgi.py": ""},
            "Error: Found no dependencies: no requirements.txt, pyproject.toml with [project] dependencies, "
            "poetry.lock, uv.lock or Pipfile.lock",
        ),
        (
            {"manage.py": 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")\n',
             "shop/__init__.py": "", "shop/settings.py": "DEBUG = False\n", "shop/wsgi.py": "",
             "pyproject.toml": "[project\n"},
            "Error: pyproject.toml cannot be read: Expected ']' at the end of a table declaration (at line 1, column 9)",
        ),
    ],
    ids=["empty", "no-settings-module", "missing-settings", "no-dependencies", "damaged-pyproject"],
)  # fmt: skip
def test_init_refuses_what_is_not_a_django_project_it_can_handle(
    tmp_path: Path, dockerhello: Dockerhello, files: dict[str, str], error: str
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    result = dockerhello("init", str(root))
    assert result.exit_code == 1
    assert error.format(root=root) in result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == sorted(Path(n).name for n in files)


def project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def django_files(prefix: str = "", settings: str = "config.settings") -> dict[str, str]:
    package = settings.split(".")[0]
    settings_path = settings.replace(".", "/")
    return {
        f"{prefix}manage.py": f'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "{settings}")\n',
        f"{prefix}{package}/__init__.py": "",
        f"{prefix}{settings_path}.py": f'WSGI_APPLICATION = "{package}.wsgi.application"\nSTATIC_URL = "static/"\n'
        'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql"}}\nMEDIA_ROOT = "media"\n',
        f"{prefix}{package}/wsgi.py": "application = None\n",
        f"{prefix}{package}/urls.py": 'urlpatterns = [path("", home)]\n',
    }


def test_a_poetry_project_installs_from_its_lock_with_poetry(tmp_path: Path, dockerhello: Dockerhello) -> None:
    root = project(tmp_path / "shop", {
        **django_files(),
        "pyproject.toml": '[tool.poetry]\nname = "shop"\n[tool.poetry.dependencies]\npython = "~3.12"\n'
        'django = "^5.2"\ngunicorn = "^23"\n',
        "poetry.lock": "# locked\n",
    })  # fmt: skip
    found = scan(root)
    assert (found.dependencies.kind, found.python, found.python_source) == (
        DependencyKind.POETRY, "3.12", "Poetry's python '~3.12'")  # fmt: skip
    assert (found.settings_module, found.database, found.media, found.health_path) == (
        "config.settings", "postgres", True, "/")  # fmt: skip
    assert dockerhello("init", str(root)).exit_code == 0
    dockerfile = (root / "Dockerfile").read_text()
    assert "COPY pyproject.toml poetry.lock ./" in dockerfile
    assert "/opt/poetry/bin/poetry install --only main --no-root" in dockerfile
    assert 'pip install --no-cache-dir "whitenoise>=6.6,<7"' in dockerfile  # gunicorn is the project's own
    assert "ARG BASE_IMAGE=python:3.12-slim" in dockerfile
    assert lint(["hadolint", str(root / "Dockerfile")]).returncode == 0


def test_a_uv_project_in_a_src_layout_with_a_settings_package(tmp_path: Path, dockerhello: Dockerhello) -> None:
    root = project(tmp_path / "blog", {
        **django_files("src/", settings="blog.settings.production"),
        "src/blog/settings/__init__.py": "",
        "src/blog/settings/base.py": "SECRET_KEY = 'x'\n",
        "pyproject.toml": '[project]\nname = "blog"\nrequires-python = ">=3.11,<3.13"\n'
        'dependencies = ["Django>=5.2", "whitenoise[brotli]>=6"]\n',
        "uv.lock": "version = 1\n",
        ".python-version": "3.11.9\n",
    })  # fmt: skip
    found = scan(root)
    assert (found.manage_dir, found.settings_module, found.wsgi_module) == (
        "src",
        "blog.settings.production",
        "blog.wsgi",
    )
    assert (found.dependencies.kind, found.python, found.python_source) == (
        DependencyKind.UV,
        "3.11",
        ".python-version",
    )
    result = dockerhello("init", str(root))
    assert result.exit_code == 0, result.stderr
    assert "  project:       " + str(root) + " (manage.py in src/)" in result.stderr.splitlines()
    dockerfile = (root / "Dockerfile").read_text()
    assert "COPY pyproject.toml uv.lock ./" in dockerfile
    assert "uv export --frozen --no-dev --no-hashes" in dockerfile
    assert "PYTHONPATH=/app/src" in dockerfile and "WORKDIR /app/src" in dockerfile
    assert '"gunicorn>=23,<28"' in dockerfile and "whitenoise>=6.6" not in dockerfile
    assert (root / "src" / "dockerhello_settings.py").read_text().count("from blog.settings.production import *") == 1
    assert (root / "src" / "start.sh").is_file()
    assert lint(["hadolint", str(root / "Dockerfile")]).returncode == 0


def test_the_settings_a_server_runs_are_the_wsgi_modules_where_manage_py_names_local_ones(
    tmp_path: Path, dockerhello: Dockerhello
) -> None:
    # cookiecutter-django's layout: manage.py runs the local settings, wsgi.py the production ones.
    files = django_files(settings="config.settings.local")
    root = project(tmp_path / "cc", {
        **files,
        "config/settings/__init__.py": "",
        "config/settings/base.py": 'WSGI_APPLICATION = "config.wsgi.application"\n',
        "config/settings/production.py": "from .base import *\n",
        "config/wsgi.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")\n',
        "requirements.txt": "Django==5.2.8\n",
    })  # fmt: skip
    found = scan(root)
    assert (found.settings_module, found.settings_source) == (
        "config.settings.production", "config/wsgi.py; manage.py names config.settings.local")  # fmt: skip
    result = dockerhello("init", str(root))
    assert result.exit_code == 0, result.stderr
    assert ("  settings:      config.settings.production (from config/wsgi.py; manage.py names config.settings.local)"
            in result.stderr.splitlines())  # fmt: skip
    assert "from config.settings.production import *" in (root / "dockerhello_settings.py").read_text()
    # Where the WSGI module names the same settings, or none, manage.py's stand.
    plain = project(tmp_path / "plain", {**django_files(), "requirements.txt": "Django==5.2.8\n"})
    assert scan(plain).settings_source == "manage.py"


def test_a_pipfile_lock_and_requirements_and_pep621(tmp_path: Path) -> None:
    lock = {
        "default": {
            "django": {"version": "==5.2.1"},
            "psycopg": {"version": "==3.2.0", "markers": "python_version >= '3.8'"},
        }
    }
    pipenv = scan(
        project(tmp_path / "a", {**django_files(), "Pipfile.lock": json.dumps(lock), "requirements.txt": "x\n"})
    )
    assert (pipenv.dependencies.kind, sorted(pipenv.dependencies.names)) == (
        DependencyKind.PIPFILE,
        ["django", "psycopg"],
    )
    pip = scan(
        project(
            tmp_path / "b",
            {**django_files(), "requirements.txt": "Django==5.2  # web\n-r base.txt\nGunicorn[gevent]>=23\n"},
        )
    )
    assert (pip.dependencies.kind, sorted(pip.dependencies.names)) == (
        DependencyKind.REQUIREMENTS,
        ["django", "gunicorn"],
    )
    pep = scan(
        project(
            tmp_path / "c", {**django_files(), "pyproject.toml": '[project]\nname = "c"\ndependencies = ["django"]\n'}
        )
    )
    assert (pep.dependencies.kind, pep.python, pep.python_source) == (DependencyKind.PEP621, "3.13", "the default")


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("github", ".github/workflows/dockerhello.yml"),
        ("gitlab", ".gitlab-ci.yml"),
        ("semaphore", ".semaphore/semaphore.yml"),
    ],
)
def test_init_ci_writes_a_pipeline_whose_deploy_check_passes_on_the_overlay(
    tmp_path: Path, dockerhello: Dockerhello, service: str, path: str
) -> None:
    site = startproject(tmp_path)
    result = dockerhello("init", str(site), "--app", "mysite", "--ci", service)
    assert result.exit_code == 0, result.stderr
    pipeline = (site / path).read_text()
    assert "docker build --tag mysite:ci ." in pipeline
    assert ("docker run --rm --env SECRET_KEY=tests-only-not-a-secret --env DATABASE_URL=sqlite:////tmp/tests.sqlite3 "
            "mysite:ci python manage.py test") in pipeline  # fmt: skip
    check = 'docker run --rm --env SECRET_KEY="$(head -c 48 /dev/urandom | base64)" --env HTTPS=on mysite:ci python manage.py check --deploy --fail-level WARNING'
    assert check in pipeline
    # What that step runs in the image, run here on the same settings: it passes, and it is not a
    # check that cannot fail (with HTTPS off it names the insecure cookies).
    env = {"DJANGO_SETTINGS_MODULE": "dockerhello_settings", "SECRET_KEY": "k" * 20 + "e3Hq9xZ-Lw" * 4, "HTTPS": "on"}
    argv = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    passed = subprocess.run(argv, cwd=site, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert (passed.returncode, passed.stdout) == (0, "System check identified no issues (0 silenced).\n"), passed.stderr
    failed = subprocess.run(
        argv, cwd=site, env={**os.environ, **env, "HTTPS": "off"}, capture_output=True, text=True, timeout=60
    )
    assert failed.returncode == 1 and "security.W012" in failed.stderr


def test_init_again_keeps_what_the_user_wrote_in_dockerhello_toml(tmp_path: Path, dockerhello: Dockerhello) -> None:
    site = startproject(tmp_path)
    assert dockerhello("init", str(site)).exit_code == 0
    config = site / "dockerhello.toml"
    config.write_text(config.read_text().replace('database = "sqlite"', 'database = "postgres"')
                      + '# a bigger box in production\nmemory = "1g"\n')  # fmt: skip
    again = dockerhello("init", str(site), "--force")
    assert again.exit_code == 0, again.stderr
    assert "psycopg added to the image" in again.stderr  # the file's database stands
    assert '"psycopg[binary]>=3.2,<4"' in (site / "Dockerfile").read_text()
    assert config.read_text().splitlines()[1:] == [
        'app = "site"', 'database = "postgres"', "migrate = true", 'health_path = "/admin/login/"',
        "# a bigger box in production", 'memory = "1g"']  # fmt: skip
    none = dockerhello("init", str(site), "--db", "none", "--force")
    assert none.exit_code == 0, none.stderr
    assert '-database = "postgres"\n-migrate = true\n+database = "none"\n+migrate = false\n' in none.stdout
    assert 'memory = "1g"' in config.read_text().splitlines()


def test_init_ci_runs_a_postgres_projects_tests_on_postgres(tmp_path: Path, dockerhello: Dockerhello) -> None:
    site = startproject(tmp_path)
    result = dockerhello("init", str(site), "--app", "mysite", "--db", "postgres", "--ci", "gitlab")
    assert result.exit_code == 0, result.stderr
    [step] = [line.removeprefix("    - ") for line in (site / ".gitlab-ci.yml").read_text().splitlines()
              if "manage.py test" in line]  # fmt: skip
    # The step as the CI shell runs it, on a `docker` that logs what it is asked and whose
    # server answers pg_isready on the second try.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text('#!/bin/sh\necho "$*" >> "$LOG"\n'
                      'if [ "$1" = exec ]; then [ -e "$LOG.ready" ] && exit 0; touch "$LOG.ready"; exit 2; fi\n')  # fmt: skip
    docker.chmod(0o755)
    log = tmp_path / "docker.log"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log)}
    subprocess.run(["sh", "-ec", step], env=env, check=True, timeout=30, capture_output=True)
    assert log.read_text().splitlines() == [
        "network create ci",
        "run --detach --network ci --name ci-db --env POSTGRES_PASSWORD=tests-only postgres:17",
        "exec ci-db pg_isready --username postgres",
        "exec ci-db pg_isready --username postgres",
        "run --rm --network ci --env SECRET_KEY=tests-only-not-a-secret "
        "--env DATABASE_URL=postgres://postgres:tests-only@ci-db:5432/postgres mysite:ci python manage.py test",
    ]
