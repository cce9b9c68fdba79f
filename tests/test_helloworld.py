"""The Django project: views and settings, in-process and as a fresh interpreter would see them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

os.environ.setdefault("SECRET_KEY", "test-" + "k" * 60)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helloworld.settings")

import django

django.setup()

from django.test import Client  # noqa: E402


@pytest.fixture
def client() -> Client:
    return Client()


def test_root_answers_exactly_hello_world(client: Client) -> None:
    response = client.get("/", HTTP_HOST="localhost")
    assert response.status_code == 200
    assert response.content == b"Hello, World!"
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_healthz_answers_ok(client: Client) -> None:
    response = client.get("/healthz", HTTP_HOST="localhost")
    assert (response.status_code, response.content) == (200, b"ok")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "localhost:8000"])
def test_default_allowed_hosts_cover_health_checks_and_forwarded_ports(client: Client, host: str) -> None:
    assert client.get("/", HTTP_HOST=host).status_code == 200


def test_unknown_host_is_refused(client: Client) -> None:
    assert client.get("/", HTTP_HOST="evil.example").status_code == 400


def test_post_is_not_allowed(client: Client) -> None:
    assert client.post("/", HTTP_HOST="localhost").status_code == 405


def settings_in_subprocess(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "HTTPS")}
    return subprocess.run(
        [sys.executable, "-c", f"import helloworld.settings as s; {code}"],
        env={**base, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_secret_key_is_required_when_debug_is_off() -> None:
    proc = settings_in_subprocess({}, "pass")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off"
    )


def test_debug_is_off_unless_set_and_settings_come_from_the_environment() -> None:
    proc = settings_in_subprocess(
        {"SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "example.com, app.internal"},
        "print(s.DEBUG, s.ALLOWED_HOSTS, s.SECRET_KEY == 'x' * 60)",
    )
    assert proc.stdout.strip() == "False ['example.com', 'app.internal'] True"


def test_debug_runs_without_a_secret_key() -> None:
    proc = settings_in_subprocess({"DEBUG": "on"}, "print(s.DEBUG)")
    assert proc.stdout.strip() == "True"


def test_a_bad_boolean_is_an_error_that_names_the_variable() -> None:
    proc = settings_in_subprocess({"DEBUG": "maybe"}, "pass")
    assert "DEBUG='maybe' is not a boolean" in proc.stderr


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "HTTPS")}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        env={**base, "SECRET_KEY": "s3cr3t-" + "abcdefghij" * 6, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_over_plain_http_leaves_only_the_documented_https_warnings() -> None:
    proc = check_deploy({})
    assert proc.returncode == 0, proc.stderr
    warnings = sorted(word for word in proc.stderr.split() if word.startswith("(security."))
    assert warnings == ["(security.W004)", "(security.W008)", "(security.W016)"]
    readme = (REPO / "README.md").read_text()
    for code in ("W004", "W008", "W016"):
        assert f"security.{code}" in readme, f"README must explain security.{code}"


def test_check_deploy_with_https_on_is_clean() -> None:
    proc = check_deploy({"HTTPS": "on"})
    assert proc.returncode == 0
    assert "System check identified no issues" in proc.stdout + proc.stderr
