"""What the server keeps about logins, in `<state>/credentials.json` (mode 0600): its own token, and per user
the password hash that replaced an older configured one.

The token is made once and kept, so a restart neither breaks the bookmarked login URL
nor logs anyone out; `--new-token` replaces it. Users are keyed by name; today there is
one, the owner, whose password comes from the settings. A `CCS_PASSWORD_HASH` of an older
scheme is upgraded at the first login that proves it (core/security/auth.py): the new hash is kept
here together with a digest of the configured one it replaces, so the settings file is
never rewritten, and a new configured hash wins over the kept upgrade.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from pathlib import Path
from typing import Any

from storage.atomic_json import write_atomic

OWNER = "owner"
_FILE = "credentials.json"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class CredentialStore:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / _FILE
        self._lock = threading.Lock()
        state_dir.mkdir(parents=True, exist_ok=True)

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.path} cannot be read ({exc}); remove it to make a new login token") from None
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, Any]) -> None:
        write_atomic(self.path, json.dumps(data, indent=1).encode(), mode=0o600)

    def token(self, *, renew: bool = False) -> str:
        """The server's own login token, made (or remade, with `renew`) and kept on first use."""
        with self._lock:
            data = self._load()
            token = data.get("token")
            if renew or not isinstance(token, str) or len(token) < 32:
                data["token"] = token = secrets.token_urlsafe(32)
                self._save(data)
            return token

    def upgraded_hash(self, user: str, configured_hash: str) -> str | None:
        """The hash kept for `user` in place of `configured_hash`, if it replaced exactly that one."""
        with self._lock:
            entry = (self._load().get("users") or {}).get(user)
        if isinstance(entry, dict) and entry.get("replaces") == digest(configured_hash):
            found = entry.get("password_hash")
            return found if isinstance(found, str) else None
        return None

    def keep_upgrade(self, user: str, configured_hash: str, new_hash: str) -> None:
        with self._lock:
            data = self._load()
            users = data.setdefault("users", {})
            users[user] = {"password_hash": new_hash, "replaces": digest(configured_hash)}
            self._save(data)
