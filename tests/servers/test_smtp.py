"""The SMTP backend against a real SMTP server (aiosmtpd) on loopback.

Plain SMTP, STARTTLS with login and implicit TLS, each with a certificate made here
for 127.0.0.1/localhost; the server's refusals (5xx, 4xx) and its absence; and a round
sent through the real claim logic.
"""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from remiss.core.dates import utcnow
from remiss.core.errors import InputError
from remiss.core.settings import Settings
from remiss.core.tokens import hash_token
from remiss.db.engine import session_scope
from remiss.db.models import Dispatch, Event, OutgoingMessage
from remiss.mail import (
    Attachment,
    OutgoingEmail,
    PermanentMailError,
    TemporaryMailError,
    load_mailer,
)
from remiss.mail.base import KEY_HEADER
from remiss.mail.smtp import SmtpMailer
from remiss.outbox.sending import send_missiv
from remiss.rounds import start as rounds_start
from tests.conftest import SettingsFactory, future_deadline
from tests.support.net import free_port

HOST = "127.0.0.1"
USER = "remiss@stockholm.example"
PASSWORD = "rätt-lösenord-för-test"
SENDER = "remiss@stockholm.example"


# --- the server -------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    authenticated: bool


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it accepts and refuses on request."""

    received: list[Received] = field(default_factory=list)
    rcpt_answers: dict[str, str] = field(default_factory=dict)
    data_answers: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.rcpt_answers:
            return self.rcpt_answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_answers:
            return self.data_answers.pop(0)
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
                tls=server.transport is not None
                and server.transport.get_extra_info("ssl_object") is not None,
                authenticated=bool(session.authenticated),
            )
        )
        return "250 2.0.0 Message accepted for delivery"


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@contextmanager
def smtp_server(handler: Recorder, **kwargs: Any) -> Iterator[int]:
    """An aiosmtpd server on 127.0.0.1 in a thread; yields its port."""
    port = free_port()
    controller = Controller(
        handler, hostname=HOST, port=port, server_hostname="smtp.test", **kwargs
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "remiss test SMTP")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_path, key_path)


# --- the client ---------------------------------------------------------------------------


def smtp_settings(make_settings: SettingsFactory, port: int, **extra: str) -> Settings:
    values = {
        "REMISS_MAIL_BACKEND": "smtp",
        "REMISS_SMTP_HOST": HOST,
        "REMISS_SMTP_PORT": str(port),
        "REMISS_SMTP_SECURITY": "none",
        "REMISS_SMTP_TIMEOUT_SECONDS": "5",
        "REMISS_SENDER_ADDRESS": SENDER,
        **extra,
    }
    return make_settings(**values)


@contextmanager
def starttls_with_login(
    make_settings: SettingsFactory, certificate: Certificate, handler: Recorder
) -> Iterator[Settings]:
    """The usual submission server: STARTTLS required, login only over TLS, an internal CA."""
    with smtp_server(
        handler,
        tls_context=certificate.server_context(),
        require_starttls=True,
        auth_require_tls=True,
        authenticator=authenticator,
    ) as port:
        yield smtp_settings(
            make_settings,
            port,
            REMISS_SMTP_SECURITY="starttls",
            REMISS_SMTP_USERNAME=USER,
            REMISS_SMTP_CA_FILE=str(certificate.cert),
        )


def outgoing(
    key: str = "remiss-test_socialnamnden_missiv_0",
    to: tuple[str, ...] = ("registrator.socialforvaltningen@stockholm.example",),
    cc: tuple[str, ...] = (),
    attachments: tuple[Attachment, ...] = (),
) -> OutgoingEmail:
    return OutgoingEmail(
        idempotency_key=key,
        to=to,
        cc=cc,
        subject="Remiss: KS 2025/348 – svar senast 29 januari 2027",
        text="Hej!\n\nHär är remissen. Svara via länken.\n\nStadsledningskontoret\n",
        html="<p>Hej!</p><p>Här är remissen. <a href='https://x.example/r/abc'>Svara</a></p>",
        sender=SENDER,
        sender_name="Stadsledningskontoret",
        reply_to=SENDER,
        attachments=attachments,
    )


# --- delivery -----------------------------------------------------------------------------


def test_a_message_arrives_with_envelope_headers_html_and_attachment(
    make_settings: SettingsFactory,
) -> None:
    handler = Recorder()
    data = bytes(range(256)) * 40 + b"\r\n.\r\n%%EOF"  # binary, and a line that is only a dot
    email_ = outgoing(
        to=("a@stockholm.example", "b@stockholm.example"),
        cc=("handlaggare@stockholm.example",),
        attachments=(Attachment("motion.pdf", "application/pdf", data),),
    )
    with smtp_server(handler) as port:
        mailer = load_mailer(smtp_settings(make_settings, port))
        assert isinstance(mailer, SmtpMailer)
        provider_id = mailer.send(email_)

    assert provider_id == email_.message_id
    [got] = handler.received
    assert got.mail_from == SENDER
    assert got.rcpt_tos == [
        "a@stockholm.example",
        "b@stockholm.example",
        "handlaggare@stockholm.example",
    ]
    assert not got.tls
    msg = got.message
    assert msg["Subject"] == email_.subject
    assert msg[KEY_HEADER] == email_.idempotency_key
    assert msg["Message-ID"] == provider_id
    assert msg["Cc"] == "handlaggare@stockholm.example"
    assert "Bcc" not in msg
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert plain is not None
    assert "Här är remissen" in plain.get_content()
    assert html is not None
    assert "<a href='https://x.example/r/abc'>" in html.get_content()
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "motion.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == data
    assert mailer.find_sent(email_.idempotency_key) is None  # an SMTP server cannot be asked


def test_starttls_with_login_against_an_internal_ca(
    make_settings: SettingsFactory, certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMISS_SMTP_PASSWORD", PASSWORD)
    handler = Recorder()
    with starttls_with_login(make_settings, certificate, handler) as settings:
        provider_id = SmtpMailer(settings).send(outgoing())
    [got] = handler.received
    assert got.tls
    assert got.authenticated
    assert got.message["Message-ID"] == provider_id


def test_starttls_with_a_wrong_password_is_a_permanent_failure(
    make_settings: SettingsFactory, certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMISS_SMTP_PASSWORD", "fel-lösenord")
    handler = Recorder()
    with (
        starttls_with_login(make_settings, certificate, handler) as settings,
        pytest.raises(PermanentMailError) as info,
    ):
        SmtpMailer(settings).send(outgoing())
    assert "inloggningen" in str(info.value)
    assert "535" in str(info.value)  # the server's answer is named
    assert "fel-lösenord" not in str(info.value)
    assert handler.received == []


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_the_certificate_is_checked_against_the_system_store_by_default(
    make_settings: SettingsFactory, certificate: Certificate, security: str
) -> None:
    handler = Recorder()
    context = certificate.server_context()
    server_tls = {"tls_context": context} if security == "starttls" else {"ssl_context": context}
    with smtp_server(handler, **server_tls) as port:
        settings = smtp_settings(make_settings, port, REMISS_SMTP_SECURITY=security)
        with pytest.raises(PermanentMailError) as info:
            SmtpMailer(settings).send(outgoing())
    assert "certifikat" in str(info.value)
    assert handler.received == []


def test_starttls_is_required_not_skipped(make_settings: SettingsFactory) -> None:
    handler = Recorder()
    with smtp_server(handler) as port:  # offers no STARTTLS
        settings = smtp_settings(make_settings, port, REMISS_SMTP_SECURITY="starttls")
        with pytest.raises(PermanentMailError, match="STARTTLS"):
            SmtpMailer(settings).send(outgoing())
    assert handler.received == []


def test_implicit_tls(
    make_settings: SettingsFactory, certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMISS_SMTP_PASSWORD", PASSWORD)
    handler = Recorder()
    # aiosmtpd offers AUTH over implicit TLS only with auth_require_tls off (it counts only
    # STARTTLS as TLS); the connection is encrypted all the same.
    with smtp_server(
        handler,
        ssl_context=certificate.server_context(),
        auth_require_tls=False,
        authenticator=authenticator,
    ) as port:
        settings = smtp_settings(
            make_settings,
            port,
            REMISS_SMTP_SECURITY="tls",
            REMISS_SMTP_USERNAME=USER,
            REMISS_SMTP_CA_FILE=str(certificate.cert),
        )
        provider_id = SmtpMailer(settings).send(outgoing())
    [got] = handler.received
    assert got.tls
    assert got.authenticated
    assert got.message["Message-ID"] == provider_id


# --- refusals and failures --------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "answer", "error"),
    [
        ("rcpt", "550 5.1.1 Mailbox unavailable", PermanentMailError),
        ("rcpt", "451 4.3.0 Try again later", TemporaryMailError),
        ("data", "451 4.3.0 Try again later", TemporaryMailError),
        ("data", "554 5.6.0 Message rejected", PermanentMailError),
    ],
)
def test_the_servers_answer_decides_permanent_or_temporary(
    make_settings: SettingsFactory, stage: str, answer: str, error: type[Exception]
) -> None:
    to = "registrator.socialforvaltningen@stockholm.example"
    handler = Recorder()
    if stage == "rcpt":
        handler.rcpt_answers[to] = answer
    else:
        handler.data_answers.append(answer)
    with smtp_server(handler) as port:
        mailer = SmtpMailer(smtp_settings(make_settings, port))
        with pytest.raises((PermanentMailError, TemporaryMailError)) as info:
            mailer.send(outgoing(to=(to,)))
    assert type(info.value) is error
    assert answer in str(info.value)  # names the server's answer
    assert handler.received == []


def test_some_recipients_refused_is_sent_to_the_others_and_says_which(
    make_settings: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Recorder(rcpt_answers={"gone@stockholm.example": "550 5.1.1 Mailbox unavailable"})
    email_ = outgoing(to=("a@stockholm.example",), cc=("gone@stockholm.example",))
    with smtp_server(handler) as port:
        provider_id = SmtpMailer(smtp_settings(make_settings, port)).send(email_)
    [got] = handler.received
    assert got.rcpt_tos == ["a@stockholm.example"]
    assert provider_id.startswith(email_.message_id)
    assert "gone@stockholm.example: 550 5.1.1 Mailbox unavailable" in provider_id
    assert "gone@stockholm.example" in caplog.text


def test_a_server_that_is_not_listening_is_a_temporary_failure(
    make_settings: SettingsFactory,
) -> None:
    mailer = SmtpMailer(smtp_settings(make_settings, free_port()))
    with pytest.raises(TemporaryMailError, match="kunde inte nå SMTP-servern"):
        mailer.send(outgoing())


def test_a_server_that_does_not_answer_is_a_temporary_failure(
    make_settings: SettingsFactory,
) -> None:
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind((HOST, 0))
        silent.listen()
        settings = smtp_settings(
            make_settings, silent.getsockname()[1], REMISS_SMTP_TIMEOUT_SECONDS="1"
        )
        with pytest.raises(TemporaryMailError, match="svarade inte inom 1 s"):
            SmtpMailer(settings).send(outgoing())


# --- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["smtp.stockholm.example", "10.0.0.25", "[2001:db8::25]"])
def test_plain_smtp_is_refused_for_a_host_that_is_not_loopback(
    make_settings: SettingsFactory, host: str
) -> None:
    settings = smtp_settings(make_settings, 25, REMISS_SMTP_HOST=host)
    with pytest.raises(InputError) as info:
        load_mailer(settings)
    assert info.value.field == "smtp_security"
    assert "localhost" in str(info.value)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1"])
def test_plain_smtp_is_allowed_on_loopback(make_settings: SettingsFactory, host: str) -> None:
    mailer = SmtpMailer(smtp_settings(make_settings, 2525, REMISS_SMTP_HOST=host))
    assert mailer.security == "none"


def test_the_smtp_backend_needs_a_host(make_settings: SettingsFactory) -> None:
    with pytest.raises(InputError) as info:
        load_mailer(make_settings(REMISS_MAIL_BACKEND="smtp"))
    assert info.value.field == "smtp_host"


def test_ports_default_by_security(make_settings: SettingsFactory) -> None:
    starttls = make_settings(REMISS_SMTP_HOST="smtp.stockholm.example")
    assert starttls.smtp_security == "starttls"
    assert starttls.smtp_timeout_seconds == 30
    assert SmtpMailer(starttls).port == 587
    tls = make_settings(REMISS_SMTP_HOST="smtp.stockholm.example", REMISS_SMTP_SECURITY="TLS")
    assert SmtpMailer(tls).port == 465
    explicit = make_settings(REMISS_SMTP_HOST="smtp.stockholm.example", REMISS_SMTP_PORT="2587")
    assert SmtpMailer(explicit).port == 2587


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("REMISS_SMTP_SECURITY", "ssl", "smtp_security"),
        ("REMISS_SMTP_PORT", "femhundra", "smtp_port"),
        ("REMISS_SMTP_PORT", "70000", "smtp_port"),
        ("REMISS_SMTP_TIMEOUT_SECONDS", "0", "smtp_timeout_seconds"),
        ("REMISS_SMTP_TIMEOUT_SECONDS", "en halvtimme", "smtp_timeout_seconds"),
        ("REMISS_SMTP_HOST", "smtp://smtp.stockholm.example", "smtp_host"),
        ("REMISS_SMTP_HOST", "smtp.stockholm.example:587", "smtp_host"),
    ],
)
def test_bad_smtp_settings_are_refused_naming_the_field(
    make_settings: SettingsFactory, variable: str, value: str, key: str
) -> None:
    with pytest.raises(InputError) as info:
        make_settings(**{variable: value})
    assert info.value.field == key
    assert f"fältet {key}" in str(info.value)


def test_a_username_without_the_password_variable_is_refused(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REMISS_SMTP_PASSWORD", raising=False)
    settings = make_settings(REMISS_SMTP_HOST="smtp.stockholm.example", REMISS_SMTP_USERNAME=USER)
    with pytest.raises(InputError, match="REMISS_SMTP_PASSWORD") as info:
        SmtpMailer(settings)
    assert info.value.field == "smtp_username"


def test_a_missing_ca_file_is_refused_naming_the_field(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = make_settings(
        REMISS_SMTP_HOST="smtp.stockholm.example",
        REMISS_SMTP_CA_FILE=str(tmp_path / "saknas.pem"),
    )
    with pytest.raises(InputError) as info:
        SmtpMailer(settings)
    assert info.value.field == "smtp_ca_file"


def test_the_password_is_not_a_setting(make_settings: SettingsFactory, tmp_path: Path) -> None:
    config = tmp_path / "projekt" / "config" / "settings.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("smtp_host: smtp.stockholm.example\nsmtp_password: hemligt\n")
    with pytest.raises(InputError) as info:
        make_settings(REMISS_CONFIG=str(config))
    assert info.value.field == "smtp_password"


# --- through the claim logic ---------------------------------------------------------------

CODES = ["socialnamnden", "servicenamnden", "kulturnamnden"]


def start_round(settings: Settings, case_dir: Path) -> list[int]:
    rounds_start.init(settings, now=utcnow())
    round_id = rounds_start.prepare_round(
        settings,
        case_dir / "arende.yaml",
        now=utcnow(),
        to=CODES,
        deadline=future_deadline().isoformat(),
    )
    return rounds_start.pending_sends(settings, round_id)


def link_token(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    match = re.search(r"https://remiss\.stockholm\.example/r/([A-Za-z0-9_-]+)", body.get_content())
    assert match, "the e-mail carries the personal answer link"
    return match.group(1)


def test_a_round_is_sent_through_smtp_one_message_per_remissinstans(
    make_settings: SettingsFactory,
    certificate: Certificate,
    case_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REMISS_SMTP_PASSWORD", PASSWORD)
    handler = Recorder()
    with starttls_with_login(make_settings, certificate, handler) as settings:
        dispatch_ids = start_round(settings, case_dir)
        mailer = load_mailer(settings)
        outcomes = [
            send_missiv(d, settings=settings, mailer=mailer, now=utcnow()) for d in dispatch_ids
        ]
        # A second pass finds nothing left to send.
        again = [
            send_missiv(d, settings=settings, mailer=mailer, now=utcnow()) for d in dispatch_ids
        ]

    assert [o.result for o in outcomes] == ["sent"] * len(CODES)
    assert [o.result for o in again] == ["already_sent"] * len(CODES)
    assert len(handler.received) == len(CODES)
    motion = (case_dir / "motion.pdf").read_bytes()
    with session_scope(settings.database_url) as session:
        dispatches = {d.email: d for d in session.scalars(select(Dispatch))}
        assert len(dispatches) == len(CODES)
        tokens = set()
        for got in handler.received:
            assert got.tls
            assert got.authenticated
            assert got.mail_from == SENDER
            [address] = got.rcpt_tos
            dispatch = dispatches[address]
            assert str(got.message["To"]) == address
            token = link_token(got.message)
            assert hash_token(token) == dispatch.token_hash
            tokens.add(token)
            assert dispatch.state == "sent"
            message = session.scalars(
                select(OutgoingMessage).where(OutgoingMessage.dispatch_id == dispatch.id)
            ).one()
            assert message.provider_id == got.message["Message-ID"]
            assert got.message[KEY_HEADER] == message.idempotency_key
            [attachment] = list(got.message.iter_attachments())
            assert attachment.get_content() == motion
        assert len(tokens) == len(CODES)
        backends = session.scalars(select(Event.detail).where(Event.kind == "sent")).all()
        assert [d["backend"] for d in backends] == ["smtp"] * len(CODES)


def test_a_temporary_refusal_releases_the_claim_and_the_retry_sends_once(
    make_settings: SettingsFactory, case_dir: Path
) -> None:
    handler = Recorder(data_answers=["451 4.3.0 Try again later"])
    with smtp_server(handler) as port:
        settings = smtp_settings(make_settings, port)
        [first, *_others] = start_round(settings, case_dir)
        mailer = load_mailer(settings)
        refused = send_missiv(first, settings=settings, mailer=mailer, now=utcnow())
        assert refused.result == "unsent"
        assert "451 4.3.0 Try again later" in refused.detail
        with session_scope(settings.database_url) as session:
            message = session.scalars(
                select(OutgoingMessage).where(OutgoingMessage.dispatch_id == first)
            ).one()
            assert (message.state, message.attempts) == ("pending", 1)  # the claim is released
        assert send_missiv(first, settings=settings, mailer=mailer, now=utcnow()).result == "sent"
    assert len(handler.received) == 1
    with session_scope(settings.database_url) as session:
        kinds = session.scalars(
            select(Event.kind).where(Event.dispatch_id == first).order_by(Event.id)
        ).all()
        assert kinds[-2:] == ["send_retry", "sent"]


def test_a_refused_mailbox_marks_the_dispatch_failed(
    make_settings: SettingsFactory, case_dir: Path
) -> None:
    handler = Recorder()
    with smtp_server(handler) as port:
        settings = smtp_settings(make_settings, port)
        [first, *_others] = start_round(settings, case_dir)
        with session_scope(settings.database_url) as session:
            address = session.get_one(Dispatch, first).email
        handler.rcpt_answers[address] = "550 5.1.1 Mailbox unavailable"
        outcome = send_missiv(first, settings=settings, mailer=load_mailer(settings), now=utcnow())
    assert outcome.result == "failed"
    assert "550 5.1.1 Mailbox unavailable" in outcome.detail
    with session_scope(settings.database_url) as session:
        assert session.get_one(Dispatch, first).state == "failed"
    assert handler.received == []
