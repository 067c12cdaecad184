"""What a message in the remiss mailbox is: a reply, a delivery or non-delivery report,
a read receipt, an automatic reply, or something else. Pure: MIME bytes in, facts out.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Literal

from remiss.mail.base import KEY_HEADER

Kind = Literal["reply", "delivered", "bounced", "read", "auto_reply", "receipt"]

# "[Remiss-ID 12-a3f9c1]": the dispatch's id and the first six hex digits of its round's uid.
TAG = re.compile(r"\[Remiss-ID (\d+)-([0-9a-f]{6})\]", re.IGNORECASE)
_MESSAGE_REF = re.compile(r"<([0-9a-f]{32})@[^>]+>")
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatiskt svar|autosvar|frånvaro|out of office|automatic reply|autoreply)\b",
    re.IGNORECASE,
)


# A registrator's receipt or a diarium's automatic acknowledgement: the remiss has been
# registered, which is a kvittens from the remissinstans and never its answer.
_REGISTERED = re.compile(
    r"\b(diarief(ö|o)r(d|t|da|ts|des|ing)"
    r"|(har|är|blivit|blev)\s+(nu\s+)?(ankomst)?registrera(ts|d|t)"
    r"|registrerats|ankomstregistrera\w*"
    r"|mottagningskvitt\w*|registreringskvitt\w*|mottagningsbekräftelse)\b",
    re.IGNORECASE,
)
_DNR_WORD = re.compile(
    r"\b(diarienummer|diarienr|dnr|ärendenummer|ärendenr|reg\.?\s?nr|registreringsnummer)\b",
    re.IGNORECASE,
)
# A diarienummer after its word: "SDN 2026/123", "KS-2023/482.119", "KS/2019/0001/0009",
# "403-123456-2012" (länsstyrelsen), "2026-00123"; letters first, then numbers and marks.
_DNR = re.compile(
    r"(?:diarienummer|diarienr|dnr|ärendenummer|ärendenr|reg\.?\s?nr|registreringsnummer)"
    r"\.?\s*(?:är|blev|:)?\s*:?\s*"
    r"((?:[A-ZÅÄÖ][A-ZÅÄÖa-zåäö]{0,11}[ \-/]?){0,2}\d{1,6}(?:\s?[/\-.:]\s?\d{1,6})+)",
    re.IGNORECASE,
)
# Where the quoted original starts in a reply: what was quoted says nothing of the reply.
_QUOTED = re.compile(
    r"^(>|-{2,}\s*(ursprungligt meddelande|original message|vidarebefordrat)"
    r"|(från|from|skickat|sent):\s)",
    re.IGNORECASE | re.MULTILINE,
)
RECEIPT_MAX_CHARS = 1500  # a receipt is a few lines; an answer in the body is longer


@dataclass(frozen=True)
class IncomingFile:
    filename: str
    data: bytes


@dataclass(frozen=True)
class IncomingMail:
    key: str
    kind: Kind
    subject: str
    sender: str | None
    date: dt.datetime | None
    # Message refs (remiss.keys.message_ref) this message answers or reports on.
    refs: tuple[str, ...]
    # A report's copy of the original's X-Remiss-Key header, when it kept it.
    original_key: str | None
    tag: tuple[int, str] | None
    text: str
    files: tuple[IncomingFile, ...]
    reason: str | None = None
    # A registration receipt's diarienummer(s), the remissinstans's own among them.
    dnr: tuple[str, ...] = ()


def parse(mime: bytes, item_class: str = "") -> IncomingMail:
    """Read one message; never raises for a malformed one (it becomes a reply with what is
    readable, to be matched or handed to the registrator)."""
    msg = email.message_from_bytes(mime, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    subject = str(msg.get("Subject", "") or "").strip()
    kind, reason, original = _classify(msg, item_class, subject)
    refs = _refs(msg.get("In-Reply-To"), msg.get("References"))
    original_key = None
    if original is not None:
        refs = _refs(original.get("Message-ID")) + refs
        original_key = str(original.get(KEY_HEADER, "") or "").strip() or None
    tag_match = TAG.search(subject)
    text = _text(msg) if kind in ("reply", "auto_reply") else ""
    files = _files(msg) if kind == "reply" else ()
    dnr: tuple[str, ...] = ()
    if kind in ("reply", "auto_reply") and is_receipt(
        subject, text, has_files=bool(files), automatic=kind == "auto_reply"
    ):
        kind, files = "receipt", ()
        dnr = diarienummer(subject + "\n" + _own_part(text))
    return IncomingMail(
        key=_key(msg, mime),
        kind=kind,
        subject=subject,
        sender=_sender(msg),
        date=_date(msg),
        refs=tuple(dict.fromkeys(refs)),
        original_key=original_key,
        tag=(int(tag_match.group(1)), tag_match.group(2).lower()) if tag_match else None,
        text=text,
        files=files,
        reason=reason,
        dnr=dnr,
    )


def _own_part(text: str) -> str:
    """The reply's own text, without the original it quotes."""
    found = _QUOTED.search(text)
    return text[: found.start()] if found else text


def is_receipt(subject: str, text: str, *, has_files: bool, automatic: bool) -> bool:
    """A registration receipt or an automatic acknowledgement from the remissinstans's
    diarium: "har diarieförts", "har registrerats", "diarienummer SDN 2026/12".

    An automatic reply (Auto-Submitted, "Automatiskt svar") that speaks of registering is
    one, attachments or not. A person's reply is one only when short and without an
    attachment: a reply with a document is an answer to review, whatever it also says. A
    diarienummer alone counts only with a number given ("which dnr?" is a question)."""
    own = _own_part(text)
    words = subject + "\n" + own
    registered = bool(_REGISTERED.search(words))
    if automatic:
        return registered or (bool(_DNR_WORD.search(words)) and bool(diarienummer(words)))
    if has_files or len(own) > RECEIPT_MAX_CHARS:
        return False
    return registered or (bool(diarienummer(words)) and "?" not in own)


def says_registered(text: str) -> bool:
    """Whether the text says the remiss has been registered ("diarieförd", "registrerats")."""
    return bool(_REGISTERED.search(_own_part(text)))


def diarienummer(text: str) -> tuple[str, ...]:
    """The diarienummer a receipt gives, in order, each once ("dnr SDN 2026/123")."""
    found = [re.sub(r"\s+", " ", m.group(1)).strip(" -/.") for m in _DNR.finditer(text)]
    return tuple(dict.fromkeys(f for f in found if any(c.isdigit() for c in f)))


def _key(msg: EmailMessage, mime: bytes) -> str:
    message_id = str(msg.get("Message-ID", "") or "").strip()
    if message_id and len(message_id) <= 300:
        return message_id
    return "sha256:" + hashlib.sha256(mime).hexdigest()


def _sender(msg: EmailMessage) -> str | None:
    for _name, address in getaddresses([str(msg.get("From", "") or "")]):
        if "@" in address:
            return address.lower()
    return None


def _date(msg: EmailMessage) -> dt.datetime | None:
    try:
        value = parsedate_to_datetime(str(msg.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return None
    return value if value.tzinfo else None


def _refs(*headers: object) -> list[str]:
    return [m.group(1) for h in headers if h for m in _MESSAGE_REF.finditer(str(h).lower())]


def _classify(
    msg: EmailMessage, item_class: str, subject: str
) -> tuple[Kind, str | None, Message | None]:
    """Exchange's item class when there is one; otherwise the MIME report itself."""
    cls = item_class.upper()
    report = _report(msg)
    original = report[2] if report else None
    if cls.startswith("REPORT."):
        if cls.endswith(".NDR"):
            return "bounced", report[1] if report else None, original
        if cls.endswith(".DR"):
            return "delivered", None, original
        if cls.endswith(".IPNRN"):
            return "read", None, original
        return "auto_reply", None, original
    if report:
        return report[0], report[1], original
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if (auto and auto != "no") or _AUTO_SUBJECT.match(subject):
        return "auto_reply", None, None
    return "reply", None, None


def _report(msg: EmailMessage) -> tuple[Kind, str | None, Message | None] | None:
    """An RFC 3464 delivery status or RFC 8098 disposition notification, if it is one."""
    if msg.get_content_type() != "multipart/report":
        return None
    report_type = str(msg.get_param("report-type", "") or "").lower()
    original: Message | None = None
    status: Message | None = None
    for part in msg.iter_parts():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            status = part
        elif ctype in ("text/rfc822-headers", "message/rfc822", "message/rfc822-headers"):
            original = _embedded(part)
    if report_type == "disposition-notification":
        return "read", None, original
    if report_type != "delivery-status" or status is None:
        return None
    actions, statuses, diagnostics = _status_fields(status)
    if "failed" in actions:
        return "bounced", bounce_reason(statuses, diagnostics), original
    if actions & {"delivered", "relayed", "expanded"}:
        return "delivered", None, original
    return "auto_reply", None, original  # "delayed": the server is still trying.


def _embedded(part: Message) -> Message | None:
    if part.is_multipart():
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        return inner if isinstance(inner, Message) else None
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return None
    return email.message_from_bytes(raw, policy=email.policy.default)


def _status_fields(status: Message) -> tuple[set[str], list[str], list[str]]:
    """Action, Status and Diagnostic-Code of every recipient block in a
    message/delivery-status."""
    blocks: list[Message] = []
    payload = status.get_payload()
    if isinstance(payload, list):
        blocks = [b for b in payload if isinstance(b, Message)]
    else:
        raw = status.get_payload(decode=True)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
        blocks = [email.message_from_string(b.strip() + "\n") for b in re.split(r"\n\s*\n", text)]
    actions = {str(b.get("Action", "")).strip().lower() for b in blocks} - {""}

    def field(name: str) -> list[str]:
        return [" ".join(str(b.get(name, "")).split()) for b in blocks if b.get(name)]

    return actions, field("Status"), field("Diagnostic-Code")


# What an enhanced status code (RFC 3463) means, most specific first: "X.Y.Z", then
# "X.Y" (the subject). The class (4: for now, 5: for good) is told apart by the sentence.
_STATUS_MEANINGS = {
    "1.1": "adressen finns inte hos mottagarens e-postserver",
    "1.2": "mottagarens domän finns inte",
    "1.3": "adressen är felskriven",
    "1.6": "mottagaren har flyttat och adressen gäller inte längre",
    "1.7": "mottagarens e-postserver godtog inte avsändarens adress",
    "1.8": "mottagarens e-postserver godtog inte avsändarens adress",
    # RFC 7505's null MX; Exchange Online also uses it when the recipient is not found.
    "1.10": "mottagarens adress eller domän tar inte emot e-post",
    "2.1": "mottagarens brevlåda är avstängd",
    "2.2": "mottagarens brevlåda är full",
    "2.3": "meddelandet är större än mottagarens brevlåda tar emot",
    "2.4": "sändlistan kunde inte skicka vidare meddelandet",
    "3.4": "meddelandet är större än mottagarens e-postsystem tar emot",
    "4.4": "mottagarens e-postserver gick inte att nå",
    "4.7": "meddelandet var för länge på väg",
    "7.1": "mottagarens e-postserver tog inte emot meddelandet från oss",
    "7.509": "mottagarens e-postserver kunde inte verifiera avsändaren (DMARC)",
    "7.26": "mottagarens e-postserver kunde inte verifiera avsändaren",
    "7.25": "mottagarens e-postserver kunde inte verifiera avsändarens server",
}
_SUBJECTS = {
    "1": "något är fel med en adress i meddelandet",
    "2": "något är fel med mottagarens brevlåda",
    "3": "mottagarens e-postsystem kunde inte ta emot meddelandet",
    "4": "meddelandet kunde inte nå fram till mottagarens e-postserver",
    "5": "mottagarens e-postserver avbröt överföringen",
    "6": "meddelandets innehåll kunde inte levereras",
    "7": "mottagarens e-postserver avvisade meddelandet (säkerhet eller skräppostskydd)",
}
_CODE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


def bounce_reason(statuses: list[str], diagnostics: list[str]) -> str:
    """Why a message bounced, in one Swedish phrase, with the server's own words after it:
    "adressen finns inte hos mottagarens e-postserver (5.1.1: smtp; 550 5.1.1 User
    unknown)". The status code comes from the Status field, else from the diagnostic."""
    code = next((m for m in (_CODE.search(t) for t in [*statuses, *diagnostics]) if m), None)
    said = "; ".join(dict.fromkeys(diagnostics))
    if code is None:
        return f"orsaken angavs inte ({said})" if said else "orsaken angavs inte"
    klass, subject, detail = code.groups()
    meaning = (
        _STATUS_MEANINGS.get(f"{subject}.{detail}")
        or _SUBJECTS.get(subject)
        or "mottagarens e-postserver tog inte emot meddelandet"
    )
    if klass == "4":
        meaning += " (ett tillfälligt fel som servern till slut gav upp)"
    number = code.group(0)
    details = f"{number}: {said}" if said and number not in said else said or number
    return f"{meaning} ({details})"


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    try:
        content = body.get_content()
    except (LookupError, ValueError):
        return ""
    if body.get_content_type() == "text/html":
        content = re.sub(r"<[^>]+>", " ", str(content))
    return str(content).strip()[:20000]


def _files(msg: EmailMessage) -> tuple[IncomingFile, ...]:
    files = []
    for part in msg.iter_attachments():
        if not isinstance(part, EmailMessage) or part.get_content_maintype() == "message":
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data:
            continue
        files.append(IncomingFile(filename=part.get_filename() or "bilaga", data=data))
    return tuple(files)
