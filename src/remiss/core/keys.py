"""What is derived from a message's idempotency key, so that a reply leads back to it."""

from __future__ import annotations

import hashlib


def message_ref(idempotency_key: str) -> str:
    """The local part of the message's Message-ID: stable per key, and stored to look up."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def subject_tag(dispatch_id: int, round_uid: str) -> str:
    return f"[Remiss-ID {dispatch_id}-{round_uid[:6]}]"
