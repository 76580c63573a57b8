"""Password hashes and secret comparison for logins (spec J1).

A stored password is `scrypt$<n>$<r>$<p>$<salt>$<hash>` (base64, no padding);
`pbkdf2_sha256$<iterations>$<salt>$<hash>` is accepted too, for hashes made
where scrypt is missing. Every comparison is constant-time.

    python -m core.security_passwords      # asks for a password, prints its hash
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import secrets

# n=2**14, r=8: 16 MiB and some 50 ms per check, which is what makes guessing offline slow.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
PBKDF2_MIN_ITERATIONS = 100_000
_MAX_SCRYPT_N = 2**20  # a hash from a settings file must not make each login take minutes
_MAXMEM = 1024 * 2**20


class BadHash(ValueError):
    """A stored password hash that cannot be used."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("An empty password protects nothing.")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=_MAXMEM)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_hash(stored: str) -> str:
    """The hash if it is one this module can verify, else BadHash with the reason."""
    _parse(stored)
    return stored


def _parse(stored: str) -> tuple[str, tuple[int, ...], bytes, bytes]:
    parts = (stored or "").strip().split("$")
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
    raise BadHash("a password hash starts with 'scrypt$' or 'pbkdf2_sha256$'")


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored`; slow on purpose, so call it off the event loop."""
    kind, params, salt, expected = _parse(stored)
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
