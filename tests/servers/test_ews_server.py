"""The EWS test server, driven by the real exchangelib client.

These tests pin down that the server answers as exchangelib expects from Exchange 2016,
so that tests of the project's own EWS code can trust it.
"""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from email.message import Message as MimeMessage
from typing import Any

import pytest
from exchangelib import (  # type: ignore[import-untyped, unused-ignore]
    BASIC,
    DELEGATE,
    IMPERSONATION,
    UTC,
    Account,
    Build,
    Configuration,
    Credentials,
    EWSDateTime,
    ExtendedProperty,
    FailFast,
    FaultTolerance,
    FileAttachment,
    Folder,
    Mailbox,
    Message,
    Q,
    Version,
)
from exchangelib.errors import (  # type: ignore[import-untyped, unused-ignore]
    ErrorAccessDenied,
    ErrorImpersonateUserDenied,
    ErrorInvalidRequest,
    ErrorNonExistentMailbox,
    ErrorServerBusy,
    ErrorTimeoutExpired,
    UnauthorizedError,
)
from exchangelib.items import SEND_AND_SAVE_COPY  # type: ignore[import-untyped, unused-ignore]
from exchangelib.protocol import Protocol  # type: ignore[import-untyped, unused-ignore]

from tests.support.ews_server import EwsServer, Rights

BOX = "remiss@kommun.test"
OTHER = "annan@kommun.test"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


class KeyProperty(ExtendedProperty):  # type: ignore[misc]
    distinguished_property_set_id = "PublicStrings"
    property_name = "RemissKey"
    property_type = "String"


class HeaderProperty(ExtendedProperty):  # type: ignore[misc]
    # Exchange writes properties of this set into the message as Internet headers.
    distinguished_property_set_id = "InternetHeaders"
    property_name = "X-Remiss-Key"
    property_type = "String"


@pytest.fixture(autouse=True, scope="module")
def _registered_properties() -> Iterator[None]:
    # Distinct attribute names, so that the project's own registrations cannot collide.
    Message.register("ews_test_key", KeyProperty)
    Message.register("ews_test_header", HeaderProperty)
    yield
    Message.deregister("ews_test_key")
    Message.deregister("ews_test_header")


@pytest.fixture(autouse=True)
def _fresh_protocols() -> Iterator[None]:
    # exchangelib caches one Protocol (sessions, retry policy, TIMEOUT) per endpoint and
    # credentials; a cached one would carry one test's settings into the next.
    Protocol.clear_cache()
    yield
    Protocol.clear_cache()


@pytest.fixture
def ews() -> Iterator[EwsServer]:
    users = {"svc": "hemligt", "app": "app-pw", "nobody": "nobody-pw"}
    rights = {"svc": Rights(delegate=[BOX]), "app": Rights(impersonate=["*"])}
    with EwsServer(users, rights, mailboxes=[OTHER]) as server:
        yield server


def connect(
    ews: EwsServer,
    user: str = "svc",
    password: str | None = None,
    mailbox: str = BOX,
    access_type: str = DELEGATE,
    retry_policy: Any = None,
) -> Account:
    # exchangelib shares one Protocol (retry policy, TIMEOUT, sessions) among all accounts
    # with the same endpoint and credentials, whatever their Configuration says.
    config = Configuration(
        service_endpoint=ews.url,
        credentials=Credentials(user, password if password is not None else ews.users[user]),
        auth_type=BASIC,
        version=Version(build=Build(15, 1, 2507, 6)),
        max_connections=1,
        retry_policy=retry_policy or FailFast(),
    )
    return Account(mailbox, config=config, autodiscover=False, access_type=access_type)


def outgoing(account: Account, subject: str, to: str = "handlaggare@extern.test") -> Message:
    return Message(
        account=account,
        folder=account.sent,
        subject=subject,
        body="Remissen bifogas.",
        to_recipients=[Mailbox(email_address=to)],
    )


def parse(mime: bytes) -> EmailMessage:
    msg = email.message_from_bytes(mime, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_send_and_save_copy_with_attachment_and_extended_property(ews: EwsServer) -> None:
    account = connect(ews)
    key = str(uuid.uuid4())
    msg = outgoing(account, "Remiss: Översiktsplan")
    msg.ews_test_key = key
    msg.attach(FileAttachment(name="remiss.pdf", content=PDF, content_type="application/pdf"))
    msg.send_and_save()

    [sent] = ews.sent_log
    assert sent.recipients == ("handlaggare@extern.test",)
    assert sent.extended_properties == {"RemissKey": key}
    assert parse(sent.mime)["Subject"] == "Remiss: Översiktsplan"
    [copy] = account.sent.filter(ews_test_key=key)
    assert copy.subject == "Remiss: Översiktsplan"
    assert copy.ews_test_key == key
    assert copy.message_id == sent.message_id
    assert copy.is_read
    assert [(a.name, a.content_type, a.size) for a in copy.attachments] == [
        ("remiss.pdf", "application/pdf", len(PDF))
    ]
    assert copy.attachments[0].content == PDF
    assert not list(account.sent.filter(ews_test_key="någon annan"))


def test_bulk_create_of_250_is_three_create_item_calls(ews: EwsServer) -> None:
    account = connect(ews)
    messages = [outgoing(account, f"Remiss {n}") for n in range(250)]
    results = account.bulk_create(
        folder=account.sent, items=messages, message_disposition=SEND_AND_SAVE_COPY
    )

    # Sent messages get no ids back, so exchangelib reports each as plain True.
    assert results == [True] * 250
    assert ews.calls.count("CreateItem") == 3
    assert len(ews.sent_log) == 250
    assert len(ews.items(BOX, "sentitems")) == 250


def test_mime_content_with_extended_property_in_one_create_item(ews: EwsServer) -> None:
    account = connect(ews)
    mime = EmailMessage()
    mime["From"] = BOX
    mime["To"] = "Nämnden <namnd@extern.test>"
    mime["Cc"] = "kopia@extern.test"
    mime["Subject"] = "Remiss via MIME"
    mime["Message-ID"] = "<remiss-1@kommun.test>"
    mime["X-Remiss-Key"] = "mime-key"
    mime.set_content("Hej!")
    mime.add_attachment(PDF, maintype="application", subtype="pdf", filename="remiss.pdf")
    Message(
        account=account, folder=account.sent, mime_content=mime.as_bytes(), ews_test_key="k"
    ).send_and_save()

    [sent] = ews.sent_log
    assert sent.recipients == ("namnd@extern.test", "kopia@extern.test")
    assert sent.message_id == "<remiss-1@kommun.test>"
    assert parse(sent.mime)["X-Remiss-Key"] == "mime-key"
    [copy] = account.sent.filter(ews_test_key="k")
    assert copy.subject == "Remiss via MIME"
    assert [a.name for a in copy.attachments] == ["remiss.pdf"]


def test_send_only_keeps_no_copy(ews: EwsServer) -> None:
    account = connect(ews)
    Message(account=account, subject="Utan kopia", to_recipients=["a@extern.test"]).send(
        save_copy=False
    )
    assert [s.subject for s in ews.sent_log] == ["Utan kopia"]
    assert ews.items(BOX, "sentitems") == []


def report_parts(mime: bytes) -> tuple[EmailMessage, list[MimeMessage], EmailMessage]:
    report = parse(mime)
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    human, status, headers = report.iter_parts()
    assert human.get_content_type() == "text/plain"
    assert status.get_content_type() == "message/delivery-status"
    assert headers.get_content_type() == "text/rfc822-headers"
    blocks = [b for b in status.get_payload() if isinstance(b, MimeMessage)]
    header_bytes = headers.get_payload(decode=True)
    assert isinstance(header_bytes, bytes)
    return report, blocks, parse(header_bytes)


def test_delivery_and_non_delivery_reports_arrive_in_the_senders_inbox(ews: EwsServer) -> None:
    account = connect(ews)
    ews.undeliverable.add("Borta@Extern.test")
    ok = outgoing(account, "Remiss A", to="finns@extern.test")
    ok.is_delivery_receipt_requested = True
    ok.ews_test_header = "key-a"
    ok.send_and_save()
    outgoing(account, "Remiss B", to="borta@extern.test").send_and_save()  # no receipt asked

    [dr] = account.inbox.filter(item_class="REPORT.IPM.Note.DR")
    [ndr] = account.inbox.filter(item_class="REPORT.IPM.Note.NDR")
    assert dr.subject == "Levererat: Remiss A"
    assert ndr.subject == "Kan inte levereras: Remiss B"
    sent_a, sent_b = ews.sent_log

    report, blocks, original = report_parts(dr.mime_content)
    assert blocks[1]["Final-Recipient"] == "rfc822;finns@extern.test"
    assert (blocks[1]["Action"], blocks[1]["Status"]) == ("delivered", "2.0.0")
    assert original["Message-ID"] == sent_a.message_id
    assert original["X-Remiss-Key"] == "key-a"  # from the InternetHeaders property
    assert report["In-Reply-To"] == sent_a.message_id

    _, blocks, original = report_parts(ndr.mime_content)
    assert blocks[1]["Final-Recipient"] == "rfc822;borta@extern.test"
    assert (blocks[1]["Action"], blocks[1]["Status"]) == ("failed", "5.1.1")
    assert original["Message-ID"] == sent_b.message_id


def test_local_recipients_get_the_message(ews: EwsServer) -> None:
    outgoing(connect(ews), "Internt", to=OTHER).send_and_save()
    [delivered] = ews.items(OTHER)
    assert delivered.subject == "Internt"
    assert not delivered.is_read


def test_delivered_reply_with_pdf_is_read_back(ews: EwsServer) -> None:
    reply = EmailMessage()
    reply["From"] = "Nämnden <namnd@extern.test>"
    reply["To"] = BOX
    reply["Subject"] = "SV: Remiss"
    reply["Message-ID"] = "<svar-1@extern.test>"
    reply["In-Reply-To"] = "<remiss-1@kommun.test>"
    reply["References"] = "<remiss-1@kommun.test>"
    reply.set_content("Se bifogat yttrande.")
    reply.add_attachment(PDF, maintype="application", subtype="pdf", filename="yttrande.pdf")
    item_id = ews.deliver(BOX, reply.as_bytes())
    ews.deliver(BOX, b"Subject: Read: Remiss\r\n\r\nRead.\r\n", item_class="REPORT.IPM.Note.IPNRN")
    account = connect(ews)

    [item] = account.inbox.filter(in_reply_to="<remiss-1@kommun.test>")
    assert item.id == item_id
    assert (item.subject, item.author.email_address) == ("SV: Remiss", "namnd@extern.test")
    assert item.references == "<remiss-1@kommun.test>"
    assert not item.is_read
    [att] = item.attachments
    assert (att.name, att.content_type, att.content) == ("yttrande.pdf", "application/pdf", PDF)
    [only_mime] = account.inbox.filter(message_id="<svar-1@extern.test>").only("mime_content")
    assert only_mime.subject is None
    pdf = next(parse(only_mime.mime_content).iter_attachments())
    assert pdf.get_content() == PDF
    [receipt] = account.inbox.filter(item_class="REPORT.IPM.Note.IPNRN")
    assert receipt.subject == "Read: Remiss"


def test_update_categories_read_flag_and_extended_property(ews: EwsServer) -> None:
    ews.deliver(BOX, b"Subject: Svar\r\nMessage-ID: <s@x>\r\n\r\nhej\r\n")
    account = connect(ews)
    [item] = account.inbox.all()
    old_changekey = item.changekey
    item.categories = ["Besvarad", "Remiss"]
    item.is_read = True
    item.ews_test_key = "svar-1"
    item.save(update_fields=["categories", "is_read", "ews_test_key"])
    assert item.changekey != old_changekey

    [fresh] = account.inbox.filter(ews_test_key="svar-1")
    assert (fresh.categories, fresh.is_read) == (["Besvarad", "Remiss"], True)
    assert [i.subject for i in account.inbox.filter(categories__contains=["Remiss"])] == ["Svar"]
    fresh.categories = None
    fresh.ews_test_key = None
    fresh.save(update_fields=["categories", "ews_test_key"])
    [again] = account.inbox.all()
    assert (again.categories, again.ews_test_key, again.is_read) == (None, None, True)


def test_subfolder_and_move(ews: EwsServer) -> None:
    item_id = ews.deliver(BOX, b"Subject: Flytta mig\r\nMessage-ID: <m@x>\r\n\r\nhej\r\n")
    account = connect(ews)
    folder = Folder(parent=account.inbox, name="Remissvar")
    folder.save()
    assert ews.calls.count("CreateFolder") == 1

    # A new client finds it through FindFolder, as exchangelib's folder navigation does.
    other = connect(ews)
    found = other.inbox / "Remissvar"
    assert found.id == folder.id
    assert "Remissvar" in [f.name for f in other.root.walk()]
    [item] = other.inbox.filter(message_id="<m@x>")
    item.move(found)

    assert item.id != item_id  # like Exchange, a moved item gets a new id
    assert not list(other.inbox.filter(message_id="<m@x>"))
    assert [i.subject for i in found.all()] == ["Flytta mig"]
    assert [i.id for i in ews.items(BOX, "Remissvar")] == [item.id]
    item.move_to_trash()
    assert [i.subject for i in ews.items(BOX, "deleteditems")] == ["Flytta mig"]


def test_paging_through_120_inbox_items(ews: EwsServer) -> None:
    for n in range(120):
        ews.deliver(BOX, f"Subject: Svar {n}\r\nMessage-ID: <{n}@x>\r\n\r\nhej\r\n".encode())
    inbox = connect(ews).inbox
    ews.calls.clear()

    subjects = [i.subject for i in inbox.all().only("subject")]
    assert sorted(subjects) == sorted(f"Svar {n}" for n in range(120))
    assert ews.calls == ["FindItem", "FindItem"]  # pages of 100
    assert inbox.all().count() == 120
    assert [i.subject for i in inbox.all().order_by("subject")[:2]] == [
        "Svar 0",
        "Svar 1",
    ]


def test_restrictions(ews: EwsServer) -> None:
    for subject in ("Alfa", "Beta", "Gamma"):
        ews.deliver(BOX, f"Subject: {subject}\r\nMessage-ID: <{subject}@x>\r\n\r\n.\r\n".encode())
    inbox = connect(ews).inbox

    def subjects(qs: Any) -> list[str]:
        return sorted(i.subject for i in qs.only("subject"))

    assert subjects(inbox.filter(subject="alfa")) == ["Alfa"]
    assert subjects(inbox.exclude(subject="Alfa")) == ["Beta", "Gamma"]
    assert subjects(inbox.filter(Q(subject="Alfa") | Q(message_id="<Beta@x>"))) == [
        "Alfa",
        "Beta",
    ]
    assert subjects(inbox.filter(subject__icontains="MM")) == ["Gamma"]
    assert subjects(inbox.filter(subject__startswith="Be")) == ["Beta"]
    assert subjects(inbox.filter(categories__exists=True)) == []
    assert subjects(inbox.filter(~Q(subject="Beta") & Q(item_class="IPM.Note"))) == [
        "Alfa",
        "Gamma",
    ]
    oldest_first = inbox.all().order_by("datetime_received").only("subject")
    assert [i.subject for i in oldest_first] == ["Alfa", "Beta", "Gamma"]
    newest_first = inbox.all().order_by("-datetime_received").only("subject")
    assert [i.subject for i in newest_first] == ["Gamma", "Beta", "Alfa"]
    assert subjects(inbox.filter(datetime_received__gt=EWSDateTime(2000, 1, 1, tzinfo=UTC))) == [
        "Alfa",
        "Beta",
        "Gamma",
    ]
    assert subjects(inbox.filter(datetime_received__lt=EWSDateTime(2000, 1, 1, tzinfo=UTC))) == []


def test_wrong_password_is_unauthorized(ews: EwsServer) -> None:
    with pytest.raises(UnauthorizedError):
        connect(ews, password="fel").inbox  # noqa: B018


def test_delegate_without_rights_is_denied(ews: EwsServer) -> None:
    with pytest.raises(ErrorAccessDenied):
        connect(ews, user="nobody").inbox  # noqa: B018
    with pytest.raises(ErrorNonExistentMailbox):
        connect(ews, mailbox="finns-inte@kommun.test").inbox  # noqa: B018


def test_impersonation(ews: EwsServer) -> None:
    with pytest.raises(ErrorImpersonateUserDenied):
        connect(ews, access_type=IMPERSONATION).inbox  # noqa: B018
    app = connect(ews, user="app", mailbox=OTHER, access_type=IMPERSONATION)
    outgoing(app, "Som annan").send_and_save()
    assert [(s.mailbox, s.subject) for s in ews.sent_log] == [(OTHER, "Som annan")]


def test_unsupported_operation_is_an_invalid_request(ews: EwsServer) -> None:
    with pytest.raises(ErrorInvalidRequest):
        connect(ews).oof_settings  # noqa: B018


def test_busy_is_retried_with_fault_tolerance(ews: EwsServer) -> None:
    account = connect(ews, retry_policy=FaultTolerance(max_wait=5))
    msg = outgoing(account, "Trots allt")
    ews.fail_next("CreateItem", "busy", count=2, back_off_ms=20)
    msg.send_and_save()
    assert ews.calls.count("CreateItem") == 3
    assert len(ews.sent_log) == 1


def test_busy_with_fail_fast_raises_with_back_off(ews: EwsServer) -> None:
    account = connect(ews)
    ews.fail_next(None, "busy", back_off_ms=1500)
    with pytest.raises(ErrorServerBusy) as raised:
        account.inbox  # noqa: B018
    assert raised.value.back_off == 1.5


def test_503(ews: EwsServer) -> None:
    account = connect(ews)
    ews.fail_next("GetFolder", "503")
    with pytest.raises(ErrorServerBusy):  # exchangelib re-raises the transient 503 as busy
        account.inbox  # noqa: B018

    # Another user: the same credentials would get the cached FailFast protocol back.
    tolerant = connect(ews, user="app", access_type=IMPERSONATION, retry_policy=FaultTolerance(5))
    tolerant.protocol.RETRY_WAIT = 0.05
    ews.fail_next("GetFolder", "503")
    assert tolerant.inbox.name == "Inbox"


@pytest.mark.parametrize("kind", ["timeout_after_create", "drop_after_create"])
def test_lost_answer_after_the_message_was_sent(ews: EwsServer, kind: str) -> None:
    account = connect(ews)
    account.protocol.TIMEOUT = 1
    msg = outgoing(account, "Tvetydigt")
    msg.ews_test_key = "k-lost"
    ews.fail_next("CreateItem", kind, hang=3)
    with pytest.raises(ErrorTimeoutExpired):
        msg.send_and_save()

    assert [s.subject for s in ews.sent_log] == ["Tvetydigt"]
    [copy] = account.sent.filter(ews_test_key="k-lost")  # the client recovers
    assert copy.subject == "Tvetydigt"


def test_random_faults_latency_and_calls(ews: EwsServer) -> None:
    account = connect(ews, retry_policy=FaultTolerance(max_wait=5))
    ews.latency = 0.01
    ews.fail_rate(0.5, kinds=("busy",), ops=("CreateItem",), seed=7, back_off_ms=1)
    for n in range(6):
        outgoing(account, f"Brus {n}").send_and_save()
    ews.fail_rate(0)
    assert len(ews.sent_log) == 6
    assert ews.calls.count("CreateItem") > 6
    with pytest.raises(ValueError, match="unknown fault kind"):
        ews.fail_next("CreateItem", "explode")
