"""OutgoingEmail.mime_bytes() writes what to_mime().as_bytes() writes, byte for byte."""

from __future__ import annotations

import email
import os
import random

import pytest

from remiss.mail import Attachment, OutgoingEmail
from remiss.mail import base as mail_base
from tests.conftest import EXAMPLE_CASE

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = (EXAMPLE_CASE.parent / "motion.pdf").read_bytes()


def message(*attachments: Attachment) -> OutgoingEmail:
    return OutgoingEmail(
        idempotency_key="remiss-ks-2025-348/socialnamnden/missiv/0",
        to=("registrator.socialnamnden@stockholm.se",),
        subject="Remiss: Motion om fler bänkar i parkerna, KS 2025/348 [remiss:1.ab12]",
        text="Hej!\n\nSocialnämnden får remissen för yttrande. Svara senast den 15 januari.\n",
        html="<html lang='sv'><body><p>Hej! Svara senast den 15 januari.</p></body></html>",
        sender="remiss@stockholm.se",
        sender_name="Stadsledningskontoret, Stockholms stad",
        reply_to="remiss@stockholm.se",
        attachments=attachments,
    )


@pytest.mark.parametrize(
    "attachments",
    [
        pytest.param((), id="no attachment"),
        pytest.param((Attachment("motion.pdf", "application/pdf", PDF),), id="the demo's PDF"),
        pytest.param(
            (Attachment("handling.pdf", "application/pdf", os.urandom(3 * 1024 * 1024)),),
            id="3 MB",
        ),
        pytest.param(
            (
                Attachment("motion.pdf", "application/pdf", PDF),
                Attachment("Tjänsteutlåtande åäö.docx", DOCX, b"PK\x03\x04" + os.urandom(5000)),
                Attachment("tom.txt", "text/plain", b""),
                Attachment("57.bin", "application/octet-stream", b"x" * 57),
                Attachment("58.bin", "application/octet-stream", b"x" * 58),
            ),
            id="several, of every length around a line",
        ),
    ],
)
def test_the_fast_mime_is_the_email_packages_mime_byte_for_byte(
    attachments: tuple[Attachment, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail_base, "formatdate", lambda **_: "Mon, 07 Dec 2026 20:00:00 +0000")
    email = message(*attachments)
    for _ in range(2):  # the second time from the kept encodings
        random.seed(20261207)  # the MIME boundaries
        slow = email.to_mime().as_bytes()
        random.seed(20261207)
        assert email.mime_bytes() == slow


def test_messages_that_share_their_attachment_each_carry_it_whole() -> None:
    shared = Attachment("motion.pdf", "application/pdf", PDF)
    first = message(shared).mime_bytes()
    second = message(
        shared, Attachment("bilaga.pdf", "application/pdf", b"%PDF-1.4 a")
    ).mime_bytes()
    for raw in (first, second):
        parts = list(email.message_from_bytes(raw).walk())
        pdfs = [p.get_payload(decode=True) for p in parts if p.get_filename() == "motion.pdf"]
        assert pdfs == [PDF]
