"""Mail as it arrives in the remiss mailbox: replies, delivery status notifications (RFC
3464) and read receipts (RFC 8098), built from the message that went out."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid


def reply(
    original: EmailMessage,
    *,
    sender: str = "registrator@stockholm.example",
    files: tuple[tuple[str, bytes, str], ...] = (),
    threaded: bool = True,
    subject: str | None = None,
    auto: bool = False,
    body: str = "Hej! Här kommer nämndens yttrande över remissen.\n",
) -> bytes:
    """A reply to `original` with attachments (filename, data, content type)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = str(original["From"])
    msg["Subject"] = subject if subject is not None else f"SV: {original['Subject']}"
    msg["Message-ID"] = make_msgid(domain="stockholm.example")
    msg["Date"] = "Mon, 23 Nov 2026 10:00:00 +0100"
    if threaded:
        msg["In-Reply-To"] = str(original["Message-ID"])
        msg["References"] = str(original["Message-ID"])
    if auto:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(body)
    for filename, data, ctype in files:
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def _headers(original: EmailMessage) -> str:
    return "".join(
        f"{k}: {v}\r\n" for k, v in original.items() if not k.lower().startswith("content-")
    )


def _multipart_report(
    original: EmailMessage, *, sender: str, subject: str, report_type: str, parts: str
) -> bytes:
    # Written out by hand: the standard library cannot generate message/delivery-status.
    boundary = "rapport-" + make_msgid().strip("<>").split("@")[0].replace(".", "")
    head = (
        f"From: {sender}\r\nTo: {original['From']}\r\nSubject: {subject}\r\n"
        f"Message-ID: {make_msgid(domain='stockholm.example')}\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type={report_type}; boundary="{boundary}"\r\n\r\n'
    )
    body = (
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nRapport.\r\n"
        f"{parts.replace('BOUNDARY', boundary)}"
        f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n{_headers(original)}"
        f"\r\n--{boundary}--\r\n"
    )
    return (head + body).encode()


def report(original: EmailMessage, *, action: str, recipient: str | None = None) -> bytes:
    """A delivery status notification (RFC 3464): action delivered or failed."""
    to = recipient or str(original["To"]).split(",")[0].strip()
    failed = action != "delivered"
    status = (
        "--BOUNDARY\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mail.stockholm.example\r\n\r\n"
        f"Final-Recipient: rfc822; {to}\r\nAction: {action}\r\n"
        f"Status: {'5.1.1' if failed else '2.0.0'}\r\n"
        + ("Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n" if failed else "")
        + "\r\n"
    )
    prefix = "Kan inte levereras: " if failed else "Levererat: "
    return _multipart_report(
        original,
        sender="MAILER-DAEMON@stockholm.example",
        subject=prefix + str(original["Subject"]),
        report_type="delivery-status",
        parts=status,
    )


def read_receipt(original: EmailMessage, *, reader: str) -> bytes:
    """A read receipt (RFC 8098 disposition notification)."""
    notification = (
        "--BOUNDARY\r\nContent-Type: message/disposition-notification\r\n\r\n"
        f"Final-Recipient: rfc822; {reader}\r\n"
        f"Original-Message-ID: {original['Message-ID']}\r\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n"
    )
    return _multipart_report(
        original,
        sender=reader,
        subject=f"Läst: {original['Subject']}",
        report_type="disposition-notification",
        parts=notification,
    )
