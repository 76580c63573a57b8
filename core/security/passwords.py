"""Password hashes and secret comparison for logins (spec J1).

New hashes are argon2id (`$argon2id$v=19$m=65536,t=3,p=4$...`, argon2-cffi's RFC 9106
profile, above OWASP's floor). Older hashes still verify, so that a configured
`CCS_PASSWORD_HASH` keeps working, and are upgraded at the next login (core/security/auth.py):
`scrypt$<n>$<r>$<p>$<salt>$<hash>` and `pbkdf2_sha256$<iterations>$<salt>$<hash>`
(base64, no padding). Every comparison is constant-time.

    python -m core.security.passwords      # asks for a password, prints its hash
"""

from __future__ import annotations

import base64
import functools
import getpass
import hashlib
import hmac
from typing import Any

PBKDF2_MIN_ITERATIONS = 100_000
_MAX_SCRYPT_N = 2**20  # a hash from a settings file must not make each login take minutes
_MAX_ARGON2_MEMORY_KIB = 1024 * 1024
_MAXMEM = 1024 * 2**20


@functools.cache
def _argon2() -> tuple[Any, tuple[type[Exception], ...]]:
    """argon2-cffi's hasher (argon2id, t=3, m=64 MiB, p=4: some 0.2 s per check on two cores) and the errors a
    failed check raises; imported at the first password, not at start (cffi takes a few tens of ms)."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    return PasswordHasher(), (VerifyMismatchError, VerificationError, InvalidHashError)


class BadHash(ValueError):
    """A stored password hash that cannot be used."""


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("An empty password protects nothing.")
    return _argon2()[0].hash(password)


def check_hash(stored: str) -> str:
    """The hash if it is one this module can verify, else BadHash with the reason."""
    _parse(stored)
    return stored


def needs_upgrade(stored: str) -> bool:
    """Whether `stored` is below today's scheme or parameters (argon2id with this module's profile)."""
    if _parse(stored)[0] != "argon2":
        return True
    return _argon2()[0].check_needs_rehash(stored.strip())


def _parse(stored: str) -> tuple[str, tuple[int, ...], bytes, bytes]:
    text = (stored or "").strip()
    if text.startswith("$argon2"):
        return "argon2", _argon2_params(text), b"", b""
    parts = text.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = (int(x) for x in parts[1:4])
            if not (1 < n <= _MAX_SCRYPT_N and n & (n - 1) == 0 and 0 < r <= 32 and 0 < p <= 16):
                raise BadHash("scrypt parameters out of range")
            return "scrypt", (n, r, p), _unb64(parts[4]), _unb64(parts[5])
        if parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            iterations = int(parts[1])
            if not PBKDF2_MIN_ITERATIONS <= iterations <= 10_000_000:
                raise BadHash(f"pbkdf2 needs {PBKDF2_MIN_ITERATIONS} to 10000000 iterations")
            return "pbkdf2", (iterations,), _unb64(parts[2]), _unb64(parts[3])
    except (ValueError, TypeError) as exc:
        raise BadHash(f"not a valid password hash ({exc})") from None
    raise BadHash("a password hash starts with '$argon2id$' (or, older, 'scrypt$' or 'pbkdf2_sha256$')")


def _argon2_params(text: str) -> tuple[int, ...]:
    """(memory KiB, time cost, parallelism) of an argon2 hash, bounded like scrypt's."""
    parts = text.split("$")
    if len(parts) != 6 or parts[1] not in ("argon2id", "argon2i", "argon2d"):
        raise BadHash("not a valid argon2 hash")
    try:
        params = dict(item.split("=", 1) for item in parts[3].split(","))
        memory, time_cost, lanes = int(params["m"]), int(params["t"]), int(params["p"])
    except (ValueError, KeyError):
        raise BadHash("not a valid argon2 hash (parameters)") from None
    if not (8 <= memory <= _MAX_ARGON2_MEMORY_KIB and 1 <= time_cost <= 20 and 1 <= lanes <= 16):
        raise BadHash("argon2 parameters out of range")
    return memory, time_cost, lanes


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored`; slow on purpose, so call it off the event loop."""
    kind, params, salt, expected = _parse(stored)
    if kind == "argon2":
        hasher, failures = _argon2()
        try:
            return hasher.verify(stored.strip(), password)
        except failures:
            return False
    if kind == "scrypt":
        n, r, p = params
        digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=len(expected))
    else:
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, params[0], dklen=len(expected))
    return hmac.compare_digest(digest, expected)


def same_secret(given: str, expected: str) -> bool:
    """Constant-time equality of two strings (bytes: compare_digest refuses non-ASCII str)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


if __name__ == "__main__":
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise SystemExit("The two passwords differ.")
    print(hash_password(first))
