"""An in-process Exchange Web Services (EWS) server for tests, spoken to by the real exchangelib.

It answers SOAP over HTTP at ``/EWS/Exchange.asmx`` the way an Exchange 2016 server
(15.1.2507.6) does, in the shapes exchangelib 5.6 parses, and keeps mailboxes in memory:
folders with distinguished ids (root, msgfolderroot, inbox, sentitems, drafts,
deleteditems, outbox, junkemail) and user-created ones, and items stored as their MIME
content plus the properties EWS keeps beside it (item class, read flag, categories,
extended properties, receipt requests). Sending records each message in ``sent_log``,
delivers it to recipients that have a mailbox here, and writes RFC 3464 delivery and
non-delivery reports into the sender's inbox, as Exchange does.

Operations: GetFolder, FindFolder, CreateFolder, CreateItem (SaveOnly, SendOnly,
SendAndSaveCopy; MimeContent and/or ordinary fields), SendItem, GetItem, FindItem
(IndexedPageItemView paging, restrictions, sort order), UpdateItem, MoveItem, DeleteItem
and GetAttachment. Any other operation gets an ErrorInvalidRequest response message.

Faults can be injected per operation (``fail_next``) or at random (``fail_rate``): an
ErrorServerBusy SOAP fault, HTTP 503, and a request that is carried out but whose answer
never arrives (the ambiguous failure a sender must survive). ``latency`` slows every answer.

Limits, on purpose: HTTP Basic authentication only (no NTLM, OAuth, autodiscover or TLS);
one server version; no calendar, contacts or tasks; attachments are file attachments (an
attached message/rfc822 comes back as a file) and only a message's first level of parts
counts; restrictions cover IsEqualTo, IsNotEqualTo, the ordering comparisons, Exists,
Contains, And, Or and Not over the fields in ``_ITEM_FIELDS`` and extended properties,
and compare strings ignoring case; UpdateItem applies IsRead, Categories, Subject,
ItemClass, the receipt flags and extended properties, and accepts any other field without
effect, so that exchangelib's ``item.save()`` of a whole item works.
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
    f'MinorBuildNumber="6" Version="V2017_07_11" xmlns:h="{T_NS}" xmlns="{T_NS}" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
)
FAULT_KINDS = frozenset(
    {"busy", "503", "timeout", "drop", "timeout_after_create", "drop_after_create"}
)
# (distinguished id, display name, parent's distinguished id)
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
# written under one spelling is found under the other.
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
_PARSE_POLICY = email.policy.default
_WIRE_POLICY = email.policy.SMTP  # CRLF line ends, as in the MimeContent Exchange returns
_T = TypeVar("_T")
Address = tuple[str, str]  # (display name, SMTP address)


# --------------------------------------------------------------------------- helpers


def _t(name: str) -> str:
    return f"{{{T_NS}}}{name}"


def _m(name: str) -> str:
    return f"{{{M_NS}}}{name}"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kids(elem: ET.Element | None) -> list[ET.Element]:
    # An Element's truth value means "has children" (and warns); be explicit about None.
    return [] if elem is None else list(elem)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    elem = ET.SubElement(parent, tag, attrs)
    elem.text = text
    return elem


def _text(elem: ET.Element | None, path: str, default: str = "") -> str:
    found = None if elem is None else elem.find(path, NS)
    return default if found is None or found.text is None else found.text


def _is_true(value: str) -> bool:
    # xs:boolean: exchangelib writes "1"/"0", other clients "true"/"false".
    return value.strip().lower() in ("true", "1")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _ews_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> datetime:
    return datetime.now(UTC)


def _addresses(msg: EmailMessage, header: str) -> list[Address]:
    return [(n, a) for n, a in getaddresses([str(v) for v in msg.get_all(header, [])]) if a]


class EwsError(Exception):
    """An EWS ResponseCode for one unit of a request (one folder id, one item)."""

    def __init__(self, code: str, text: str = "") -> None:
        super().__init__(f"{code}: {text}")
        self.code, self.text = code, text or code


class _SoapFault(Exception):
    """An error Exchange reports for the whole request, as a SOAP Fault (HTTP 500)."""

    def __init__(self, code: str, text: str, back_off_ms: int | None = None) -> None:
        super().__init__(f"{code}: {text}")
        self.code, self.text, self.back_off_ms = code, text, back_off_ms


# Ids are opaque to clients, as in Exchange, but carry the mailbox so that a request that
# names only ids can be routed and its rights checked.
def _make_id(kind: str, mailbox: str, *numbers: int) -> str:
    return base64.b64encode("|".join([kind, mailbox, *map(str, numbers)]).encode()).decode()


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
    ("*": the ApplicationImpersonation role over every mailbox). Owning a mailbox grants
    nothing by itself; list it under ``delegate``."""

    def __init__(self, delegate: Iterable[str] = (), impersonate: Iterable[str] = ()) -> None:
        self.delegate = frozenset(a.lower() for a in delegate)
        self.impersonate = frozenset(a.lower() for a in impersonate)


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
        distinguished, set_id = uri.get("DistinguishedPropertySetId"), uri.get("PropertySetId")
        tag, prop_id = uri.get("PropertyTag"), uri.get("PropertyId")
        return cls(
            property_set=PROPERTY_SETS.get(distinguished, distinguished)
            if distinguished
            else (set_id.lower() if set_id else None),
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


def _extended(elem: ET.Element) -> dict[ExtendedKey, str | list[str]]:
    found: dict[ExtendedKey, str | list[str]] = {}
    for prop in elem.findall("t:ExtendedProperty", NS):
        uri = prop.find("t:ExtendedFieldURI", NS)
        if uri is not None:
            found[ExtendedKey.from_xml(uri)] = _extended_value(prop)
    return found


def _extended_value(prop: ET.Element) -> str | list[str]:
    values = prop.find("t:Values", NS)
    if values is not None:
        return [v.text or "" for v in values.findall("t:Value", NS)]
    return _text(prop, "t:Value")


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
class Attachment:
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
    bcc: list[Address] = field(default_factory=list)
    element: str = "Message"
    version: int = 1

    @property
    def id(self) -> str:
        return _make_id("item", self.mailbox, self.seq)

    @property
    def changekey(self) -> str:
        return _changekey(self.version)

    @cached_property
    def message(self) -> EmailMessage:
        return _parse_mime(self.mime)

    def header(self, name: str) -> str:
        value = self.message.get(name)
        return "" if value is None else str(value).strip()

    def addresses(self, header: str) -> list[Address]:
        return _addresses(self.message, header)

    @property
    def subject(self) -> str:
        return self.header("Subject")

    @property
    def message_id(self) -> str:
        return self.header("Message-ID")

    @cached_property
    def attachments(self) -> list[Attachment]:
        if self.item_class.startswith("REPORT."):
            return []  # Exchange shows a report's parts as its recipient table instead
        found: list[Attachment] = []
        for part in self.message.iter_attachments():
            if part.get_content_type() == "message/rfc822":
                inner = part.get_payload(0)
                content = inner.as_bytes() if isinstance(inner, email.message.Message) else b""
            else:
                payload = part.get_payload(decode=True)
                content = payload if isinstance(payload, bytes) else b""
            cid = part.get("Content-ID")
            found.append(
                Attachment(
                    name=part.get_filename() or f"ATT{len(found) + 1:05d}",
                    content_type=part.get_content_type(),
                    content=content,
                    content_id=str(cid).strip("<> ") if cid else None,
                    is_inline=part.get_content_disposition() == "inline",
                )
            )
        return found

    def set_header(self, name: str, value: str) -> None:
        msg = self.message
        del msg[name]
        msg[name] = value
        self.mime = msg.as_bytes(policy=_WIRE_POLICY)
        self.__dict__.pop("attachments", None)


@dataclass(frozen=True)
class SentMessage:
    """One message as it left the server (``EwsServer.sent_log``)."""

    mailbox: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    message_id: str
    mime: bytes
    extended_properties: dict[str, str | list[str]]  # by PropertyName (or hex tag, or id)
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
            found += [child, *self.descendants(child.id)]
        return found

    def items_in(self, folder_id: str) -> list[StoredItem]:
        return [i for i in self.items.values() if i.folder_id == folder_id]


# --------------------------------------------------------------------------- MIME


def _parse_mime(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=_PARSE_POLICY)
    assert isinstance(msg, EmailMessage)
    return msg


def _mailboxes(elem: ET.Element | None) -> list[Address]:
    if elem is None:
        return []
    boxes = [(_text(mb, "t:Name"), _text(mb, "t:EmailAddress")) for mb in elem.iter(_t("Mailbox"))]
    return [(name, address) for name, address in boxes if address]


_HEADER_ELEMENTS = {
    "Subject": "Subject",
    "InternetMessageId": "Message-ID",
    "InReplyTo": "In-Reply-To",
    "References": "References",
}
_ADDRESS_ELEMENTS = {
    "From": "From",
    "ToRecipients": "To",
    "CcRecipients": "Cc",
    "ReplyTo": "Reply-To",
}


def _compose(elem: ET.Element, owner: str, domain: str) -> tuple[bytes, list[Address]]:
    """The MIME content Exchange stores for a ``t:Message`` of a CreateItem request: its
    MimeContent (kept byte for byte when nothing overrides it) or one built from its
    fields. Returns it with the Bcc recipients, which must not travel in the MIME."""
    given = _text(elem, "t:MimeContent")
    msg = _parse_mime(base64.b64decode(given)) if given else EmailMessage(_PARSE_POLICY)
    changed = not given

    def put(name: str, value: str) -> None:
        nonlocal changed
        del msg[name]
        msg[name] = value
        changed = True

    for tag, header in _HEADER_ELEMENTS.items():
        if (child := elem.find(f"t:{tag}", NS)) is not None:
            put(header, child.text or "")
    for tag, header in _ADDRESS_ELEMENTS.items():
        if found := _mailboxes(elem.find(f"t:{tag}", NS)):
            put(header, ", ".join(formataddr(a) for a in found))
    bcc = _mailboxes(elem.find("t:BccRecipients", NS)) or _addresses(msg, "Bcc")
    if "Bcc" in msg:
        del msg["Bcc"]
        changed = True
    for header, value in (
        ("From", owner),
        ("Message-ID", make_msgid(domain=domain)),
        ("Date", format_datetime(_now())),
    ):
        if header not in msg:
            put(header, value)
    if (
        _is_true(_text(elem, "t:IsReadReceiptRequested"))
        and "Disposition-Notification-To" not in msg
    ):
        put("Disposition-Notification-To", str(msg["From"]))
    for key, prop_value in _extended(elem).items():
        # Exchange turns properties of the InternetHeaders set into headers of the message.
        if (
            key.property_set == PROPERTY_SETS["InternetHeaders"]
            and key.name
            and isinstance(prop_value, str)
        ):
            put(key.name, prop_value)
    if not given:
        body = elem.find("t:Body", NS)
        html = body is not None and body.get("BodyType") == "HTML"
        msg.set_content(_text(elem, "t:Body"), subtype="html" if html else "plain")
    for att in _kids(elem.find("t:Attachments", NS)):
        if _local(att.tag) != "FileAttachment":
            raise EwsError("ErrorInvalidRequest", "Only file attachments are supported here.")
        maintype, _, subtype = _text(att, "t:ContentType", "application/octet-stream").partition(
            "/"
        )
        cid = _text(att, "t:ContentId")
        msg.add_attachment(
            base64.b64decode(_text(att, "t:Content")),
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=_text(att, "t:Name", "attachment"),
            disposition="inline" if _is_true(_text(att, "t:IsInline")) else "attachment",
            cid=f"<{cid}>" if cid else None,
        )
        del list(msg.iter_parts())[-1]["MIME-Version"]  # the email package adds one per part
        changed = True
    return (msg.as_bytes(policy=_WIRE_POLICY) if changed else base64.b64decode(given)), bcc


def _build_report(
    original: StoredItem, sender: str, recipients: list[str], failed: bool, domain: str
) -> bytes:
    """An RFC 3464 delivery status notification about ``original``, as Exchange writes one:
    a human-readable part, the machine-readable status, and the original's headers."""
    boundary = f"_report_{uuid.uuid4().hex}"
    now = format_datetime(_now())
    verdict = "kunde inte levereras" if failed else "har levererats"
    human = f"Meddelandet {verdict} till följande mottagare:\r\n\r\n" + "".join(
        f"{r}\r\n" for r in recipients
    )
    human += f"\r\nÄmne: {original.subject}\r\n"
    if failed:
        outcome = "Action: failed\r\nStatus: 5.1.1\r\n"
        outcome += "Diagnostic-Code: smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound; not found\r\n"
    else:
        outcome = "Action: delivered\r\nStatus: 2.0.0\r\n"
    status = f"Reporting-MTA: dns;mail.{domain}\r\nArrival-Date: {now}\r\n" + "".join(
        f"\r\nFinal-Recipient: rfc822;{r}\r\n{outcome}" for r in recipients
    )
    fold, orig_id = _WIRE_POLICY.fold, original.message_id
    head = (
        fold("From", f"Microsoft Outlook <postmaster@{domain}>")
        + fold("To", f"<{sender}>")
        + fold("Date", now)
        + fold("Subject", ("Kan inte levereras: " if failed else "Levererat: ") + original.subject)
        + fold("Message-ID", make_msgid(domain=domain))
        + (fold("In-Reply-To", orig_id) + fold("References", orig_id) if orig_id else "")
        + ("X-MS-Exchange-Message-Is-Ndr: \r\n" if failed else "")
        + "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        + f'\tboundary="{boundary}"\r\n'
    )
    end = min(
        (i for i in (original.mime.find(b"\r\n\r\n"), original.mime.find(b"\n\n")) if i >= 0),
        default=-1,
    )
    headers = (original.mime if end < 0 else original.mime[:end]).replace(b"\r\n", b"\n")
    return b"".join(
        [
            head.encode(),
            f"\r\n--{boundary}\r\n".encode(),
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            base64.encodebytes(human.encode()).replace(b"\n", b"\r\n"),
            f"\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n".encode(),
            status.encode(),
            f"\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n".encode(),
            headers.replace(b"\n", b"\r\n") + b"\r\n",
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )


# --------------------------------------------------------------------------- XML out

_Value = str | list[str] | list[Address] | None

# Item fields in schema order (ItemType, then MessageType). Simple ones map to a getter
# whose str becomes the element's text, list of str a list of t:String, and list of
# addresses a list of t:Mailbox; restrictions and sort orders read the same values. The
# complex ones (None) are written by _write_complex.
_ITEM_FIELDS: dict[str, Callable[[StoredItem], _Value] | None] = {
    "item:MimeContent": None,
    "item:ParentFolderId": None,
    "item:ItemClass": lambda i: i.item_class,
    "item:Subject": lambda i: i.subject,
    "item:Sensitivity": lambda i: "Normal",
    "item:Body": None,
    "item:Attachments": None,
    "item:DateTimeReceived": lambda i: _ews_time(i.received),
    "item:Size": lambda i: str(len(i.mime)),
    "item:Categories": lambda i: i.categories,
    "item:Importance": lambda i: "Normal",
    "item:InReplyTo": lambda i: i.header("In-Reply-To"),
    "item:IsSubmitted": lambda i: _bool(i.sent is not None),
    "item:IsDraft": lambda i: _bool(i.is_draft),
    "item:IsFromMe": lambda i: "false",
    "item:IsResend": lambda i: "false",
    "item:IsUnmodified": lambda i: _bool(i.version == 1),
    "item:InternetMessageHeaders": None,
    "item:DateTimeSent": lambda i: _ews_time(i.sent) if i.sent else None,
    "item:DateTimeCreated": lambda i: _ews_time(i.received),
    "item:DisplayCc": lambda i: "; ".join(n or a for n, a in i.addresses("Cc")),
    "item:DisplayTo": lambda i: "; ".join(n or a for n, a in i.addresses("To")),
    "item:HasAttachments": lambda i: _bool(bool(i.attachments)),
    "extended": None,  # the requested t:ExtendedProperty elements
    "item:LastModifiedTime": lambda i: _ews_time(i.received),
    "item:TextBody": None,
    "message:Sender": lambda i: i.addresses("From")[:1],
    "message:ToRecipients": lambda i: i.addresses("To"),
    "message:CcRecipients": lambda i: i.addresses("Cc"),
    "message:BccRecipients": lambda i: i.bcc,
    "message:IsReadReceiptRequested": lambda i: _bool(i.read_receipt_requested),
    "message:IsDeliveryReceiptRequested": lambda i: _bool(i.delivery_receipt_requested),
    "message:ConversationTopic": lambda i: i.subject,
    "message:From": lambda i: i.addresses("From")[:1],
    "message:InternetMessageId": lambda i: i.message_id,
    "message:IsRead": lambda i: _bool(i.is_read),
    "message:IsResponseRequested": lambda i: "false",
    "message:References": lambda i: i.header("References"),
    "message:ReplyTo": lambda i: i.addresses("Reply-To"),
}
_DEFAULT_ITEM_FIELDS = {
    "item:ItemClass",
    "item:Subject",
    "item:Attachments",
    "item:HasAttachments",
    "item:DateTimeReceived",
    "message:From",
    "message:IsRead",
    "message:ToRecipients",
}
# AllProperties, like Exchange's, leaves out the MIME content.
_ALL_ITEM_FIELDS = set(_ITEM_FIELDS) - {"item:MimeContent", "extended"}
_FOLDER_FIELDS = {
    "folder:ParentFolderId",
    "folder:FolderClass",
    "folder:DisplayName",
    "folder:TotalCount",
    "folder:ChildFolderCount",
    "folder:UnreadCount",
}
_DEFAULT_FOLDER_FIELDS = _FOLDER_FIELDS - {"folder:ParentFolderId", "folder:FolderClass"}


@dataclass
class _Shape:
    """An ItemShape or FolderShape: a BaseShape plus AdditionalProperties."""

    base: str
    fields: set[str]
    extended: list[ET.Element]

    @classmethod
    def from_xml(cls, elem: ET.Element | None) -> _Shape:
        props = None if elem is None else elem.find("t:AdditionalProperties", NS)
        fields = (
            {u.get("FieldURI", "") for u in props.iter(_t("FieldURI"))}
            if props is not None
            else set()
        )
        extended = [] if props is None else props.findall("t:ExtendedFieldURI", NS)
        return cls(_text(elem, "t:BaseShape", "IdOnly"), fields, extended)

    def wants(self, uri: str, defaults: set[str], everything: set[str]) -> bool:
        if uri in self.fields:
            return True
        return self.base != "IdOnly" and uri in (
            everything if self.base == "AllProperties" else defaults
        )


def _write_value(parent: ET.Element, tag: str, value: _Value) -> None:
    if not value:
        return
    if isinstance(value, str):
        _sub(parent, _t(tag), value)
        return
    holder = _sub(parent, _t(tag))
    for entry in value:
        if isinstance(entry, str):
            _sub(holder, _t("String"), entry)
            continue
        mailbox = _sub(holder, _t("Mailbox"))
        if entry[0]:
            _sub(mailbox, _t("Name"), entry[0])
        _sub(mailbox, _t("EmailAddress"), entry[1])
        _sub(mailbox, _t("RoutingType"), "SMTP")
        _sub(mailbox, _t("MailboxType"), "OneOff")


def _attachments_xml(parent: ET.Element, item: StoredItem, ids_only: bool = False) -> None:
    holder = _sub(parent, _t("Attachments"))
    for index, att in enumerate(item.attachments):
        elem = _sub(holder, _t("FileAttachment"))
        att_id = _make_id("att", item.mailbox, item.seq, index)
        _sub(
            elem,
            _t("AttachmentId"),
            Id=att_id,
            RootItemId=item.id,
            RootItemChangeKey=item.changekey,
        )
        if ids_only:
            continue
        _sub(elem, _t("Name"), att.name)
        _sub(elem, _t("ContentType"), att.content_type)
        if att.content_id:
            _sub(elem, _t("ContentId"), att.content_id)
        _sub(elem, _t("Size"), str(len(att.content)))
        _sub(elem, _t("LastModifiedTime"), _ews_time(item.received))
        _sub(elem, _t("IsInline"), _bool(att.is_inline))
        _sub(elem, _t("IsContactPhoto"), "false")


def _write_complex(
    elem: ET.Element, uri: str, item: StoredItem, folder: StoredFolder, shape: _Shape
) -> None:
    if uri == "item:MimeContent":
        _sub(elem, _t("MimeContent"), base64.b64encode(item.mime).decode(), CharacterSet="UTF-8")
    elif uri == "item:ParentFolderId":
        _sub(elem, _t("ParentFolderId"), Id=folder.id, ChangeKey=folder.changekey)
    elif uri in ("item:Body", "item:TextBody"):
        prefs = ("html", "plain") if uri == "item:Body" else ("plain",)
        part = item.message.get_body(preferencelist=prefs)
        html = part is not None and part.get_content_subtype() == "html"
        text = "" if part is None else str(part.get_content())
        _sub(elem, _t(uri[5:]), text, BodyType="HTML" if html else "Text")
    elif uri == "item:Attachments" and item.attachments:
        _attachments_xml(elem, item)
    elif uri == "item:InternetMessageHeaders":
        holder = _sub(elem, _t("InternetMessageHeaders"))
        for name, value in item.message.items():
            _sub(holder, _t("InternetMessageHeader"), str(value), HeaderName=name)
    elif uri == "extended":
        for ext_uri in shape.extended:
            value = item.extended.get(ExtendedKey.from_xml(ext_uri))
            if value is not None:
                prop = _sub(elem, _t("ExtendedProperty"))
                _sub(prop, _t("ExtendedFieldURI"), **dict(ext_uri.attrib))
                if isinstance(value, list):
                    values = _sub(prop, _t("Values"))
                    for v in value:
                        _sub(values, _t("Value"), v)
                else:
                    _sub(prop, _t("Value"), value)


def _item_xml(parent: ET.Element, item: StoredItem, folder: StoredFolder, shape: _Shape) -> None:
    elem = _sub(parent, _t(item.element))
    _sub(elem, _t("ItemId"), Id=item.id, ChangeKey=item.changekey)
    for uri, getter in _ITEM_FIELDS.items():
        if uri != "extended" and not shape.wants(uri, _DEFAULT_ITEM_FIELDS, _ALL_ITEM_FIELDS):
            continue
        if getter is None:
            _write_complex(elem, uri, item, folder, shape)
        else:
            _write_value(elem, uri.split(":")[1], getter(item))


def _folder_xml(parent: ET.Element, folder: StoredFolder, box: _Mailbox, shape: _Shape) -> None:
    elem = _sub(parent, _t(folder.element))
    _sub(elem, _t("FolderId"), Id=folder.id, ChangeKey=folder.changekey)
    items = box.items_in(folder.id)
    parent_folder = box.folders.get(folder.parent_id or "")
    values: dict[str, str | None] = {
        "folder:FolderClass": folder.folder_class,
        "folder:DisplayName": folder.name,
        "folder:TotalCount": str(len(items)),
        "folder:ChildFolderCount": str(len(box.children(folder.id))),
        "folder:UnreadCount": str(sum(not i.is_read for i in items)),
    }
    if parent_folder and shape.wants(
        "folder:ParentFolderId", _DEFAULT_FOLDER_FIELDS, _FOLDER_FIELDS
    ):
        _sub(elem, _t("ParentFolderId"), Id=parent_folder.id, ChangeKey=parent_folder.changekey)
    for uri, value in values.items():
        if value is not None and shape.wants(uri, _DEFAULT_FOLDER_FIELDS, _FOLDER_FIELDS):
            _sub(elem, _t(uri.split(":")[1]), value)


def _envelope(body: ET.Element, with_header: bool = True) -> bytes:
    header = f"<s:Header>{SERVER_VERSION}</s:Header>" if with_header else ""
    inner = ET.tostring(body, encoding="unicode")
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP_NS}">{header}<s:Body>{inner}</s:Body></s:Envelope>'
    ).encode()


def _fault_xml(fault: _SoapFault) -> bytes:
    """The SOAP Fault exchangelib's ``_raise_soap_errors`` parses into its exception classes."""
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


# --------------------------------------------------------------------------- queries


def _paged(
    view: ET.Element | None, found: list[_T], container: str
) -> tuple[ET.Element, ET.Element, list[_T]]:
    """The m:RootFolder of a paged answer, its (empty) container, and the page itself."""
    total = len(found)
    count = int(view.get("MaxEntriesReturned") or total) if view is not None else total
    offset = int(view.get("Offset") or 0) if view is not None else 0
    if view is not None and view.get("BasePoint") == "End":
        offset = max(0, total - offset - count)
    page = found[offset : offset + count]
    root = ET.Element(_m("RootFolder"))
    root.set("IndexedPagingOffset", str(offset + len(page)))
    root.set("TotalItemsInView", str(total))
    root.set("IncludesLastItemInRange", _bool(offset + len(page) >= total))
    return root, _sub(root, _t(container)), page


def _item_values(item: StoredItem, path: ET.Element) -> list[str]:
    if _local(path.tag) == "ExtendedFieldURI":
        value: _Value = item.extended.get(ExtendedKey.from_xml(path))
    else:
        getter = _ITEM_FIELDS.get(path.get("FieldURI", ""))
        if getter is None:
            raise EwsError("ErrorUnsupportedPathForQuery", f"Cannot search on {path.attrib}.")
        value = getter(item)
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [v if isinstance(v, str) else v[1] for v in value]


def _folder_values(folder: StoredFolder, path: ET.Element) -> list[str]:
    uri = path.get("FieldURI", "")
    if uri not in ("folder:DisplayName", "folder:FolderClass"):
        raise EwsError("ErrorUnsupportedPathForQuery", f"Cannot search folders on {uri}.")
    value = folder.name if uri == "folder:DisplayName" else folder.folder_class
    return [value] if value else []


def _coerce(path: ET.Element, value: str) -> Any:
    """A value as the field's type compares it: times, numbers, flags, or case-folded text."""
    kind = path.get("PropertyType") or path.get("FieldURI") or ""
    if kind.startswith("SystemTime") or "DateTime" in kind:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if kind.startswith(("Integer", "Long", "Short", "Double", "Float")) or kind == "item:Size":
        return float(value)
    if kind.startswith("Boolean") or kind.split(":")[-1].startswith(("Is", "Has")):
        return _is_true(value)
    return value.casefold()


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "IsEqualTo": lambda a, b: a == b,
    "IsNotEqualTo": lambda a, b: a != b,
    "IsGreaterThan": lambda a, b: a > b,
    "IsGreaterThanOrEqualTo": lambda a, b: a >= b,
    "IsLessThan": lambda a, b: a < b,
    "IsLessThanOrEqualTo": lambda a, b: a <= b,
}


def _matches(cond: ET.Element, values_of: Callable[[ET.Element], list[str]]) -> bool:
    """Evaluate a restriction against one item (or folder)."""
    op = _local(cond.tag)
    if op in ("And", "Or"):
        results = (_matches(c, values_of) for c in cond)
        return all(results) if op == "And" else any(results)
    if op == "Not":
        return not _matches(cond[0], values_of)
    path, values = cond[0], values_of(cond[0])
    if op == "Exists":
        return bool(values)
    if op == "Contains":
        constant = _attr(cond.find("t:Constant", NS))
        if "IgnoreCase" in cond.get("ContainmentComparison", ""):
            constant, values = constant.casefold(), [v.casefold() for v in values]
        mode = cond.get("ContainmentMode", "FullString")
        if mode == "FullString":
            return constant in values
        if mode == "Prefixed":
            return any(v.startswith(constant) for v in values)
        return any(constant in v for v in values)
    compare = _COMPARISONS.get(op)
    constant_elem = cond.find("t:FieldURIOrConstant/t:Constant", NS)
    if compare is None or constant_elem is None:
        raise EwsError("ErrorUnsupportedQueryFilter", f"Restriction {op} is not supported here.")
    constant = _coerce(path, _attr(constant_elem))
    # As in MAPI, a comparison with a property the item lacks is false, even "not equal".
    if op == "IsNotEqualTo":
        return bool(values) and all(_coerce(path, v) != constant for v in values)
    return any(compare(_coerce(path, v), constant) for v in values)


def _attr(elem: ET.Element | None) -> str:
    return "" if elem is None else elem.get("Value", "")


def _apply_update(item: StoredItem, update: ET.Element) -> None:
    """Apply one SetItemField, AppendToItemField or DeleteItemField to ``item``."""
    action, path = _local(update.tag), update[0]
    new = None if action == "DeleteItemField" or len(update) < 2 else next(iter(update[1]), None)
    if _local(path.tag) == "ExtendedFieldURI":
        key = ExtendedKey.from_xml(path)
        if new is None:
            item.extended.pop(key, None)
        else:
            item.extended[key] = _extended_value(new)
        return
    uri, text = path.get("FieldURI", ""), "" if new is None else (new.text or "")
    if uri == "message:IsRead":
        item.is_read = _is_true(text)
    elif uri == "message:IsDeliveryReceiptRequested":
        item.delivery_receipt_requested = _is_true(text)
    elif uri == "message:IsReadReceiptRequested":
        item.read_receipt_requested = _is_true(text)
    elif uri == "item:ItemClass" and text:
        item.item_class = text
    elif uri == "item:Subject":
        item.set_header("Subject", text)
    elif uri == "item:Categories":
        values = [] if new is None else [s.text or "" for s in new.findall("t:String", NS)]
        item.categories = item.categories + values if action == "AppendToItemField" else values
    # Any other field is accepted without effect; see the module docstring.


# --------------------------------------------------------------------------- server


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


@dataclass
class _Ctx:
    """Who is asking (the Basic auth user), and on whose behalf."""

    user: str
    impersonated: str | None  # from the ExchangeImpersonation SOAP header
    anchor: str | None  # X-AnchorMailbox, which exchangelib sets to the account's address


_UnitResult = list[ET.Element] | EwsError
_Handler = Callable[[_Ctx, ET.Element], list[_UnitResult]]


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, ews: EwsServer) -> None:
        super().__init__(("127.0.0.1", 0), _RequestHandler)
        self.ews = ews


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, which exchangelib's session pool expects
    server: _HttpServer
    timeout = 30

    def do_POST(self) -> None:
        self.server.ews._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # failures show through the client; an access log would only be noise


class EwsServer:
    """An EWS endpoint on 127.0.0.1 with in-memory mailboxes. See the module docstring.

    ``users`` maps user names to passwords, ``rights`` user names to what they may open.
    Mailboxes exist for every address in ``mailboxes`` and in ``rights``."""

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
        self.latency = 0.0  # seconds slept before every answer
        self.undeliverable: set[str] = set()  # recipients that get an NDR instead of the message
        # Recipients Exchange refuses outright: ErrorInvalidRecipients for that message only.
        self.refused: set[str] = set()
        self.sent_log: list[SentMessage] = []
        self.calls: list[str] = []  # operation names, in arrival order, once authenticated
        self._lock = threading.RLock()
        self._mailboxes: dict[str, _Mailbox] = {}
        self._seq = itertools.count(1)
        self._faults: list[_Fault] = []
        self._fault_rate: _FaultRate | None = None
        self._stopping = threading.Event()
        self._http: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        for address in sorted(
            {*mailboxes, *(a for r in self.rights.values() for a in r.delegate | r.impersonate)}
            - {"*"}
        ):
            self.add_mailbox(address)
        self._handlers: dict[str, _Handler] = {
            "GetFolder": self._get_folder,
            "FindFolder": self._find_folder,
            "CreateFolder": self._create_folder,
            "CreateItem": self._create_item,
            "SendItem": self._send_item,
            "GetItem": self._get_item,
            "FindItem": self._find_item,
            "UpdateItem": self._update_item,
            "MoveItem": self._move_item,
            "DeleteItem": self._delete_item,
            "GetAttachment": self._get_attachment,
        }

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        self._stopping.clear()
        self._http = _HttpServer(self)
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)
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
            box = self._mailboxes[address] = _Mailbox(address)
            ids: dict[str, str] = {}
            for distinguished, name, parent in DISTINGUISHED_FOLDERS:
                folder_id = ids[distinguished] = _make_id("folder", address, next(self._seq))
                box.folders[folder_id] = StoredFolder(
                    folder_id,
                    name,
                    ids[parent] if parent else None,
                    distinguished,
                    None if distinguished == "root" else "IPF.Note",
                )

    def deliver(
        self, mailbox: str, mime: bytes, item_class: str = "IPM.Note", *, folder: str = "inbox"
    ) -> str:
        """Put a message into a folder (distinguished id or folder id) as if it had
        arrived from outside, unread; returns the new item's id."""
        with self._lock:
            box = self._box(mailbox)
            target = box.folders.get(folder) or box.distinguished(folder)
            item = self._store(box, target.id, item_class, mime)
            try:
                item.sent = parsedate_to_datetime(item.header("Date"))
            except (TypeError, ValueError):
                item.sent = item.received
            return item.id

    def items(self, mailbox: str, folder: str = "inbox") -> list[StoredItem]:
        """The (live) items of a folder given by distinguished id, folder id or name."""
        with self._lock:
            box = self._box(mailbox)
            named = [f for f in box.folders.values() if folder in (f.id, f.name)]
            target = named[0] if named else box.distinguished(folder)
            return sorted(box.items_in(target.id), key=lambda i: i.seq)

    def folders(self, mailbox: str) -> list[StoredFolder]:
        with self._lock:
            return list(self._box(mailbox).folders.values())

    def fail_next(self, op: str | None, kind: str, count: int = 1, **params: Any) -> None:
        """Make the next ``count`` requests for ``op`` (None: any operation) fail.

        Params: ``back_off_ms`` (busy; default 50), ``retry_after`` (503; whole seconds
        for a Retry-After header), ``hang`` (timeout kinds; seconds, default 5)."""
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
        """Make each request for ``ops`` (None: any) fail with probability ``rate``, with
        a kind drawn from ``kinds``; params as for ``fail_next``. ``rate=0`` stops it."""
        kinds = tuple(kinds)
        for kind in kinds:
            _check_kind(kind)
        ops_set = None if ops is None else frozenset(ops)
        with self._lock:
            self._fault_rate = (
                _FaultRate(rate, kinds, ops_set, random.Random(seed), params) if rate > 0 else None
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
            # The body comes from the test's own client, and expat resolves no external entities.
            root = ET.fromstring(body)  # noqa: S314
            request = _kids(root.find("s:Body", NS))[0]
        except (ET.ParseError, IndexError):
            self._reply(handler, 400, b"Bad Request", "text/plain")
            return
        # A few operations name their request element "<Op>Request".
        op = _local(request.tag).removesuffix("Request")
        fault = self._take_fault(op)
        kind = None if fault is None else fault.kind
        if fault is not None and kind == "503":
            retry_after = fault.params.get("retry_after")
            headers = {"Retry-After": str(retry_after)} if retry_after else {}
            self._reply(handler, 503, b"Service Unavailable", "text/html", headers=headers)
            return
        if fault is not None and kind in ("timeout", "drop"):
            self._abandon(handler, fault)
            return
        try:
            if fault is not None and kind == "busy":
                back_off = int(fault.params.get("back_off_ms", 50))
                text = "The server cannot service this request right now. Try again later."
                raise _SoapFault("ErrorServerBusy", text, back_off_ms=back_off)
            anchor = handler.headers.get("X-AnchorMailbox")
            payload, status = (
                _envelope(self._dispatch(op, user, root.find("s:Header", NS), anchor, request)),
                200,
            )
        except _SoapFault as soap_fault:
            payload, status = _fault_xml(soap_fault), 500
        if fault is not None and kind in ("timeout_after_create", "drop_after_create"):
            self._abandon(handler, fault)  # the work is done, but its answer is lost
            return
        self._reply(handler, status, payload, "text/xml; charset=utf-8")

    def _abandon(self, handler: _RequestHandler, fault: _Fault) -> None:
        """Leave the client without an answer: hang first (a timeout), or just hang up."""
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
        return user if self.users.get(user) == password else None

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

    def _dispatch(
        self, op: str, user: str, header: ET.Element | None, anchor: str | None, request: ET.Element
    ) -> ET.Element:
        response = ET.Element(_m(f"{op}Response"))
        # "<Op>Request" operations answer with one bare ResponseMessage.
        bare = _local(request.tag).endswith("Request")
        messages = response if bare else _sub(response, _m("ResponseMessages"))
        with self._lock:
            ctx = self._context(user, header, anchor)
            handler = self._handlers.get(op)
            if handler is None:
                results: list[_UnitResult] = [
                    EwsError("ErrorInvalidRequest", f"{op} is not supported here.")
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

    def _context(self, user: str, header: ET.Element | None, anchor: str | None) -> _Ctx:
        impersonation = (
            None if header is None else header.find("t:ExchangeImpersonation/t:ConnectingSID", NS)
        )
        if impersonation is None:
            return _Ctx(user, None, anchor.lower() if anchor else None)
        names = ("PrimarySmtpAddress", "SmtpAddress", "PrincipalName")
        target = next((v for n in names if (v := _text(impersonation, f"t:{n}"))), "").lower()
        if target not in self._mailboxes:
            raise _SoapFault(
                "ErrorNonExistentMailbox",
                f"The SMTP address {target} has no mailbox associated with it.",
            )
        allowed = self.rights.get(user, Rights()).impersonate
        if target not in allowed and "*" not in allowed:
            text = "The account does not have permission to impersonate the requested user."
            raise _SoapFault("ErrorImpersonateUserDenied", text)
        return _Ctx(user, target, anchor)

    # ----------------------------------------------------------------- state

    def _box(self, address: str) -> _Mailbox:
        box = self._mailboxes.get(address.lower())
        if box is None:
            raise EwsError(
                "ErrorNonExistentMailbox",
                f"The SMTP address {address} has no mailbox associated with it.",
            )
        return box

    def _open(self, ctx: _Ctx, address: str) -> _Mailbox:
        """The mailbox at ``address``, if the caller may open it."""
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
            raise EwsError("ErrorMissingEmailAddress", "The request names no mailbox.")
        return self._open(ctx, address)

    def _folder(self, ctx: _Ctx, ref: ET.Element) -> tuple[_Mailbox, StoredFolder]:
        """Resolve a t:FolderId or t:DistinguishedFolderId."""
        if _local(ref.tag) == "DistinguishedFolderId":
            address = _text(ref, "t:Mailbox/t:EmailAddress")
            box = self._open(ctx, address) if address else self._principal(ctx)
            return box, box.distinguished(ref.get("Id", ""))
        address, _ = _parse_id(ref.get("Id", ""), "folder")
        box = self._open(ctx, address)
        folder = box.folders.get(ref.get("Id", ""))
        if folder is None:
            raise EwsError(
                "ErrorFolderNotFound", "The specified folder could not be found in the store."
            )
        return box, folder

    def _target(self, ctx: _Ctx, holder: ET.Element | None) -> tuple[_Mailbox, StoredFolder] | None:
        """The folder named inside e.g. m:SavedItemFolderId, if any."""
        refs = _kids(holder)
        return self._folder(ctx, refs[0]) if refs else None

    def _item(self, ctx: _Ctx, ref: ET.Element) -> tuple[_Mailbox, StoredItem]:
        address, _ = _parse_id(ref.get("Id", ""), "item")
        box = self._open(ctx, address)
        item = box.items.get(ref.get("Id", ""))
        if item is None:
            raise EwsError("ErrorItemNotFound", "The specified object was not found in the store.")
        return box, item

    def _store(
        self, box: _Mailbox, folder_id: str, item_class: str, mime: bytes, **fields: Any
    ) -> StoredItem:
        item = StoredItem(
            next(self._seq), box.address, folder_id, item_class, mime, _now(), **fields
        )
        box.items[item.id] = item
        return item

    def _relocate(self, box: _Mailbox, item: StoredItem, folder: StoredFolder) -> None:
        """Move an item; as in Exchange, the moved item gets a new id."""
        del box.items[item.id]
        item.seq, item.folder_id, item.version = next(self._seq), folder.id, item.version + 1
        box.items[item.id] = item

    def _submit(self, box: _Mailbox, item: StoredItem, save_in: StoredFolder | None) -> None:
        """Send ``item``, then keep it (read) in ``save_in`` or drop it."""
        self._send(box, item)
        if save_in is None:
            del box.items[item.id]
        else:
            item.is_read = True
            self._relocate(box, item, save_in)

    def _send(self, box: _Mailbox, item: StoredItem) -> None:
        """Transmit ``item``: log it, deliver it to local mailboxes, write the reports."""
        recipients = [a for _, a in item.addresses("To") + item.addresses("Cc") + item.bcc]
        if not recipients:
            raise EwsError("ErrorInvalidRecipients", "At least one recipient is required.")
        refused = {a.lower() for a in self.refused}
        if any(r.lower() in refused for r in recipients):
            raise EwsError("ErrorInvalidRecipients", "One or more recipients are invalid.")
        item.sent, item.is_draft = _now(), False
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
            if local := self._mailboxes.get(rcpt.lower()):
                self._store(
                    local, local.distinguished("inbox").id, "IPM.Note", item.mime, sent=item.sent
                )
        inbox = box.distinguished("inbox").id
        # Exchange always reports a failure, but a delivery only when it was asked to.
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
        """One response message per unit; an EwsError fails only its own unit."""
        results: list[_UnitResult] = []
        for unit in units:
            try:
                results.append(work(unit))
            except EwsError as error:
                results.append(error)
        return results

    def _get_folder(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        shape = _Shape.from_xml(req.find("m:FolderShape", NS))

        def one(ref: ET.Element) -> list[ET.Element]:
            box, folder = self._folder(ctx, ref)
            folders = ET.Element(_m("Folders"))
            _folder_xml(folders, folder, box, shape)
            return [folders]

        return self._each(_kids(req.find("m:FolderIds", NS)), one)

    def _find_folder(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        shape = _Shape.from_xml(req.find("m:FolderShape", NS))
        restriction = _kids(req.find("m:Restriction", NS))

        def one(ref: ET.Element) -> list[ET.Element]:
            box, parent = self._folder(ctx, ref)
            found = (
                box.descendants(parent.id)
                if req.get("Traversal") == "Deep"
                else box.children(parent.id)
            )
            if restriction:
                found = [f for f in found if _matches(restriction[0], partial(_folder_values, f))]
            root, container, page = _paged(
                req.find("m:IndexedPageFolderView", NS), found, "Folders"
            )
            for folder in page:
                _folder_xml(container, folder, box, shape)
            return [root]

        return self._each(_kids(req.find("m:ParentFolderIds", NS)), one)

    def _create_folder(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        specs = _kids(req.find("m:Folders", NS))
        try:
            parent_ref = self._target(ctx, req.find("m:ParentFolderId", NS))
            if parent_ref is None:
                raise EwsError("ErrorInvalidRequest", "ParentFolderId is required.")
        except EwsError as error:
            return [error] * len(specs)
        box, parent = parent_ref

        def one(spec: ET.Element) -> list[ET.Element]:
            name = _text(spec, "t:DisplayName")
            if any(f.name.lower() == name.lower() for f in box.children(parent.id)):
                raise EwsError(
                    "ErrorFolderExists", "A folder with the specified name already exists."
                )
            folder_id = _make_id("folder", box.address, next(self._seq))
            folder_class = _text(spec, "t:FolderClass") or "IPF.Note"
            box.folders[folder_id] = StoredFolder(
                folder_id, name, parent.id, None, folder_class, _local(spec.tag)
            )
            parent.version += 1
            folders = ET.Element(_m("Folders"))
            _sub(_sub(folders, spec.tag), _t("FolderId"), Id=folder_id, ChangeKey=_changekey(1))
            return [folders]

        return self._each(specs, one)

    def _create_item(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        disposition = req.get("MessageDisposition", "SaveOnly")
        sending = disposition != "SaveOnly"
        units = _kids(req.find("m:Items", NS))
        try:
            target = self._target(ctx, req.find("m:SavedItemFolderId", NS))
            if target is None:
                principal = self._principal(ctx)
                target = principal, principal.distinguished("sentitems" if sending else "drafts")
        except EwsError as error:
            return [error] * len(units)
        box, folder = target

        def one(elem: ET.Element) -> list[ET.Element]:
            mime, bcc = _compose(elem, box.address, self.domain)
            item = self._store(
                box,
                box.distinguished("outbox").id if sending else folder.id,
                _text(elem, "t:ItemClass", "IPM.Note"),
                mime,
                element=_local(elem.tag),
                is_read=_is_true(_text(elem, "t:IsRead")),
                is_draft=not sending,
                categories=[s.text or "" for s in elem.findall("t:Categories/t:String", NS)],
                extended=_extended(elem),
                delivery_receipt_requested=_is_true(_text(elem, "t:IsDeliveryReceiptRequested")),
                read_receipt_requested=_is_true(_text(elem, "t:IsReadReceiptRequested")),
                bcc=bcc,
            )
            items = ET.Element(_m("Items"))
            if sending:
                try:
                    self._submit(box, item, folder if disposition == "SendAndSaveCopy" else None)
                except EwsError:
                    del box.items[item.id]  # a message that could not be sent leaves no trace
                    raise
                return [items]  # Exchange returns no id for a sent message, saved copy or not
            created = _sub(items, _t(item.element))
            _sub(created, _t("ItemId"), Id=item.id, ChangeKey=item.changekey)
            if item.attachments:
                _attachments_xml(created, item, ids_only=True)
            return [items]

        return self._each(units, one)

    def _send_item(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        save = _is_true(req.get("SaveItemToFolder", "true"))

        def one(ref: ET.Element) -> list[ET.Element]:
            box, item = self._item(ctx, ref)
            target = self._target(ctx, req.find("m:SavedItemFolderId", NS))
            self._submit(
                box,
                item,
                (target[1] if target else box.distinguished("sentitems")) if save else None,
            )
            return []

        return self._each(_kids(req.find("m:ItemIds", NS)), one)

    def _get_item(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        shape = _Shape.from_xml(req.find("m:ItemShape", NS))

        def one(ref: ET.Element) -> list[ET.Element]:
            box, item = self._item(ctx, ref)
            items = ET.Element(_m("Items"))
            _item_xml(items, item, box.folders[item.folder_id], shape)
            return [items]

        return self._each(_kids(req.find("m:ItemIds", NS)), one)

    def _find_item(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        shape = _Shape.from_xml(req.find("m:ItemShape", NS))
        traversal = req.get("Traversal", "Shallow")
        restriction = _kids(req.find("m:Restriction", NS))
        unsupported = [
            c for c in ("m:CalendarView", "m:QueryString") if req.find(c, NS) is not None
        ]

        def one(ref: ET.Element) -> list[ET.Element]:
            if unsupported:
                raise EwsError("ErrorInvalidRequest", f"{unsupported} is not supported here.")
            box, folder = self._folder(ctx, ref)
            folders = [folder, *(box.descendants(folder.id) if traversal == "Deep" else [])]
            found = (
                []
                if traversal == "Associated"
                else [i for f in folders for i in box.items_in(f.id)]
            )
            if restriction:
                found = [i for i in found if _matches(restriction[0], partial(_item_values, i))]
            found.sort(key=lambda i: (i.received, i.seq), reverse=True)  # Exchange: newest first
            for order in reversed(_kids(req.find("m:SortOrder", NS))):
                path = order[0]

                # Ties break on the exact arrival, which EWS times (whole seconds) hide.
                def key(item: StoredItem, path: ET.Element = path) -> tuple[Any, ...]:
                    values = _item_values(item, path)
                    value = _coerce(path, values[0]) if values else ""
                    return (bool(values), value, item.received, item.seq)

                found.sort(key=key, reverse=order.get("Order") == "Descending")
            root, container, page = _paged(req.find("m:IndexedPageItemView", NS), found, "Items")
            for item in page:
                _item_xml(container, item, box.folders[item.folder_id], shape)
            return [root]

        return self._each(_kids(req.find("m:ParentFolderIds", NS)), one)

    def _update_item(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        conflict = req.get("ConflictResolution", "AutoResolve")
        disposition = req.get("MessageDisposition", "SaveOnly")

        def one(change: ET.Element) -> list[ET.Element]:
            ref = change.find("t:ItemId", NS)
            if ref is None:
                raise EwsError("ErrorInvalidRequest", "Only t:ItemId is supported in t:ItemChange.")
            box, item = self._item(ctx, ref)
            if conflict == "NeverOverwrite" and ref.get("ChangeKey") not in (None, item.changekey):
                raise EwsError("ErrorIrresolvableConflict", "The change key is out of date.")
            for update in _kids(change.find("t:Updates", NS)):
                _apply_update(item, update)
            item.version += 1
            items = ET.Element(_m("Items"))
            if disposition != "SaveOnly":
                target = self._target(ctx, req.find("m:SavedItemFolderId", NS))
                save_in = target[1] if target else box.distinguished("sentitems")
                self._submit(box, item, save_in if disposition == "SendAndSaveCopy" else None)
                return [items]
            _sub(_sub(items, _t(item.element)), _t("ItemId"), Id=item.id, ChangeKey=item.changekey)
            conflicts = ET.Element(_m("ConflictResults"))
            _sub(conflicts, _t("Count"), "0")
            return [items, conflicts]

        return self._each(_kids(req.find("m:ItemChanges", NS)), one)

    def _move_item(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        return_ids = _is_true(req.get("ReturnNewItemIds", "true"))

        def one(ref: ET.Element) -> list[ET.Element]:
            destination = self._target(ctx, req.find("m:ToFolderId", NS))
            if destination is None:
                raise EwsError("ErrorInvalidRequest", "ToFolderId is required.")
            box, item = self._item(ctx, ref)
            if destination[0] is not box:
                raise EwsError(
                    "ErrorMoveCopyFailed", "Moving between mailboxes is not supported here."
                )
            self._relocate(box, item, destination[1])
            items = ET.Element(_m("Items"))
            moved = _sub(items, _t(item.element))
            if return_ids:
                _sub(moved, _t("ItemId"), Id=item.id, ChangeKey=item.changekey)
            return [items]

        return self._each(_kids(req.find("m:ItemIds", NS)), one)

    def _delete_item(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        def one(ref: ET.Element) -> list[ET.Element]:
            box, item = self._item(ctx, ref)
            if req.get("DeleteType", "MoveToDeletedItems") == "MoveToDeletedItems":
                self._relocate(box, item, box.distinguished("deleteditems"))
            else:
                del box.items[item.id]
            return []

        return self._each(_kids(req.find("m:ItemIds", NS)), one)

    def _get_attachment(self, ctx: _Ctx, req: ET.Element) -> list[_UnitResult]:
        def one(ref: ET.Element) -> list[ET.Element]:
            address, numbers = _parse_id(ref.get("Id", ""), "att")
            item = self._open(ctx, address).items.get(_make_id("item", address, numbers[0]))
            if item is None or len(numbers) != 2 or numbers[1] >= len(item.attachments):
                raise EwsError("ErrorInvalidAttachmentId", "The attachment could not be found.")
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
