from __future__ import annotations

import stat
from pathlib import Path

from provision.secret_store import SecretStore


def test_secret_key_is_made_once_per_app_and_kept_private(tmp_path: Path) -> None:
    store = SecretStore(tmp_path)
    first = store.secret_key("hello")
    assert len(first) >= 50
    assert store.secret_key("hello") == first
    assert SecretStore(tmp_path).secret_key("hello") == first
    assert store.secret_key("other") != first
    assert stat.S_IMODE(store.path("hello").stat().st_mode) == 0o600
