"""Answer-link tokens: random, shown once in the e-mail, stored only as a hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

TOKEN_BYTES = 24  # 192 bits


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), stored_hash)


def new_nonce() -> str:
    return secrets.token_hex(16)  # 128 bits


def derive_token(secret_key: bytes, dispatch_id: int, nonce: str) -> str:
    """The link token for a dispatch: only the server, holding the key, can make it again."""
    mac = hmac.new(secret_key, f"remiss-link:{dispatch_id}:{nonce}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")
