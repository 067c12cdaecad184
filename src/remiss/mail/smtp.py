"""The SMTP backend (`mail_backend: smtp`), for organisations without Exchange.

Each message goes out on its own connection with the standard library's `smtplib`:
STARTTLS on the submission port (`smtp_security: starttls`, port 587, the default),
implicit TLS (`tls`, port 465), or plain SMTP (`none`), which is refused unless the
server is on this machine (localhost, 127.0.0.1, ::1: a relay on loopback, or tests).
The server's certificate is checked against the system's CA store, or only against
`smtp_ca_file` when that is set (an internal CA); there is no way to turn the check
off. With `smtp_username` the backend logs in, with the password from the environment
variable REMISS_SMTP_PASSWORD (never from the settings file). The envelope sender is
`sender_address`; the envelope recipients are To and Cc.

`send` returns the message's Message-ID, which is stable per idempotency key. Errors
map to the two kinds the claim logic in `remiss.sending` knows:

- permanent (the dispatch is marked failed): every recipient refused with a 5xx
  answer, the sender refused (5xx), any other 5xx answer, login refused (5xx), a
  server that offers neither STARTTLS nor login when they are needed, a certificate
  that does not verify;
- temporary (the claim is released and Prefect retries): any 4xx answer (also for
  recipients or login), connection refused or reset, a timeout, a server that hangs
  up, other TLS failures.

When some recipients are refused and others accepted, the server has taken the
message for the accepted ones: `send` returns normally, logs a warning, and the
provider id names the refused addresses with the server's answer. Sending again
would duplicate it for the others.

**`find_sent` cannot ask an SMTP server** whether it already has a message, so it
always answers None. This leaves one gap in the exactly-once guarantee: after an
ambiguous failure (a timeout or a dropped connection after the server may already
have accepted the DATA, or a crash between the server's 250 and the database update)
the retry sends the message again, and the recipient may get a second copy. The copy
carries the same Message-ID and X-Remiss-Key header, so receiving systems and the
mailbox poll can recognise it as the same message, and the same answer link (fixed
when the remissmissiv was first composed), which works in both. The Exchange backend closes this
gap by looking in Sent Items before it sends again; use it where exactly-once matters
more than simplicity.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import os
import smtplib
import ssl
from collections.abc import Iterator, Mapping, Sequence
from email.message import EmailMessage
from pathlib import Path

from remiss.core.errors import InputError
from remiss.core.settings import SMTP_PASSWORD_VARIABLE, Settings, SmtpSecurity
from remiss.mail.base import (
    MailError,
    OutgoingEmail,
    PermanentMailError,
    TemporaryMailError,
    send_one_by_one,
)

log = logging.getLogger(__name__)

DEFAULT_PORTS: dict[SmtpSecurity, int] = {"starttls": 587, "tls": 465, "none": 25}


def is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificate and host name checked: the system's CAs, or only those in `ca_file`."""
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise InputError(
            f"CA-filen kunde inte läsas som PEM-certifikat: {exc}",
            field="smtp_ca_file",
            value=str(ca_file),
        ) from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _answer(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


class SmtpMailer:
    name = "smtp"
    batch_size = 25

    def __init__(self, settings: Settings, *, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        if not settings.smtp_host:
            raise InputError(
                "mail_backend: smtp kräver en SMTP-server (REMISS_SMTP_HOST)", field="smtp_host"
            )
        self.host = settings.smtp_host
        self.security: SmtpSecurity = settings.smtp_security
        if self.security == "none" and not is_loopback(self.host):
            raise InputError(
                "smtp_security: none (okrypterad SMTP) är bara tillåtet mot en server på den "
                "här datorn (localhost, 127.0.0.1, ::1); använd starttls eller tls",
                field="smtp_security",
                value=f"none mot {self.host}",
            )
        self.port = settings.smtp_port or DEFAULT_PORTS[self.security]
        self.timeout = float(settings.smtp_timeout_seconds)
        self.sender = settings.sender_address
        self.username = settings.smtp_username
        self.password = env.get(SMTP_PASSWORD_VARIABLE) or None
        if self.username and not self.password:
            raise InputError(
                f"smtp_username är satt men lösenordet saknas; sätt {SMTP_PASSWORD_VARIABLE}",
                field="smtp_username",
                value=self.username,
            )
        if self.password and not self.username:
            raise InputError(
                f"{SMTP_PASSWORD_VARIABLE} är satt men smtp_username saknas",
                field="smtp_username",
            )
        self.context = tls_context(settings.smtp_ca_file) if self.security != "none" else None

    @property
    def server(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def find_sent(self, idempotency_key: str) -> str | None:
        """Always None: an SMTP server cannot be asked (see the module docstring)."""
        return None

    def send_many(self, messages: Sequence[OutgoingEmail]) -> Iterator[list[str | MailError]]:
        return send_one_by_one(self.send, messages)

    def send(self, message: OutgoingEmail) -> str:
        recipients = [*message.to, *message.cc]
        if not recipients:
            raise PermanentMailError("meddelandet har ingen mottagare")
        mime = message.to_mime()
        try:
            smtp = self._connect()
            try:
                self._login(smtp)
                refused = self._transmit(smtp, mime, recipients)
            finally:
                _quit(smtp)
        except smtplib.SMTPRecipientsRefused as exc:
            raise self._refused(exc.recipients) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise self._translate(exc) from exc
        if refused:
            detail = "; ".join(
                f"{address}: {_answer(code, text)}" for address, (code, text) in refused.items()
            )
            log.warning(
                "SMTP-servern %s tog emot %s men nekade några mottagare: %s",
                self.server,
                message.idempotency_key,
                detail,
            )
            return f"{message.message_id} (nekade: {detail})"
        return message.message_id

    def _connect(self) -> smtplib.SMTP:
        """Connected, encrypted as configured, and greeted with EHLO."""
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            _ehlo(smtp)
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError(
                        "servern erbjuder inte STARTTLS; skickar inte okrypterat "
                        "(smtp_security: tls för port 465)"
                    )
                smtp.starttls(context=self.context)
                _ehlo(smtp)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def check(self) -> list[str]:
        """Connect, encrypt and log in as configured, send nothing; raise MailError if not."""
        try:
            smtp = self._connect()
            try:
                self._login(smtp)
                tls = "TLS" if self.security != "none" else "okrypterat (loopback)"
            finally:
                _quit(smtp)
        except (smtplib.SMTPException, OSError) as exc:
            raise self._translate(exc) from exc
        login = f"inloggad som {self.username}" if self.username else "utan inloggning"
        return [f"SMTP-servern {self.server} svarar: {tls}, {login}."]

    def _login(self, smtp: smtplib.SMTP) -> None:
        if self.username and self.password:
            if not smtp.has_extn("auth"):
                raise smtplib.SMTPNotSupportedError(
                    "servern erbjuder ingen inloggning (AUTH) men smtp_username är satt"
                )
            _login(smtp, self.username, self.password)

    def _translate(self, exc: BaseException) -> MailError:
        """An smtplib, TLS or socket error as a temporary or permanent MailError."""
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return self._classify(
                exc.smtp_code,
                f"inloggningen som {self.username} nekades av SMTP-servern {self.server}: "
                f"{_answer(exc.smtp_code, exc.smtp_error)}",
            )
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return self._classify(
                exc.smtp_code,
                f"SMTP-servern {self.server} nekade avsändaren {exc.sender}: "
                f"{_answer(exc.smtp_code, exc.smtp_error)}",
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            return self._classify(
                exc.smtp_code,
                f"SMTP-servern {self.server} svarade {_answer(exc.smtp_code, exc.smtp_error)}",
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return PermanentMailError(f"SMTP-servern {self.server}: {exc}")
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            if isinstance(exc.__context__, TimeoutError):
                # Possibly after the DATA was accepted: see the module docstring.
                return TemporaryMailError(
                    f"SMTP-servern {self.server} svarade inte inom {self.timeout:g} s"
                )
            return TemporaryMailError(f"SMTP-servern {self.server} stängde förbindelsen: {exc}")
        if isinstance(exc, smtplib.SMTPException):
            return TemporaryMailError(f"fel mot SMTP-servern {self.server}: {exc}")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return PermanentMailError(
                f"SMTP-serverns certifikat kunde inte verifieras ({self.server}): "
                f"{exc.verify_message or exc}; ange smtp_ca_file för en intern CA"
            )
        if isinstance(exc, ssl.SSLError):
            return TemporaryMailError(f"TLS-fel mot SMTP-servern {self.server}: {exc}")
        if isinstance(exc, TimeoutError):
            # socket.timeout is TimeoutError; the server may have taken the DATA already.
            return TemporaryMailError(
                f"SMTP-servern {self.server} svarade inte inom {self.timeout:g} s"
            )
        if isinstance(exc, OSError):
            return TemporaryMailError(
                f"kunde inte nå SMTP-servern {self.server}: {exc.strerror or exc}"
            )
        return TemporaryMailError(f"fel mot SMTP-servern {self.server}: {exc}")

    def _transmit(
        self, smtp: smtplib.SMTP, mime: EmailMessage, recipients: list[str]
    ) -> dict[str, tuple[int, bytes]]:
        options: list[str] = []
        addresses = "".join([self.sender, *recipients])
        if addresses.isascii() and smtp.has_extn("8bitmime"):
            # to_mime() writes UTF-8 text parts as 8bit; smtplib adds this itself for SMTPUTF8.
            options.append("BODY=8BITMIME")
        return smtp.send_message(
            mime, from_addr=self.sender, to_addrs=recipients, mail_options=options
        )

    def _classify(self, code: int, text: str) -> TemporaryMailError | PermanentMailError:
        if 400 <= code < 500:
            return TemporaryMailError(f"{text} (tillfälligt fel, försöker igen)")
        if 500 <= code < 600:
            return PermanentMailError(text)
        # No answer code (-1: the connection broke while reading the answer).
        return TemporaryMailError(text)

    def _refused(
        self, recipients: Mapping[str, tuple[int, bytes]]
    ) -> TemporaryMailError | PermanentMailError:
        detail = "; ".join(
            f"{address}: {_answer(code, text)}" for address, (code, text) in recipients.items()
        )
        text = f"SMTP-servern {self.server} nekade alla mottagare: {detail}"
        if all(500 <= code < 600 for code, _ in recipients.values()):
            return PermanentMailError(text)
        return TemporaryMailError(f"{text} (tillfälligt fel, försöker igen)")


def _ehlo(smtp: smtplib.SMTP) -> None:
    code, answer = smtp.ehlo()
    if code != 250:
        raise smtplib.SMTPHeloError(code, answer)


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """smtplib's login, or for a non-ASCII name or password (which smtplib cannot encode)
    AUTH PLAIN or LOGIN with UTF-8, as RFC 4616 has it."""
    if (username + password).isascii():
        smtp.login(username, password)
        return
    mechanisms = smtp.esmtp_features.get("auth", "").upper().split()
    user, secret = username.encode(), password.encode()
    if "PLAIN" in mechanisms:
        code, answer = smtp.docmd("AUTH", "PLAIN " + _b64(b"\0" + user + b"\0" + secret))
    elif "LOGIN" in mechanisms:
        code, answer = smtp.docmd("AUTH", "LOGIN " + _b64(user))
        if code == 334:
            code, answer = smtp.docmd(_b64(secret))
    else:
        raise smtplib.SMTPNotSupportedError(
            "servern erbjuder varken AUTH PLAIN eller LOGIN, som behövs för ett "
            "användarnamn eller lösenord med tecken utanför ASCII"
        )
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, answer)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; whatever QUIT answers, the message's fate is already decided."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
