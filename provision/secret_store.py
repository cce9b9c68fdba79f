"""Per-app secrets that live outside images: made once, kept in dockerhello's state directory."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from provision.errors import DockerHelloError

# What token_urlsafe writes; Django wants a long key, and one that a stray edit did not cut.
KEY = r"[A-Za-z0-9_-]{32,}"
SECRET_KEY = "secret_key"
DATABASE_PASSWORD = "database_password"


class SecretStore:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def path(self, app: str, name: str = SECRET_KEY) -> Path:
        return self.state_dir / "apps" / app / name

    def secret_key(self, app: str, running: str | None = None) -> str:
        """The app's Django SECRET_KEY: the one its serving release runs with, where one runs
        (deployed from another host, say: this host then signs as it does), kept here too;
        else the one kept here, generated on first use and the same ever after, so that
        redeploys keep signed data valid."""
        return self._settled(self.path(app), running)

    def check(self, app: str) -> None:
        """Refuse a damaged secret before anything is made on the engine: reads what is kept
        here and makes nothing, so a deploy that stops on it leaves no trace."""
        for name in (SECRET_KEY, DATABASE_PASSWORD):
            with contextlib.suppress(FileNotFoundError):
                self._read(self.path(app, name))

    def database_password(self, app: str, running: str | None = None) -> str:
        """The password of the app's PostgreSQL, settled like the key: the running server's,
        else the one kept here, made once. Hex: it goes into DATABASE_URL as it is."""
        return self._settled(self.path(app, DATABASE_PASSWORD), running, hexadecimal=True)

    def _settled(self, path: Path, running: str | None, hexadecimal: bool = False) -> str:
        if not running:
            return self._made_once(path, hexadecimal)
        if not path.exists() or self._read(path) != running:
            self._keep(path, running)
        return running

    @staticmethod
    def _keep(path: Path, value: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(value + "\n")
        tmp.replace(path)

    def _made_once(self, path: Path, hexadecimal: bool = False) -> str:
        try:
            return self._read(path)
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        import secrets

        key = secrets.token_hex(32) if hexadecimal else secrets.token_urlsafe(50)
        try:
            # O_EXCL: two deploys racing to create the key agree on the first one written.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self._read(path)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key + "\n")
        return key

    @staticmethod
    def _read(path: Path) -> str:
        """The stored key, or one error naming the file. A damaged key is never replaced
        silently: a new one would sign every user out and void every signed link."""
        hint = (
            f"Restore {path} from a backup. To start over with a new key (signing every user out), remove it "
            "and deploy again."
        )
        try:
            text = path.read_bytes().decode("ascii").strip()
        except FileNotFoundError:
            raise
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not ASCII text"
            raise DockerHelloError(f"Cannot read the app's secret key {path}: {reason}", hint=hint) from None
        if not re.fullmatch(KEY, text):
            raise DockerHelloError(
                f"The app's secret key {path} is damaged: it is not a key dockerhello made", hint=hint
            )
        return text
