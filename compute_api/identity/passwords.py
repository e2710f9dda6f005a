"""Password hashing with scrypt (hashlib), in a self-describing format."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# RFC 7914 interactive-login parameters: about 16 MiB and tens of milliseconds.
N, R, P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return "$".join(["scrypt", str(N), str(R), str(P), base64.b64encode(salt).decode(),
                     base64.b64encode(digest).decode()])


def check_password(password: str, stored: str | None) -> bool:
    """True if ``password`` matches ``stored``; False for any malformed or empty hash."""
    if not stored:
        # Still spend the time, so a missing user is not told apart by timing.
        hashlib.scrypt(password.encode(), salt=b"\0" * 16, n=N, r=R, p=P, dklen=32)
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                                  r=int(r), p=int(p), dklen=32)
    except ValueError:
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))
