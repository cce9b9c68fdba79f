"""Per-app secrets that live outside images: made once, kept in dockerhello's state directory."""

from __future__ import annotations

import os
from pathlib import Path


class SecretStore:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def path(self, app: str) -> Path:
        return self.state_dir / "apps" / app / "secret_key"

    def secret_key(self, app: str) -> str:
        """The app's Django SECRET_KEY, generated on first use and the same ever after,
        so that redeploys keep signed data valid."""
        path = self.path(app)
        try:
            return path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        import secrets

        key = secrets.token_urlsafe(50)
        try:
            # O_EXCL: two deploys racing to create the key agree on the first one written.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key + "\n")
        return key
