"""An in-process Exchange Web Services (EWS) server for tests, spoken to by the real exchangelib.

It answers SOAP over HTTP at ``/EWS/Exchange.asmx`` the way an Exchange 2016 server
(15.1.2507.6) does, in the shapes exchangelib 5.6 parses, and keeps mailboxes in memory:
folders with distinguished ids (root, msgfolderroot, inbox, sentitems, drafts,
deleteditems, outbox, junkemail) and user-created ones, and items stored as their MIME
content plus the properties EWS keeps beside it (item class, read flag, categories,
extended properties, receipt requests). Sending records each message in ``sent_log``,
delivers it to recipients that have a mailbox here, and generates RFC 3464 delivery and
non-delivery reports into the sender's inbox, as Exchange does.

Operations: GetFolder, FindFolder, CreateFolder, CreateItem (SaveOnly, SendOnly,
SendAndSaveCopy; MimeContent and/or ordinary fields), SendItem, GetItem, FindItem
(IndexedPageItemView paging, restrictions, sort order), UpdateItem, MoveItem, DeleteItem
and GetAttachment. Any other operation gets an ErrorInvalidRequest response message.

Faults can be injected per operation (``fail_next``) or at random (``fail_rate``): an
ErrorServerBusy SOAP fault, HTTP 503, and a request that is carried out but whose answer
never arrives (the ambiguous failure a sender must survive). ``latency`` slows every answer.

Limits, on purpose: HTTP Basic authentication only (no NTLM, OAuth or autodiscover); no
TLS; one server version; no calendar, contacts or tasks; attachments are file attachments
(an attached message/rfc822 is returned as a file); only the first level of a message's
parts counts as attachments; restrictions cover IsEqualTo, IsNotEqualTo, the ordering
comparisons, Exists, Contains, And, Or and Not, and string comparisons ignore case;
UpdateItem applies IsRead, Categories, Subject, the receipt flags and extended properties
and accepts (without effect) any other field, so that exchangelib's ``item.save()`` works.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import itertools
import random
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, make_msgid, parsedate_to_datetime
from functools import cached_property, partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, TypeVar

__all__ = ["EwsServer", "ExtendedKey", "Rights", "SentMessage", "StoredFolder", "StoredItem"]

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
M_NS = "http://schemas.microsoft.com/exchange/services/2006/messages"
T_NS = "http://schemas.microsoft.com/exchange/services/2006/types"
E_NS = "http://schemas.microsoft.com/exchange/services/2006/errors"
NS = {"s": SOAP_NS, "m": M_NS, "t": T_NS}
for _prefix, _uri in (("s", SOAP_NS), ("m", M_NS), ("t", T_NS), ("e", E_NS)):
    ET.register_namespace(_prefix, _uri)

SERVER_VERSION = (
    '<h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" '
    'MinorBuildNumber="6" Version="V2017_07_11" xmlns:h="' + T_NS + '" '
    'xmlns="' + T_NS + '" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
)
FAULT_KINDS = frozenset(
    {"busy", "503", "timeout", "drop", "timeout_after_create", "drop_after_create"}
)
# (distinguished id, display name, parent distinguished id)
DISTINGUISHED_FOLDERS: tuple[tuple[str, str, str | None], ...] = (
    ("root", "", None),
    ("msgfolderroot", "Top of Information Store", "root"),
    ("inbox", "Inbox", "msgfolderroot"),
    ("sentitems", "Sent Items", "msgfolderroot"),
    ("drafts", "Drafts", "msgfolderroot"),
    ("deleteditems", "Deleted Items", "msgfolderroot"),
    ("outbox", "Outbox", "msgfolderroot"),
    ("junkemail", "Junk Email", "msgfolderroot"),
)
# Exchange resolves distinguished property set names to their GUIDs, so a property
# written under one spelling must be found under the other.
PROPERTY_SETS = {
    "Address": "00062004-0000-0000-c000-000000000046",
    "Appointment": "00062002-0000-0000-c000-000000000046",
    "Common": "00062008-0000-0000-c000-000000000046",
    "InternetHeaders": "00020386-0000-0000-c000-000000000046",
    "Meeting": "6ed8da90-450b-101b-98da-00aa003f1305",
    "PublicStrings": "00020329-0000-0000-c000-000000000046",
    "Sharing": "00062040-0000-0000-c000-000000000046",
    "Task": "00062003-0000-0000-c000-000000000046",
    "UnifiedMessaging": "4442858e-a9e3-4e80-b900-317a210cc15b",
}
_DATETIME_URIS = {"item:DateTimeReceived", "item:DateTimeSent", "item:DateTimeCreated"}
_BOOL_URIS = {"message:IsRead", "item:HasAttachments", "message:IsDeliveryReceiptRequested"}
_PARSE_POLICY = email.policy.default
_WIRE_POLICY = email.policy.SMTP  # CRLF line ends, as in the MimeContent Exchange returns


_T = TypeVar("_T")


def _kids(elem: ET.Element | None) -> list[ET.Element]:
    # Element truthiness means "has children" and warns; be explicit about None.
    return [] if elem is None else list(elem)


def _t(name: str) -> str:
    return f"{{{T_NS}}}{name}"


def _m(name: str) -> str:
    return f"{{{M_NS}}}{name}"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    elem = ET.SubElement(parent, tag, attrs)
    if text is not None:
        elem.text = text
    return elem


def _text(elem: ET.Element | None, path: str, default: str = "") -> str:
    found = None if elem is None else elem.find(path, NS)
    return default if found is None or found.text is None else found.text


def _is_true(value: str) -> bool:
    # xs:boolean; exchangelib writes "1"/"0", other clients "true"/"false".
    return value.strip().lower() in ("true", "1")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _ews_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


class EwsError(Exception):
    """An EWS ResponseCode for one unit of a request (one folder, one item)."""

    def __init__(self, code: str, text: str = "") -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text or code


class _SoapFault(Exception):
    """An error Exchange reports for the whole request, as a SOAP Fault (HTTP 500)."""

    def __init__(self, code: str, text: str, back_off_ms: int | None = None) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text
        self.back_off_ms = back_off_ms


# Ids are opaque to clients, as in Exchange, but carry the mailbox so that a request
# naming only ids can be routed and its rights checked.
def _make_id(kind: str, mailbox: str, *numbers: int) -> str:
    raw = "|".join([kind, mailbox, *map(str, numbers)])
    return base64.b64encode(raw.encode()).decode()


def _parse_id(value: str, kind: str) -> tuple[str, list[int]]:
    try:
        parts = base64.b64decode(value, validate=True).decode().split("|")
        if parts[0] != kind or len(parts) < 3:
            raise ValueError(value)
        return parts[1], [int(p) for p in parts[2:]]
    except (ValueError, UnicodeDecodeError) as exc:
        raise EwsError("ErrorInvalidIdMalformed", f"Id is malformed: {value!r}") from exc


def _changekey(version: int) -> str:
    return base64.b64encode(f"CQAAABYAAAC|{version}".encode()).decode()


# --------------------------------------------------------------------------- model


class Rights:
    """What one user may open: mailboxes as delegate, and mailboxes it may impersonate
    ("*" = the ApplicationImpersonation role over every mailbox)."""

    def __init__(self, delegate: Iterable[str] = (), impersonate: Iterable[str] = ()) -> None:
        self.delegate = frozenset(a.lower() for a in delegate)
        self.impersonate = frozenset(a.lower() for a in impersonate)

    def __repr__(self) -> str:
        return f"Rights(delegate={set(self.delegate)}, impersonate={set(self.impersonate)})"


@dataclass(frozen=True)
class ExtendedKey:
    """The identity of a MAPI property, normalised as Exchange does when matching."""

    property_set: str | None
    tag: int | None
    name: str | None
    id: int | None
    type: str

    @classmethod
    def from_xml(cls, uri: ET.Element) -> ExtendedKey:
        distinguished = uri.get("DistinguishedPropertySetId")
        set_id = uri.get("PropertySetId")
        tag, prop_id = uri.get("PropertyTag"), uri.get("PropertyId")
        return cls(
            property_set=(
                PROPERTY_SETS.get(distinguished, distinguished) if distinguished else None
            )
            or (set_id.lower() if set_id else None),
            tag=int(tag, 0) if tag else None,
            name=uri.get("PropertyName"),
            id=int(prop_id, 0) if prop_id else None,
            type=uri.get("PropertyType", "String"),
        )

    @property
    def label(self) -> str:
        if self.name is not None:
            return self.name
        return hex(self.tag) if self.tag is not None else str(self.id)


@dataclass
class StoredFolder:
    id: str
    name: str
    parent_id: str | None
    distinguished: str | None = None
    folder_class: str | None = "IPF.Note"
    element: str = "Folder"
    version: int = 1

    @property
    def changekey(self) -> str:
        return _changekey(self.version)


@dataclass(frozen=True)
class _Attachment:
    name: str
    content_type: str
    content: bytes
    content_id: str | None
    is_inline: bool


@dataclass
class StoredItem:
    """One item. Its MIME content is the source of truth for headers, body and
    attachments; the other fields are the properties EWS keeps beside it."""

    seq: int
    id: str
    mailbox: str
    folder_id: str
    item_class: str
    mime: bytes
    received: datetime
    sent: datetime | None = None
    is_read: bool = False
    is_draft: bool = False
    categories: list[str] = field(default_factory=list)
    extended: dict[ExtendedKey, str | list[str]] = field(default_factory=dict)
    delivery_receipt_requested: bool = False
    read_receipt_requested: bool = False
    bcc: list[tuple[str, str]] = field(default_factory=list)
    element: str = "Message"
    version: int = 1

    @property
    def changekey(self) -> str:
        return _changekey(self.version)

    @cached_property
    def message(self) -> EmailMessage:
        return _parse_mime(self.mime)

    def header(self, name: str) -> str:
        value = self.message.get(name)
        return "" if value is None else str(value).strip()

    def addresses(self, name: str) -> list[tuple[str, str]]:
        values = [str(v) for v in self.message.get_all(name, [])]
        return [(n, a) for n, a in getaddresses(values) if a]

    @property
    def subject(self) -> str:
        return self.header("Subject")

    @property
    def message_id(self) -> str:
        return self.header("Message-ID")

    @cached_property
    def attachments(self) -> list[_Attachment]:
        if self.item_class.startswith("REPORT."):
            # Exchange shows a report's parts as its recipient table, not as attachments.
            return []
        found: list[_Attachment] = []
        for part in self.message.iter_attachments():
            if part.get_content_type() == "message/rfc822":
                inner = part.get_payload(0)
                content = inner.as_bytes() if isinstance(inner, email.message.Message) else b""
            else:
                payload = part.get_payload(decode=True)
                content = payload if isinstance(payload, bytes) else b""
            cid = part.get("Content-ID")
            found.append(
                _Attachment(
                    name=part.get_filename() or f"ATT{len(found) + 1:05d}",
                    content_type=part.get_content_type(),
                    content=content,
                    content_id=str(cid).strip("<> ") if cid else None,
                    is_inline=part.get_content_disposition() == "inline",
                )
            )
        return found


@dataclass(frozen=True)
class SentMessage:
    """One message as it left the server (``EwsServer.sent_log``)."""

    mailbox: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    message_id: str
    mime: bytes
    extended_properties: dict[str, str | list[str]]
    delivery_receipt_requested: bool
    time: datetime


@dataclass
class _Mailbox:
    address: str
    folders: dict[str, StoredFolder] = field(default_factory=dict)
    items: dict[str, StoredItem] = field(default_factory=dict)

    def distinguished(self, name: str) -> StoredFolder:
        for folder in self.folders.values():
            if folder.distinguished == name:
                return folder
        raise EwsError("ErrorFolderNotFound", f"The distinguished folder {name!r} does not exist.")

    def children(self, folder_id: str) -> list[StoredFolder]:
        return [f for f in self.folders.values() if f.parent_id == folder_id]

    def descendants(self, folder_id: str) -> list[StoredFolder]:
        found = []
        for child in self.children(folder_id):
            found.append(child)
            found.extend(self.descendants(child.id))
        return found

    def items_in(self, folder_id: str) -> list[StoredItem]:
        return [i for i in self.items.values() if i.folder_id == folder_id]


# --------------------------------------------------------------------------- MIME


def _parse_mime(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=_PARSE_POLICY)
    assert isinstance(msg, EmailMessage)
    return msg


def _header_block(mime: bytes) -> bytes:
    end = min((i for i in (mime.find(b"\r\n\r\n"), mime.find(b"\n\n")) if i >= 0), default=-1)
    block = mime if end < 0 else mime[:end]
    return block.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n"


def _build_report(
    original: StoredItem, sender: str, recipients: list[str], failed: bool, domain: str
) -> bytes:
    """An RFC 3464 delivery status notification about ``original``, as Exchange writes it."""
    boundary = f"_report_{uuid.uuid4().hex}"
    subject = ("Kan inte levereras: " if failed else "Levererat: ") + original.subject
    if failed:
        human = "Meddelandet kunde inte levereras till följande mottagare:\r\n\r\n"
    else:
        human = "Meddelandet har levererats till följande mottagare:\r\n\r\n"
    human += "".join(f"{r}\r\n" for r in recipients) + f"\r\nÄmne: {original.subject}\r\n"
    now = format_datetime(_now())
    per_recipient = []
    for rcpt in recipients:
        block = [f"Final-Recipient: rfc822;{rcpt}"]
        if failed:
            block += [
                "Action: failed",
                "Status: 5.1.1",
                "Diagnostic-Code: smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
            ]
        else:
            block += ["Action: delivered", "Status: 2.0.0"]
        per_recipient.append("\r\n".join(block) + "\r\n")
    status = f"Reporting-MTA: dns;mail.{domain}\r\nArrival-Date: {now}\r\n\r\n" + "\r\n".join(
        per_recipient
    )
    orig_id = original.message_id
    fold = _WIRE_POLICY.fold
    head = (
        fold("From", f"Microsoft Outlook <postmaster@{domain}>")
        + fold("To", f"<{sender}>")
        + fold("Date", now)
        + fold("Subject", subject)
        + fold("Message-ID", make_msgid(domain=domain))
        + (fold("In-Reply-To", orig_id) + fold("References", orig_id) if orig_id else "")
        + "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        + f'\tboundary="{boundary}"\r\n'
        + ("X-MS-Exchange-Message-Is-Ndr: \r\n" if failed else "")
    )
    human_b64 = base64.encodebytes(human.encode()).decode().replace("\n", "\r\n")
    parts = [
        head.encode(),
        f"\r\n--{boundary}\r\n".encode(),
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        human_b64.encode(),
        f"\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n".encode(),
        status.encode(),
        f"\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n".encode(),
        _header_block(original.mime),
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    return b"".join(parts)


@dataclass
class _Draft:
    """The fields of a ``t:Message`` in a CreateItem request."""

    mime: bytes | None = None
    element: str = "Message"
    item_class: str | None = None
    subject: str | None = None
    body: tuple[str, str] | None = None  # (BodyType, text)
    to: list[tuple[str, str]] | None = None
    cc: list[tuple[str, str]] | None = None
    bcc: list[tuple[str, str]] | None = None
    reply_to: list[tuple[str, str]] | None = None
    author: tuple[str, str] | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: str | None = None
    is_read: bool = False
    delivery_receipt: bool = False
    read_receipt: bool = False
    categories: list[str] = field(default_factory=list)
    extended: dict[ExtendedKey, str | list[str]] = field(default_factory=dict)
    attachments: list[_Attachment] = field(default_factory=list)


def _mailboxes(elem: ET.Element | None) -> list[tuple[str, str]]:
    if elem is None:
        return []
    return [
        (_text(mb, "t:Name"), _text(mb, "t:EmailAddress"))
        for mb in elem.findall("t:Mailbox", NS)
        if _text(mb, "t:EmailAddress")
    ]


def _extended_value(prop: ET.Element) -> str | list[str]:
    values = prop.find("t:Values", NS)
    if values is not None:
        return [v.text or "" for v in values.findall("t:Value", NS)]
    return _text(prop, "t:Value")


def _parse_draft(elem: ET.Element) -> _Draft:
    draft = _Draft(element=_local(elem.tag))
    mime = elem.find("t:MimeContent", NS)
    if mime is not None and mime.text:
        draft.mime = base64.b64decode(mime.text)
    for child in elem:
        name, value = _local(child.tag), child.text or ""
        if name == "ItemClass":
            draft.item_class = value
        elif name == "Subject":
            draft.subject = value
        elif name == "Body":
            draft.body = (child.get("BodyType", "Text"), value)
        elif name in ("ToRecipients", "CcRecipients", "BccRecipients", "ReplyTo"):
            attr = {"ToRecipients": "to", "CcRecipients": "cc", "BccRecipients": "bcc"}
            setattr(draft, attr.get(name, "reply_to"), _mailboxes(child))
        elif name == "From":
            found = _mailboxes(child)
            draft.author = found[0] if found else None
        elif name == "InternetMessageId":
            draft.message_id = value
        elif name == "InReplyTo":
            draft.in_reply_to = value
        elif name == "References":
            draft.references = value
        elif name == "IsRead":
            draft.is_read = _is_true(value)
        elif name == "IsDeliveryReceiptRequested":
            draft.delivery_receipt = _is_true(value)
        elif name == "IsReadReceiptRequested":
            draft.read_receipt = _is_true(value)
        elif name == "Categories":
            draft.categories = [s.text or "" for s in child.findall("t:String", NS)]
        elif name == "ExtendedProperty":
            uri = child.find("t:ExtendedFieldURI", NS)
            if uri is not None:
                draft.extended[ExtendedKey.from_xml(uri)] = _extended_value(child)
        elif name == "Attachments":
            for att in child:
                if _local(att.tag) != "FileAttachment":
                    raise EwsError("ErrorInvalidRequest", "Only file attachments are supported.")
                draft.attachments.append(
                    _Attachment(
                        name=_text(att, "t:Name", "attachment"),
                        content_type=_text(att, "t:ContentType", "application/octet-stream"),
                        content=base64.b64decode(_text(att, "t:Content")),
                        content_id=_text(att, "t:ContentId") or None,
                        is_inline=_is_true(_text(att, "t:IsInline")),
                    )
                )
    return draft


def _compose(draft: _Draft, owner: str, domain: str) -> tuple[bytes, list[tuple[str, str]]]:
    """The MIME content Exchange would store for ``draft``, and the Bcc recipients
    (kept out of the MIME so that they do not travel with the message)."""
    changed = draft.mime is None
    msg = _parse_mime(draft.mime) if draft.mime is not None else EmailMessage(_PARSE_POLICY)

    def put(name: str, value: str | None) -> None:
        nonlocal changed
        if value is not None:
            del msg[name]
            msg[name] = value
            changed = True

    def addrs(values: list[tuple[str, str]] | None) -> str | None:
        return None if not values else ", ".join(formataddr(v) for v in values)

    bcc = draft.bcc or [(n, a) for n, a in getaddresses([str(v) for v in msg.get_all("Bcc", [])])]
    if "Bcc" in msg:
        del msg["Bcc"]
        changed = True
    if "From" not in msg or draft.author:
        put("From", formataddr(draft.author or ("", owner)))
    put("To", addrs(draft.to))
    put("Cc", addrs(draft.cc))
    put("Reply-To", addrs(draft.reply_to))
    put("Subject", draft.subject)
    put("In-Reply-To", draft.in_reply_to)
    put("References", draft.references)
    put(
        "Message-ID",
        draft.message_id or (None if "Message-ID" in msg else make_msgid(domain=domain)),
    )
    if "Date" not in msg:
        put("Date", format_datetime(_now()))
    if draft.read_receipt and "Disposition-Notification-To" not in msg:
        put("Disposition-Notification-To", str(msg["From"]))
    for key, value in draft.extended.items():
        # Exchange turns properties in the InternetHeaders set into headers of the message.
        if (
            key.property_set == PROPERTY_SETS["InternetHeaders"]
            and key.name
            and isinstance(value, str)
        ):
            put(key.name, value)
    if draft.mime is None:
        body_type, body = draft.body or ("Text", "")
        msg.set_content(body, subtype="html" if body_type == "HTML" else "plain")
    for att in draft.attachments:
        maintype, _, subtype = att.content_type.partition("/")
        msg.add_attachment(
            att.content,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=att.name,
            disposition="inline" if att.is_inline else "attachment",
            cid=f"<{att.content_id}>" if att.content_id else None,
        )
        changed = True
    mime = msg.as_bytes(policy=_WIRE_POLICY) if changed else (draft.mime or b"")
    return mime, bcc


# --------------------------------------------------------------------------- XML out


def _mailbox_xml(parent: ET.Element, tag: str, addresses: list[tuple[str, str]]) -> None:
    container = _sub(parent, _t(tag))
    for name, address in addresses:
        mailbox = _sub(container, _t("Mailbox"))
        if name:
            _sub(mailbox, _t("Name"), name)
        _sub(mailbox, _t("EmailAddress"), address)
        _sub(mailbox, _t("RoutingType"), "SMTP")
        _sub(mailbox, _t("MailboxType"), "OneOff")


def _extended_xml(parent: ET.Element, uri: ET.Element, value: str | list[str]) -> None:
    prop = _sub(parent, _t("ExtendedProperty"))
    _sub(prop, _t("ExtendedFieldURI"), **dict(uri.attrib))
    if isinstance(value, list):
        values = _sub(prop, _t("Values"))
        for v in value:
            _sub(values, _t("Value"), v)
    else:
        _sub(prop, _t("Value"), value)


def _body(item: StoredItem, html_ok: bool = True) -> tuple[str, str]:
    prefs = ("html", "plain") if html_ok else ("plain",)
    part = item.message.get_body(preferencelist=prefs)
    if part is None:
        return "Text", ""
    content = part.get_content()
    return ("HTML" if part.get_content_subtype() == "html" else "Text"), str(content)


def _attachment_id(item: StoredItem, index: int) -> str:
    number = int(base64.b64decode(item.id).decode().split("|")[2])
    return _make_id("att", item.mailbox, number, index)


def _attachments_xml(parent: ET.Element, item: StoredItem, with_content: bool = False) -> None:
    holder = _sub(parent, _t("Attachments"))
    for index, att in enumerate(item.attachments):
        elem = _sub(holder, _t("FileAttachment"))
        _sub(
            elem,
            _t("AttachmentId"),
            Id=_attachment_id(item, index),
            RootItemId=item.id,
            RootItemChangeKey=item.changekey,
        )
        _sub(elem, _t("Name"), att.name)
        _sub(elem, _t("ContentType"), att.content_type)
        if att.content_id:
            _sub(elem, _t("ContentId"), att.content_id)
        _sub(elem, _t("Size"), str(len(att.content)))
        _sub(elem, _t("LastModifiedTime"), _ews_time(item.received))
        _sub(elem, _t("IsInline"), _bool(att.is_inline))
        _sub(elem, _t("IsContactPhoto"), "false")
        if with_content:
            _sub(elem, _t("Content"), base64.b64encode(att.content).decode())


_ItemWriter = Callable[[ET.Element, StoredItem, StoredFolder], None]


def _w_text(tag: str, getter: Callable[[StoredItem], str | None]) -> _ItemWriter:
    def write(parent: ET.Element, item: StoredItem, folder: StoredFolder) -> None:
        value = getter(item)
        if value:
            _sub(parent, _t(tag), value)

    return write


def _w_mailboxes(tag: str, getter: Callable[[StoredItem], list[tuple[str, str]]]) -> _ItemWriter:
    def write(parent: ET.Element, item: StoredItem, folder: StoredFolder) -> None:
        values = getter(item)
        if values:
            _mailbox_xml(parent, tag, values)

    return write


def _w_single(tag: str, header: str) -> _ItemWriter:
    def write(parent: ET.Element, item: StoredItem, folder: StoredFolder) -> None:
        values = item.addresses(header)[:1]
        if values:
            holder = _sub(parent, _t(tag))
            name, address = values[0]
            mailbox = _sub(holder, _t("Mailbox"))
            if name:
                _sub(mailbox, _t("Name"), name)
            _sub(mailbox, _t("EmailAddress"), address)
            _sub(mailbox, _t("RoutingType"), "SMTP")
            _sub(mailbox, _t("MailboxType"), "OneOff")

    return write


def _w_mime(parent: ET.Element, item: StoredItem, folder: StoredFolder) -> None:
    _sub(parent, _t("MimeContent"), base64.b64encode(item.mime).decode(), CharacterSet="UTF-8")


def _w_parent(parent: ET.Element, item: StoredItem, folder: StoredFolder) -> None:
    _sub(parent, _t("ParentFolderId"), Id=folder.id, ChangeKey=folder.changekey)


def _w_body(parent: ET.Element, item: StoredItem, folder: StoredFolder) -> None:
    body_type, text = _body(item)
    _sub(parent, _t("Body"), text, BodyType=body_type)


def _w_text_body(parent: ET.Element, item: StoredItem, folder: StoredFolder) -> None:
    _sub(parent, _t("TextBody"), _body(item, html_ok=False)[1], BodyType="Text")


def _w_attachments(parent: ET.Element, item: StoredItem, folder: StoredFolder) -> None:
    if item.attachments:
        _attachments_xml(parent, item)


def _w_categories(parent: ET.Element, item: StoredItem, folder: StoredFolder) -> None:
    if item.categories:
        holder = _sub(parent, _t("Categories"))
        for category in item.categories:
            _sub(holder, _t("String"), category)


def _w_headers(parent: ET.Element, item: StoredItem, folder: StoredFolder) -> None:
    holder = _sub(parent, _t("InternetMessageHeaders"))
    for name, value in item.message.items():
        _sub(holder, _t("InternetMessageHeader"), str(value), HeaderName=name)


def _display(header: str) -> Callable[[StoredItem], str]:
    return lambda i: "; ".join(n or a for n, a in i.addresses(header))


# Schema order of ItemType, then MessageType. Extended properties go after HasAttachments.
_ITEM_WRITERS: list[tuple[str, _ItemWriter]] = [
    ("item:MimeContent", _w_mime),
    ("item:ParentFolderId", _w_parent),
    ("item:ItemClass", _w_text("ItemClass", lambda i: i.item_class)),
    ("item:Subject", _w_text("Subject", lambda i: i.subject)),
    ("item:Sensitivity", _w_text("Sensitivity", lambda i: "Normal")),
    ("item:Body", _w_body),
    ("item:Attachments", _w_attachments),
    ("item:DateTimeReceived", _w_text("DateTimeReceived", lambda i: _ews_time(i.received))),
    ("item:Size", _w_text("Size", lambda i: str(len(i.mime)))),
    ("item:Categories", _w_categories),
    ("item:Importance", _w_text("Importance", lambda i: "Normal")),
    ("item:InReplyTo", _w_text("InReplyTo", lambda i: i.header("In-Reply-To"))),
    ("item:IsSubmitted", _w_text("IsSubmitted", lambda i: _bool(i.sent is not None))),
    ("item:IsDraft", _w_text("IsDraft", lambda i: _bool(i.is_draft))),
    ("item:IsFromMe", _w_text("IsFromMe", lambda i: "false")),
    ("item:IsResend", _w_text("IsResend", lambda i: "false")),
    ("item:IsUnmodified", _w_text("IsUnmodified", lambda i: _bool(i.version == 1))),
    ("item:InternetMessageHeaders", _w_headers),
    ("item:DateTimeSent", _w_text("DateTimeSent", lambda i: _ews_time(i.sent) if i.sent else None)),
    ("item:DateTimeCreated", _w_text("DateTimeCreated", lambda i: _ews_time(i.received))),
    ("item:DisplayCc", _w_text("DisplayCc", _display("Cc"))),
    ("item:DisplayTo", _w_text("DisplayTo", _display("To"))),
    ("item:HasAttachments", _w_text("HasAttachments", lambda i: _bool(bool(i.attachments)))),
    ("extended", lambda parent, item, folder: None),
    ("item:LastModifiedTime", _w_text("LastModifiedTime", lambda i: _ews_time(i.received))),
    ("item:TextBody", _w_text_body),
    ("message:Sender", _w_single("Sender", "From")),
    ("message:ToRecipients", _w_mailboxes("ToRecipients", lambda i: i.addresses("To"))),
    ("message:CcRecipients", _w_mailboxes("CcRecipients", lambda i: i.addresses("Cc"))),
    ("message:BccRecipients", _w_mailboxes("BccRecipients", lambda i: i.bcc)),
    (
        "message:IsReadReceiptRequested",
        _w_text("IsReadReceiptRequested", lambda i: _bool(i.read_receipt_requested)),
    ),
    (
        "message:IsDeliveryReceiptRequested",
        _w_text("IsDeliveryReceiptRequested", lambda i: _bool(i.delivery_receipt_requested)),
    ),
    ("message:ConversationTopic", _w_text("ConversationTopic", lambda i: i.subject)),
    ("message:From", _w_single("From", "From")),
    ("message:InternetMessageId", _w_text("InternetMessageId", lambda i: i.message_id)),
    ("message:IsRead", _w_text("IsRead", lambda i: _bool(i.is_read))),
    ("message:IsResponseRequested", _w_text("IsResponseRequested", lambda i: "false")),
    ("message:References", _w_text("References", lambda i: i.header("References"))),
    ("message:ReplyTo", _w_mailboxes("ReplyTo", lambda i: i.addresses("Reply-To"))),
]
_DEFAULT_ITEM_FIELDS = {
    "item:Subject",
    "item:Attachments",
    "item:HasAttachments",
    "item:DateTimeReceived",
    "item:ItemClass",
    "message:From",
    "message:IsRead",
    "message:ToRecipients",
}
_ALL_ITEM_FIELDS = {uri for uri, _ in _ITEM_WRITERS} - {"item:MimeContent", "extended"}

# Values a restriction or sort order sees for a field, as strings.
_ITEM_VALUES: dict[str, Callable[[StoredItem], list[str]]] = {
    "item:Subject": lambda i: [i.subject],
    "item:ItemClass": lambda i: [i.item_class],
    "item:Categories": lambda i: list(i.categories),
    "item:InReplyTo": lambda i: [i.header("In-Reply-To")] if i.header("In-Reply-To") else [],
    "item:DateTimeReceived": lambda i: [_ews_time(i.received)],
    "item:DateTimeCreated": lambda i: [_ews_time(i.received)],
    "item:DateTimeSent": lambda i: [_ews_time(i.sent)] if i.sent else [],
    "item:HasAttachments": lambda i: [_bool(bool(i.attachments))],
    "item:Size": lambda i: [str(len(i.mime))],
    "message:InternetMessageId": lambda i: [i.message_id] if i.message_id else [],
    "message:References": lambda i: [i.header("References")] if i.header("References") else [],
    "message:IsRead": lambda i: [_bool(i.is_read)],
    "message:IsDeliveryReceiptRequested": lambda i: [_bool(i.delivery_receipt_requested)],
    "message:From": lambda i: [a for _, a in i.addresses("From")],
    "message:Sender": lambda i: [a for _, a in i.addresses("From")],
    "message:ToRecipients": lambda i: [a for _, a in i.addresses("To")],
}


@dataclass
class _Shape:
    base: str
    fields: set[str]
    extended: list[ET.Element]

    @classmethod
    def from_xml(cls, elem: ET.Element | None) -> _Shape:
        props = None if elem is None else elem.find("t:AdditionalProperties", NS)
        fields = (
            set() if props is None else {u.get("FieldURI", "") for u in props.iter(_t("FieldURI"))}
        )
        extended = [] if props is None else props.findall("t:ExtendedFieldURI", NS)
        return cls(_text(elem, "t:BaseShape", "IdOnly"), fields, extended)

    def wants(self, uri: str, defaults: set[str], everything: set[str]) -> bool:
        if uri in self.fields:
            return True
        return (
            uri in (everything if self.base == "AllProperties" else defaults)
            and self.base != "IdOnly"
        )


def _item_xml(parent: ET.Element, item: StoredItem, folder: StoredFolder, shape: _Shape) -> None:
    elem = _sub(parent, _t(item.element))
    _sub(elem, _t("ItemId"), Id=item.id, ChangeKey=item.changekey)
    for uri, writer in _ITEM_WRITERS:
        if uri == "extended":
            for ext_uri in shape.extended:
                value = item.extended.get(ExtendedKey.from_xml(ext_uri))
                if value is not None:
                    _extended_xml(elem, ext_uri, value)
        elif shape.wants(uri, _DEFAULT_ITEM_FIELDS, _ALL_ITEM_FIELDS):
            writer(elem, item, folder)


def _folder_xml(parent: ET.Element, folder: StoredFolder, box: _Mailbox, shape: _Shape) -> None:
    elem = _sub(parent, _t(folder.element))
    _sub(elem, _t("FolderId"), Id=folder.id, ChangeKey=folder.changekey)
    everything = {"folder:ParentFolderId", "folder:FolderClass", "folder:DisplayName"}
    counts = {"folder:TotalCount", "folder:ChildFolderCount", "folder:UnreadCount"}
    everything |= counts
    defaults = {"folder:DisplayName"} | counts
    if folder.parent_id and shape.wants("folder:ParentFolderId", defaults, everything):
        parent_folder = box.folders[folder.parent_id]
        _sub(elem, _t("ParentFolderId"), Id=parent_folder.id, ChangeKey=parent_folder.changekey)
    if folder.folder_class and shape.wants("folder:FolderClass", defaults, everything):
        _sub(elem, _t("FolderClass"), folder.folder_class)
    if shape.wants("folder:DisplayName", defaults, everything):
        _sub(elem, _t("DisplayName"), folder.name)
    items = box.items_in(folder.id)
    values = {
        "folder:TotalCount": len(items),
        "folder:ChildFolderCount": len(box.children(folder.id)),
        "folder:UnreadCount": sum(not i.is_read for i in items),
    }
    for uri, value in values.items():
        if shape.wants(uri, defaults, everything):
            _sub(elem, _t(uri.split(":")[1]), str(value))


def _envelope(body: ET.Element, with_header: bool = True) -> bytes:
    header = f"<s:Header>{SERVER_VERSION}</s:Header>" if with_header else ""
    inner = ET.tostring(body, encoding="unicode")
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP_NS}">{header}<s:Body>{inner}</s:Body></s:Envelope>'
    ).encode()


def _fault_xml(fault: _SoapFault) -> bytes:
    elem = ET.Element(f"{{{SOAP_NS}}}Fault")
    # faultcode, faultstring and detail are unqualified in SOAP 1.1 faults.
    _sub(elem, "faultcode", f"a:{fault.code}", **{"xmlns:a": T_NS})
    _sub(elem, "faultstring", fault.text)
    detail = _sub(elem, "detail")
    _sub(detail, f"{{{E_NS}}}ResponseCode", fault.code)
    _sub(detail, f"{{{E_NS}}}Message", fault.text)
    if fault.back_off_ms is not None:
        msg_xml = _sub(detail, _t("MessageXml"))
        _sub(msg_xml, _t("Value"), str(fault.back_off_ms), Name="BackOffMilliseconds")
    return _envelope(elem, with_header=False)


# --------------------------------------------------------------------------- faults


@dataclass
class _Fault:
    op: str | None
    kind: str
    remaining: int
    params: dict[str, Any]


@dataclass
class _FaultRate:
    rate: float
    kinds: tuple[str, ...]
    ops: frozenset[str] | None
    rng: random.Random
    params: dict[str, Any]


def _check_kind(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")


# --------------------------------------------------------------------------- server


@dataclass
class _Ctx:
    """Who is asking, and on whose behalf."""

    user: str
    impersonated: str | None
    anchor: str | None


_UnitResult = list[ET.Element] | EwsError
_Handler = Callable[[_Ctx, ET.Element], list[_UnitResult]]


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, ews: EwsServer) -> None:
        super().__init__(("127.0.0.1", 0), _RequestHandler)
        self.ews = ews


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as exchangelib's session pool expects
    server: _HttpServer
    timeout = 30

    def do_POST(self) -> None:
        self.server.ews._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # pytest shows our failures through the client; access logs are noise


class EwsServer:
    """An EWS endpoint on 127.0.0.1 with in-memory mailboxes. See the module docstring."""

    def __init__(
        self,
        users: Mapping[str, str],
        rights: Mapping[str, Rights] | None = None,
        *,
        mailboxes: Iterable[str] = (),
        domain: str = "exchange.test",
    ) -> None:
        self.users = dict(users)
        self.rights = dict(rights or {})
        self.domain = domain
        self.latency = 0.0
        self.undeliverable: set[str] = set()
        self.sent_log: list[SentMessage] = []
        self.calls: list[str] = []
        self._lock = threading.RLock()
        self._mailboxes: dict[str, _Mailbox] = {}
        self._seq = itertools.count(1)
        self._faults: list[_Fault] = []
        self._fault_rate: _FaultRate | None = None
        self._stopping = threading.Event()
        self._http: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        addresses = set(mailboxes)
        for r in self.rights.values():
            addresses |= r.delegate | (r.impersonate - {"*"})
        for address in sorted(addresses):
            self.add_mailbox(address)
        self._handlers: dict[str, _Handler] = {
            "GetFolder": self._op_get_folder,
            "FindFolder": self._op_find_folder,
            "CreateFolder": self._op_create_folder,
            "CreateItem": self._op_create_item,
            "SendItem": self._op_send_item,
            "GetItem": self._op_get_item,
            "FindItem": self._op_find_item,
            "UpdateItem": self._op_update_item,
            "MoveItem": self._op_move_item,
            "DeleteItem": self._op_delete_item,
            "GetAttachment": self._op_get_attachment,
        }

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        self._stopping.clear()
        self._http = _HttpServer(self)
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases handlers that hang on purpose
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("EwsServer is not running")
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/EWS/Exchange.asmx"

    # ----------------------------------------------------------------- test API

    def add_mailbox(self, address: str) -> None:
        address = address.lower()
        with self._lock:
            if address in self._mailboxes:
                return
            box = _Mailbox(address)
            ids: dict[str, str] = {}
            for distinguished, name, parent in DISTINGUISHED_FOLDERS:
                folder_id = _make_id("folder", address, next(self._seq))
                ids[distinguished] = folder_id
                box.folders[folder_id] = StoredFolder(
                    id=folder_id,
                    name=name,
                    parent_id=ids[parent] if parent else None,
                    distinguished=distinguished,
                    folder_class=None if distinguished == "root" else "IPF.Note",
                )
            self._mailboxes[address] = box

    def deliver(
        self,
        mailbox: str,
        mime: bytes,
        item_class: str = "IPM.Note",
        *,
        folder: str = "inbox",
        is_read: bool = False,
    ) -> str:
        """Put a message into a folder (distinguished id or folder id) as if it had
        arrived from outside; returns the new item's id."""
        with self._lock:
            box = self._box(mailbox)
            target = box.folders.get(folder) or box.distinguished(folder)
            item = self._store(box, target.id, item_class, mime, is_read=is_read)
            try:
                item.sent = parsedate_to_datetime(item.header("Date"))
            except (TypeError, ValueError):
                item.sent = item.received
            return item.id

    def items(self, mailbox: str, folder: str = "inbox") -> list[StoredItem]:
        """The items in a folder (distinguished id, folder id or display name)."""
        with self._lock:
            box = self._box(mailbox)
            target = box.folders.get(folder)
            if target is None:
                named = [f for f in box.folders.values() if f.name == folder]
                target = named[0] if named else box.distinguished(folder)
            return sorted(box.items_in(target.id), key=lambda i: i.seq)

    def folders(self, mailbox: str) -> list[StoredFolder]:
        with self._lock:
            return list(self._box(mailbox).folders.values())

    def fail_next(self, op: str | None, kind: str, count: int = 1, **params: Any) -> None:
        """Make the next ``count`` requests for ``op`` (None: any operation) fail.

        Params: ``back_off_ms`` (busy, default 50), ``retry_after`` (503, seconds),
        ``hang`` (timeout kinds, seconds, default 5)."""
        _check_kind(kind)
        with self._lock:
            self._faults.append(_Fault(op, kind, count, params))

    def fail_rate(
        self,
        rate: float,
        kinds: Iterable[str] = ("busy",),
        ops: Iterable[str] | None = None,
        seed: int | None = None,
        **params: Any,
    ) -> None:
        """Make each request (for ``ops``, or any) fail with probability ``rate``,
        with a kind drawn from ``kinds``. ``rate=0`` turns this off."""
        kinds = tuple(kinds)
        for kind in kinds:
            _check_kind(kind)
        with self._lock:
            self._fault_rate = (
                _FaultRate(
                    rate,
                    kinds,
                    None if ops is None else frozenset(ops),
                    random.Random(seed),
                    params,
                )
                if rate > 0
                else None
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._fault_rate = None

    # ----------------------------------------------------------------- HTTP

    def _serve(self, handler: _RequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        if handler.path.split("?")[0].lower() != "/ews/exchange.asmx":
            self._reply(handler, 404, b"Not Found", "text/plain")
            return
        user = self._authenticate(handler.headers.get("Authorization", ""))
        if user is None:
            self._reply(handler, 401, b"401 - Unauthorized", "text/plain", auth=True)
            return
        try:
            # The body comes from the test's own client; expat resolves no external entities.
            root = ET.fromstring(body)  # noqa: S314
            header = root.find("s:Header", NS)
            request = root.find("s:Body", NS)
            if request is None or len(request) == 0:
                raise ET.ParseError("no SOAP body")
            request = request[0]
        except ET.ParseError:
            self._reply(handler, 400, b"Bad Request", "text/plain")
            return
        # A few operations name their request element "<Op>Request".
        op = _local(request.tag).removesuffix("Request")
        fault = self._take_fault(op)
        kind = fault.kind if fault else None
        if fault is not None and kind == "503":
            retry_after = fault.params.get("retry_after")
            extra = {"Retry-After": str(retry_after)} if retry_after else {}
            self._reply(handler, 503, b"Service Unavailable", "text/html", headers=extra)
            return
        if fault is not None and kind in ("timeout", "drop"):
            self._abandon(handler, fault)
            return
        try:
            if fault is not None and kind == "busy":
                raise _SoapFault(
                    "ErrorServerBusy",
                    "The server cannot service this request right now. Try again later.",
                    back_off_ms=int(fault.params.get("back_off_ms", 50)),
                )
            ctx = self._context(user, header, handler.headers.get("X-AnchorMailbox"))
            payload, status = _envelope(self._dispatch(op, ctx, request)), 200
        except _SoapFault as soap_fault:
            payload, status = _fault_xml(soap_fault), 500
        if fault is not None and kind in ("timeout_after_create", "drop_after_create"):
            self._abandon(handler, fault)
            return
        self._reply(handler, status, payload, "text/xml; charset=utf-8")

    def _abandon(self, handler: _RequestHandler, fault: _Fault) -> None:
        """Leave the client without an answer: hang first (a timeout), or just close."""
        if fault.kind.startswith("timeout"):
            self._stopping.wait(float(fault.params.get("hang", 5.0)))
        handler.close_connection = True

    def _reply(
        self,
        handler: _RequestHandler,
        status: int,
        payload: bytes,
        content_type: str,
        auth: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if self.latency:
            time.sleep(self.latency)
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        if auth:
            handler.send_header("WWW-Authenticate", f'Basic realm="{self.domain}"')
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)

    def _authenticate(self, authorization: str) -> str | None:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user if user in self.users and self.users[user] == password else None

    def _take_fault(self, op: str) -> _Fault | None:
        with self._lock:
            self.calls.append(op)
            for fault in self._faults:
                if fault.remaining > 0 and fault.op in (None, op):
                    fault.remaining -= 1
                    return fault
            rate = self._fault_rate
            if rate and (rate.ops is None or op in rate.ops) and rate.rng.random() < rate.rate:
                return _Fault(op, rate.rng.choice(rate.kinds), 1, rate.params)
        return None

    def _context(self, user: str, header: ET.Element | None, anchor: str | None) -> _Ctx:
        impersonation = None if header is None else header.find("t:ExchangeImpersonation", NS)
        if impersonation is None:
            return _Ctx(user, None, anchor.lower() if anchor else None)
        sid = impersonation.find("t:ConnectingSID", NS)
        target = (
            _text(sid, "t:PrimarySmtpAddress")
            or _text(sid, "t:SmtpAddress")
            or _text(sid, "t:PrincipalName")
        ).lower()
        if target not in self._mailboxes:
            raise _SoapFault(
                "ErrorNonExistentMailbox", f"The SMTP address {target} has no mailbox."
            )
        allowed = self.rights.get(user, Rights()).impersonate
        if target not in allowed and "*" not in allowed:
            raise _SoapFault(
                "ErrorImpersonateUserDenied",
                "The account does not have permission to impersonate the requested user.",
            )
        return _Ctx(user, target, anchor)

    def _dispatch(self, op: str, ctx: _Ctx, request: ET.Element) -> ET.Element:
        response = ET.Element(_m(f"{op}Response"))
        # "<Op>Request" operations answer with one bare ResponseMessage.
        bare = _local(request.tag).endswith("Request")
        messages = response if bare else _sub(response, _m("ResponseMessages"))
        handler = self._handlers.get(op)
        with self._lock:
            if handler is None:
                results: list[_UnitResult] = [
                    EwsError("ErrorInvalidRequest", f"{op} is not supported by this test server.")
                ]
            else:
                results = handler(ctx, request)
        for result in results:
            message = _sub(messages, _m("ResponseMessage" if bare else f"{op}ResponseMessage"))
            if isinstance(result, EwsError):
                message.set("ResponseClass", "Error")
                _sub(message, _m("MessageText"), result.text)
                _sub(message, _m("ResponseCode"), result.code)
                _sub(message, _m("DescriptiveLinkKey"), "0")
            else:
                message.set("ResponseClass", "Success")
                _sub(message, _m("ResponseCode"), "NoError")
                message.extend(result)
        return response

    # ----------------------------------------------------------------- state helpers

    def _box(self, address: str) -> _Mailbox:
        box = self._mailboxes.get(address.lower())
        if box is None:
            raise EwsError("ErrorNonExistentMailbox", f"No mailbox with address {address}.")
        return box

    def _open(self, ctx: _Ctx, address: str) -> _Mailbox:
        box = self._box(address)
        if ctx.impersonated is not None:
            allowed = box.address == ctx.impersonated
        else:
            allowed = box.address in self.rights.get(ctx.user, Rights()).delegate
        if not allowed:
            raise EwsError(
                "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        return box

    def _principal(self, ctx: _Ctx) -> _Mailbox:
        address = ctx.impersonated or ctx.anchor
        if not address:
            raise EwsError("ErrorMissingEmailAddress", "No mailbox was named.")
        return self._open(ctx, address)

    def _folder(self, ctx: _Ctx, ref: ET.Element) -> tuple[_Mailbox, StoredFolder]:
        if _local(ref.tag) == "DistinguishedFolderId":
            address = _text(ref, "t:Mailbox/t:EmailAddress")
            box = self._open(ctx, address) if address else self._principal(ctx)
            return box, box.distinguished(ref.get("Id", ""))
        folder_id = ref.get("Id", "")
        address, _ = _parse_id(folder_id, "folder")
        box = self._open(ctx, address)
        folder = box.folders.get(folder_id)
        if folder is None:
            raise EwsError("ErrorFolderNotFound", "The specified folder could not be found.")
        return box, folder

    def _item(self, ctx: _Ctx, ref: ET.Element) -> tuple[_Mailbox, StoredItem]:
        item_id = ref.get("Id", "")
        address, _ = _parse_id(item_id, "item")
        box = self._open(ctx, address)
        item = box.items.get(item_id)
        if item is None:
            raise EwsError("ErrorItemNotFound", "The specified object was not found in the store.")
        return box, item

    def _store(
        self, box: _Mailbox, folder_id: str, item_class: str, mime: bytes, **fields: Any
    ) -> StoredItem:
        seq = next(self._seq)
        item = StoredItem(
            seq=seq,
            id=_make_id("item", box.address, seq),
            mailbox=box.address,
            folder_id=folder_id,
            item_class=item_class,
            mime=mime,
            received=_now(),
            **fields,
        )
        box.items[item.id] = item
        return item

    def _relocate(self, box: _Mailbox, item: StoredItem, folder: StoredFolder) -> StoredItem:
        """Move an item; like Exchange, the moved item gets a new id."""
        del box.items[item.id]
        seq = next(self._seq)
        item.seq, item.id = seq, _make_id("item", box.address, seq)
        item.folder_id, item.version = folder.id, item.version + 1
        box.items[item.id] = item
        return item

    def _send(self, box: _Mailbox, item: StoredItem) -> None:
        """Transmit ``item``: log it, deliver it locally, and write the reports."""
        recipients = [a for _, a in item.addresses("To") + item.addresses("Cc") + item.bcc]
        if not recipients:
            raise EwsError("ErrorInvalidRecipients", "At least one recipient is required.")
        item.sent = _now()
        item.is_draft = False
        self.sent_log.append(
            SentMessage(
                mailbox=box.address,
                sender=next((a for _, a in item.addresses("From")), box.address),
                recipients=tuple(recipients),
                subject=item.subject,
                message_id=item.message_id,
                mime=item.mime,
                extended_properties={k.label: v for k, v in item.extended.items()},
                delivery_receipt_requested=item.delivery_receipt_requested,
                time=item.sent,
            )
        )
        undeliverable = {a.lower() for a in self.undeliverable}
        failed = [r for r in recipients if r.lower() in undeliverable]
        delivered = [r for r in recipients if r.lower() not in undeliverable]
        for rcpt in delivered:
            local = self._mailboxes.get(rcpt.lower())
            if local is not None:
                self._store(local, local.distinguished("inbox").id, "IPM.Note", item.mime)
        inbox = box.distinguished("inbox").id
        if failed:
            report = _build_report(item, box.address, failed, True, self.domain)
            self._store(box, inbox, "REPORT.IPM.Note.NDR", report, sent=_now())
        if delivered and item.delivery_receipt_requested:
            report = _build_report(item, box.address, delivered, False, self.domain)
            self._store(box, inbox, "REPORT.IPM.Note.DR", report, sent=_now())

    # ----------------------------------------------------------------- operations

    @staticmethod
    def _each(
        units: Iterable[ET.Element], work: Callable[[ET.Element], list[ET.Element]]
    ) -> list[_UnitResult]:
        results: list[_UnitResult] = []
        for unit in units:
            try:
                results.append(work(unit))
            except EwsError as error:
                results.append(error)
        return results

    def _op_get_folder(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        shape = _Shape.from_xml(req.find("m:FolderShape", NS))

        def one(ref: ET.Element) -> list[ET.Element]:
            box, folder = self._folder(ctx, ref)
            folders = ET.Element(_m("Folders"))
            _folder_xml(folders, folder, box, shape)
            return [folders]

        return self._each(_kids(req.find("m:FolderIds", NS)), one)

    def _op_find_folder(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        shape = _Shape.from_xml(req.find("m:FolderShape", NS))
        deep = req.get("Traversal") == "Deep"
        view = req.find("m:IndexedPageFolderView", NS)
        restriction = req.find("m:Restriction", NS)

        def one(ref: ET.Element) -> list[ET.Element]:
            box, parent = self._folder(ctx, ref)
            found = box.descendants(parent.id) if deep else box.children(parent.id)
            if restriction is not None and len(restriction):
                condition = restriction[0]
                found = [f for f in found if _matches(condition, partial(_folder_values, f))]
            root, container = _paged(view, len(found), "Folders")
            for folder in _page(view, found):
                _folder_xml(container, folder, box, shape)
            return [root]

        return self._each(_kids(req.find("m:ParentFolderIds", NS)), one)

    def _op_create_folder(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        parent_ref = req.find("m:ParentFolderId", NS)
        try:
            if parent_ref is None or not len(parent_ref):
                raise EwsError("ErrorInvalidRequest", "ParentFolderId is required.")
            box, parent = self._folder(ctx, parent_ref[0])
        except EwsError as error:
            return [error] * max(1, len(_kids(req.find("m:Folders", NS))))

        def one(spec: ET.Element) -> list[ET.Element]:
            name = _text(spec, "t:DisplayName")
            if any(f.name.lower() == name.lower() for f in box.children(parent.id)):
                raise EwsError(
                    "ErrorFolderExists", "A folder with the specified name already exists."
                )
            folder_id = _make_id("folder", box.address, next(self._seq))
            folder = StoredFolder(
                id=folder_id,
                name=name,
                parent_id=parent.id,
                folder_class=_text(spec, "t:FolderClass") or "IPF.Note",
                element=_local(spec.tag),
            )
            box.folders[folder_id] = folder
            parent.version += 1
            folders = ET.Element(_m("Folders"))
            _sub(
                _sub(folders, _t(folder.element)),
                _t("FolderId"),
                Id=folder_id,
                ChangeKey=folder.changekey,
            )
            return [folders]

        return self._each(_kids(req.find("m:Folders", NS)), one)

    def _op_create_item(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        disposition = req.get("MessageDisposition", "SaveOnly")
        saved_ref = req.find("m:SavedItemFolderId", NS)
        units = _kids(req.find("m:Items", NS))
        try:
            if saved_ref is not None and len(saved_ref):
                box, folder = self._folder(ctx, saved_ref[0])
            else:
                box = self._principal(ctx)
                default = "drafts" if disposition == "SaveOnly" else "sentitems"
                folder = box.distinguished(default)
        except EwsError as error:
            return [error for _ in units]

        def one(elem: ET.Element) -> list[ET.Element]:
            draft = _parse_draft(elem)
            mime, bcc = _compose(draft, box.address, self.domain)
            sending = disposition in ("SendOnly", "SendAndSaveCopy")
            item = self._store(
                box,
                folder.id if disposition != "SendOnly" else box.distinguished("outbox").id,
                draft.item_class or "IPM.Note",
                mime,
                element=draft.element,
                is_read=draft.is_read or sending,
                is_draft=not sending,
                categories=draft.categories,
                extended=draft.extended,
                delivery_receipt_requested=draft.delivery_receipt,
                read_receipt_requested=draft.read_receipt,
                bcc=bcc,
            )
            items = ET.Element(_m("Items"))
            if sending:
                try:
                    self._send(box, item)
                finally:
                    if disposition == "SendOnly" or item.sent is None:
                        del box.items[item.id]
                # Exchange returns no id for a sent message, saved copy or not.
                return [items]
            created = _sub(items, _t(item.element))
            _sub(created, _t("ItemId"), Id=item.id, ChangeKey=item.changekey)
            if item.attachments:
                holder = _sub(created, _t("Attachments"))
                for index in range(len(item.attachments)):
                    att = _sub(holder, _t("FileAttachment"))
                    _sub(
                        att,
                        _t("AttachmentId"),
                        Id=_attachment_id(item, index),
                        RootItemId=item.id,
                        RootItemChangeKey=item.changekey,
                    )
            return [items]

        return self._each(units, one)

    def _op_send_item(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        save = _is_true(req.get("SaveItemToFolder", "true"))
        saved_ref = req.find("m:SavedItemFolderId", NS)

        def one(ref: ET.Element) -> list[ET.Element]:
            box, item = self._item(ctx, ref)
            self._send(box, item)
            if not save:
                del box.items[item.id]
            else:
                target = (
                    self._folder(ctx, saved_ref[0])[1]
                    if saved_ref is not None and len(saved_ref)
                    else box.distinguished("sentitems")
                )
                item.is_read = True
                self._relocate(box, item, target)
            return []

        return self._each(_kids(req.find("m:ItemIds", NS)), one)

    def _op_get_item(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        shape = _Shape.from_xml(req.find("m:ItemShape", NS))

        def one(ref: ET.Element) -> list[ET.Element]:
            box, item = self._item(ctx, ref)
            items = ET.Element(_m("Items"))
            _item_xml(items, item, box.folders[item.folder_id], shape)
            return [items]

        return self._each(_kids(req.find("m:ItemIds", NS)), one)

    def _op_find_item(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        shape = _Shape.from_xml(req.find("m:ItemShape", NS))
        traversal = req.get("Traversal", "Shallow")
        view = req.find("m:IndexedPageItemView", NS)
        restriction = req.find("m:Restriction", NS)
        sort = req.find("m:SortOrder", NS)
        unsupported = [
            c for c in ("m:CalendarView", "m:QueryString") if req.find(c, NS) is not None
        ]

        def one(ref: ET.Element) -> list[ET.Element]:
            if unsupported:
                raise EwsError("ErrorInvalidRequest", f"{unsupported} is not supported here.")
            box, folder = self._folder(ctx, ref)
            if traversal == "Associated":
                found: list[StoredItem] = []
            else:
                folders = [folder] + (box.descendants(folder.id) if traversal == "Deep" else [])
                found = [i for f in folders for i in box.items_in(f.id)]
            if restriction is not None and len(restriction):
                condition = restriction[0]
                found = [i for i in found if _matches(condition, partial(_item_values, i))]
            # Exchange's default order is newest first.
            found.sort(key=lambda i: (i.received, i.seq), reverse=True)
            for order in reversed(_kids(sort)):
                path = order[0]
                found.sort(
                    key=lambda i: _sort_key(path, _item_values(i, path)),
                    reverse=order.get("Order") == "Descending",
                )
            root, container = _paged(view, len(found), "Items")
            for item in _page(view, found):
                _item_xml(container, item, box.folders[item.folder_id], shape)
            return [root]

        return self._each(_kids(req.find("m:ParentFolderIds", NS)), one)

    def _op_update_item(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        conflict = req.get("ConflictResolution", "AutoResolve")
        disposition = req.get("MessageDisposition", "SaveOnly")
        saved_ref = req.find("m:SavedItemFolderId", NS)

        def one(change: ET.Element) -> list[ET.Element]:
            ref = change.find("t:ItemId", NS)
            if ref is None:
                raise EwsError("ErrorInvalidRequest", "Only ItemId is supported in ItemChange.")
            box, item = self._item(ctx, ref)
            if conflict == "NeverOverwrite" and ref.get("ChangeKey") not in (None, item.changekey):
                raise EwsError("ErrorIrresolvableConflict", "The change key is out of date.")
            for update in _kids(change.find("t:Updates", NS)):
                _apply_update(item, update)
            item.version += 1
            items = ET.Element(_m("Items"))
            if disposition in ("SendOnly", "SendAndSaveCopy"):
                self._send(box, item)
                if disposition == "SendOnly":
                    del box.items[item.id]
                else:
                    target = (
                        self._folder(ctx, saved_ref[0])[1]
                        if saved_ref is not None and len(saved_ref)
                        else box.distinguished("sentitems")
                    )
                    item.is_read = True
                    self._relocate(box, item, target)
                return [items]
            _sub(_sub(items, _t(item.element)), _t("ItemId"), Id=item.id, ChangeKey=item.changekey)
            conflicts = ET.Element(_m("ConflictResults"))
            _sub(conflicts, _t("Count"), "0")
            return [items, conflicts]

        return self._each(_kids(req.find("m:ItemChanges", NS)), one)

    def _op_move_item(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        to_ref = req.find("m:ToFolderId", NS)
        return_ids = _is_true(req.get("ReturnNewItemIds", "true"))

        def one(ref: ET.Element) -> list[ET.Element]:
            if to_ref is None or not len(to_ref):
                raise EwsError("ErrorInvalidRequest", "ToFolderId is required.")
            to_box, target = self._folder(ctx, to_ref[0])
            box, item = self._item(ctx, ref)
            if to_box is not box:
                raise EwsError("ErrorMoveCopyFailed", "Moving between mailboxes is not supported.")
            self._relocate(box, item, target)
            items = ET.Element(_m("Items"))
            moved = _sub(items, _t(item.element))
            if return_ids:
                _sub(moved, _t("ItemId"), Id=item.id, ChangeKey=item.changekey)
            return [items]

        return self._each(_kids(req.find("m:ItemIds", NS)), one)

    def _op_delete_item(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        delete_type = req.get("DeleteType", "MoveToDeletedItems")

        def one(ref: ET.Element) -> list[ET.Element]:
            box, item = self._item(ctx, ref)
            if delete_type == "MoveToDeletedItems":
                self._relocate(box, item, box.distinguished("deleteditems"))
            else:
                del box.items[item.id]
            return []

        return self._each(_kids(req.find("m:ItemIds", NS)), one)

    def _op_get_attachment(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        def one(ref: ET.Element) -> list[ET.Element]:
            address, numbers = _parse_id(ref.get("Id", ""), "att")
            box = self._open(ctx, address)
            item = box.items.get(_make_id("item", address, numbers[0]))
            if item is None or len(numbers) != 2 or numbers[1] >= len(item.attachments):
                raise EwsError("ErrorInvalidAttachmentId", "The attachment was not found.")
            att = item.attachments[numbers[1]]
            holder = ET.Element(_m("Attachments"))
            elem = _sub(holder, _t("FileAttachment"))
            _sub(elem, _t("AttachmentId"), Id=ref.get("Id", ""))
            _sub(elem, _t("Name"), att.name)
            _sub(elem, _t("ContentType"), att.content_type)
            _sub(elem, _t("Size"), str(len(att.content)))
            _sub(elem, _t("IsInline"), _bool(att.is_inline))
            _sub(elem, _t("Content"), base64.b64encode(att.content).decode())
            return [holder]

        return self._each(_kids(req.find("m:AttachmentIds", NS)), one)


# --------------------------------------------------------------------------- queries


def _paged(view: ET.Element | None, total: int, container: str) -> tuple[ET.Element, ET.Element]:
    offset, count = _window(view, total)
    returned = max(0, min(count, total - offset))
    root = ET.Element(_m("RootFolder"))
    root.set("IndexedPagingOffset", str(offset + returned))
    root.set("TotalItemsInView", str(total))
    root.set("IncludesLastItemInRange", _bool(offset + returned >= total))
    return root, _sub(root, _t(container))


def _window(view: ET.Element | None, total: int) -> tuple[int, int]:
    if view is None:
        return 0, total
    count = int(view.get("MaxEntriesReturned") or total)
    offset = int(view.get("Offset") or 0)
    if view.get("BasePoint") == "End":
        offset = max(0, total - offset - count)
    return offset, count


def _page(view: ET.Element | None, found: list[_T]) -> list[_T]:
    offset, count = _window(view, len(found))
    return found[offset : offset + count]


def _value_kind(path: ET.Element) -> str:
    if _local(path.tag) == "ExtendedFieldURI":
        kind = path.get("PropertyType", "String").removesuffix("Array")
        return {"SystemTime": "time", "Boolean": "bool"}.get(
            kind, "number" if kind in ("Integer", "Long", "Short", "Double", "Float") else "text"
        )
    uri = path.get("FieldURI", "")
    if uri in _DATETIME_URIS:
        return "time"
    if uri in _BOOL_URIS:
        return "bool"
    return "number" if uri in ("item:Size", "folder:TotalCount") else "text"


def _coerce(kind: str, value: str) -> Any:
    if kind == "time":
        return _parse_time(value)
    if kind == "number":
        return float(value)
    if kind == "bool":
        return _is_true(value)
    return value.casefold()


def _sort_key(path: ET.Element, values: list[str]) -> tuple[int, Any]:
    if not values:
        return (0, "")
    return (1, _coerce(_value_kind(path), values[0]))


def _item_values(item: StoredItem, path: ET.Element) -> list[str]:
    if _local(path.tag) == "ExtendedFieldURI":
        value = item.extended.get(ExtendedKey.from_xml(path))
        return [] if value is None else (value if isinstance(value, list) else [value])
    getter = _ITEM_VALUES.get(path.get("FieldURI", ""))
    if getter is None:
        raise EwsError("ErrorUnsupportedPathForQuery", f"Cannot filter on {path.attrib}.")
    return getter(item)


def _folder_values(folder: StoredFolder, path: ET.Element) -> list[str]:
    uri = path.get("FieldURI", "")
    if uri == "folder:DisplayName":
        return [folder.name]
    if uri == "folder:FolderClass":
        return [folder.folder_class] if folder.folder_class else []
    raise EwsError("ErrorUnsupportedPathForQuery", f"Cannot filter folders on {uri}.")


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "IsEqualTo": lambda a, b: a == b,
    "IsNotEqualTo": lambda a, b: a != b,
    "IsGreaterThan": lambda a, b: a > b,
    "IsGreaterThanOrEqualTo": lambda a, b: a >= b,
    "IsLessThan": lambda a, b: a < b,
    "IsLessThanOrEqualTo": lambda a, b: a <= b,
}


def _matches(cond: ET.Element, values_of: Callable[[ET.Element], list[str]]) -> bool:
    """Evaluate one restriction element against an item (or folder)."""
    op = _local(cond.tag)
    if op == "And":
        return all(_matches(c, values_of) for c in cond)
    if op == "Or":
        return any(_matches(c, values_of) for c in cond)
    if op == "Not":
        return not _matches(cond[0], values_of)
    path = cond[0]
    values = values_of(path)
    if op == "Exists":
        return bool(values)
    if op == "Contains":
        constant = _text_attr(cond.find("t:Constant", NS))
        ignore_case = "IgnoreCase" in cond.get("ContainmentComparison", "Exact")
        mode = cond.get("ContainmentMode", "FullString")
        if ignore_case:
            constant, values = constant.casefold(), [v.casefold() for v in values]
        if mode == "FullString":
            return constant in values
        if mode == "Prefixed":
            return any(v.startswith(constant) for v in values)
        return any(constant in v for v in values)
    compare = _COMPARISONS.get(op)
    if compare is None:
        raise EwsError("ErrorUnsupportedQueryFilter", f"Restriction {op} is not supported.")
    constant_elem = cond.find("t:FieldURIOrConstant/t:Constant", NS)
    if constant_elem is None:
        raise EwsError("ErrorUnsupportedQueryFilter", "Only constants can be compared.")
    kind = _value_kind(path)
    constant = _coerce(kind, _text_attr(constant_elem))
    if op == "IsNotEqualTo":
        return all(_coerce(kind, v) != constant for v in values)
    return any(compare(_coerce(kind, v), constant) for v in values)


def _text_attr(elem: ET.Element | None) -> str:
    return "" if elem is None else elem.get("Value", "")


def _apply_update(item: StoredItem, update: ET.Element) -> None:
    """Apply one SetItemField/AppendToItemField/DeleteItemField to ``item``."""
    action = _local(update.tag)
    path = update[0]
    delete = action == "DeleteItemField"
    new = None if delete or len(update) < 2 or not len(update[1]) else update[1][0]
    if _local(path.tag) == "ExtendedFieldURI":
        key = ExtendedKey.from_xml(path)
        if new is None:
            item.extended.pop(key, None)
        else:
            item.extended[key] = _extended_value(new)
        return
    uri = path.get("FieldURI", "")
    text = "" if new is None else (new.text or "")
    if uri == "message:IsRead":
        item.is_read = _is_true(text)
    elif uri == "message:IsDeliveryReceiptRequested":
        item.delivery_receipt_requested = _is_true(text)
    elif uri == "message:IsReadReceiptRequested":
        item.read_receipt_requested = _is_true(text)
    elif uri == "item:ItemClass" and text:
        item.item_class = text
    elif uri == "item:Categories":
        values = [] if new is None else [s.text or "" for s in new.findall("t:String", NS)]
        item.categories = item.categories + values if action == "AppendToItemField" else values
    elif uri == "item:Subject":
        msg = item.message
        del msg["Subject"]
        msg["Subject"] = text
        item.mime = msg.as_bytes(policy=_WIRE_POLICY)
        item.__dict__.pop("message", None)
        item.__dict__.pop("attachments", None)
    # Other fields are accepted without effect; see the module docstring.
