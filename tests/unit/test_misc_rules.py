"""Small rules: Swedish lists and sizes, answer-link tokens, and stale send claims."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re

import pytest

from remiss.core.rendering import file_size, swedish_list
from remiss.core.tokens import TOKEN_BYTES, hash_token, new_token, token_matches
from remiss.outbox.sending import claim_is_stale

# --- swedish_list and file_size ------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "text"),
    [
        ([], ""),
        (["Bromma"], "Bromma"),
        (["Bromma", "Farsta"], "Bromma och Farsta"),
        (["Bromma", "Farsta", "Järva"], "Bromma, Farsta och Järva"),
        (("M", "L", "C", "KD"), "M, L, C och KD"),
    ],
)
def test_swedish_list_joins_with_commas_and_och_without_oxford_comma(
    items: list[str] | tuple[str, ...], text: str
) -> None:
    assert swedish_list(items) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 byte"),
        (1, "1 byte"),
        (1023, "1023 byte"),
        (1024, "1 kB"),
        (10 * 1024, "10 kB"),
        (300 * 1024 + 100, "300 kB"),
        (1024 * 1024, "1,0 MB"),
        (5 * 1024 * 1024 // 2, "2,5 MB"),
        (12 * 1024 * 1024, "12,0 MB"),
    ],
)
def test_file_size_uses_byte_kb_and_mb_with_a_decimal_comma(size: int, text: str) -> None:
    assert file_size(size) == text


# --- tokens --------------------------------------------------------------------------------


def _decoded_length(token: str) -> int:
    return len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def test_a_new_token_carries_at_least_128_random_bits() -> None:
    token = new_token()
    assert TOKEN_BYTES * 8 >= 128
    assert _decoded_length(token) * 8 >= 128
    assert len(token) >= 22


def test_a_new_token_is_url_safe() -> None:
    for _ in range(100):
        assert re.fullmatch(r"[A-Za-z0-9_-]+", new_token())


def test_new_tokens_do_not_repeat() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000


def test_hash_token_is_the_sha256_hex_digest() -> None:
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    token = new_token()
    assert hash_token(token) == hash_token(token)
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", hash_token(token))


def test_hash_token_does_not_contain_the_token() -> None:
    token = new_token()
    assert token not in hash_token(token)
    assert hash_token(token) != hash_token(token + "x")


def test_token_matches_only_its_own_hash() -> None:
    token = new_token()
    stored = hash_token(token)
    assert token_matches(token, stored)
    assert not token_matches(new_token(), stored)
    assert not token_matches(token[:-1], stored)
    assert not token_matches(stored, stored)
    assert not token_matches(token, stored.upper())


# --- claim_is_stale ------------------------------------------------------------------------

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
LEASE = 300
HOST = "remiss-01"


def _alive(pid: int) -> bool:
    return True


def _dead(pid: int) -> bool:
    return False


def _never_asked(pid: int) -> bool:
    raise AssertionError(f"pid {pid} on another host must not be looked up here")


def test_a_fresh_claim_by_a_live_process_on_this_host_is_not_stale() -> None:
    asked: list[int] = []

    def alive(pid: int) -> bool:
        asked.append(pid)
        return True

    assert not claim_is_stale(
        claimed_at=NOW - dt.timedelta(seconds=10),
        claimed_by=f"{HOST}:4242",
        now=NOW,
        lease_seconds=LEASE,
        host=HOST,
        pid_alive=alive,
    )
    assert asked == [4242]


def test_a_claim_by_a_dead_process_on_this_host_is_stale_at_once() -> None:
    assert claim_is_stale(
        claimed_at=NOW,
        claimed_by=f"{HOST}:4242",
        now=NOW,
        lease_seconds=LEASE,
        host=HOST,
        pid_alive=_dead,
    )


def test_a_claim_from_another_host_waits_for_the_lease() -> None:
    def stale_after(seconds: int) -> bool:
        return claim_is_stale(
            claimed_at=NOW - dt.timedelta(seconds=seconds),
            claimed_by="remiss-02:4242",
            now=NOW,
            lease_seconds=LEASE,
            host=HOST,
            pid_alive=_never_asked,
        )

    assert not stale_after(0)
    assert not stale_after(LEASE - 1)
    assert stale_after(LEASE)
    assert stale_after(LEASE + 3600)


def test_a_claim_by_a_live_process_on_this_host_is_stale_after_the_lease() -> None:
    assert claim_is_stale(
        claimed_at=NOW - dt.timedelta(seconds=LEASE),
        claimed_by=f"{HOST}:4242",
        now=NOW,
        lease_seconds=LEASE,
        host=HOST,
        pid_alive=_alive,
    )


def test_a_claim_without_claimed_at_is_stale() -> None:
    assert claim_is_stale(
        claimed_at=None,
        claimed_by=f"{HOST}:4242",
        now=NOW,
        lease_seconds=LEASE,
        host=HOST,
        pid_alive=_alive,
    )


@pytest.mark.parametrize("claimed_by", [None, "", HOST, f"{HOST}:", f"{HOST}:pid"])
def test_a_claim_with_an_unreadable_owner_waits_for_the_lease(claimed_by: str | None) -> None:
    def stale_after(seconds: int) -> bool:
        return claim_is_stale(
            claimed_at=NOW - dt.timedelta(seconds=seconds),
            claimed_by=claimed_by,
            now=NOW,
            lease_seconds=LEASE,
            host=HOST,
            pid_alive=_never_asked,
        )

    assert not stale_after(1)
    assert stale_after(LEASE)


def test_a_host_name_that_contains_colons_is_matched_whole() -> None:
    assert claim_is_stale(
        claimed_at=NOW,
        claimed_by="fe80::1:99",
        now=NOW,
        lease_seconds=LEASE,
        host="fe80::1",
        pid_alive=_dead,
    )
    assert not claim_is_stale(
        claimed_at=NOW,
        claimed_by="fe80::1:99",
        now=NOW,
        lease_seconds=LEASE,
        host="fe80::2",
        pid_alive=_never_asked,
    )


def test_exchange_calls_carry_as_many_messages_as_fit_under_the_size_limit_at_least_one() -> None:
    from remiss.mail.exchange import _call_sizes

    assert _call_sizes([10, 10, 10, 25, 5], limit=20) == [2, 1, 1, 1]
    assert _call_sizes([5] * 100, limit=1000) == [100]
    assert _call_sizes([], limit=20) == []
