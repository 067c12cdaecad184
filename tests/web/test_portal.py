"""The answer page as an official uses it, and every security rule with the attack it stops."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from remiss.core.states import EventKind, RoundState
from remiss.db.engine import session_scope
from remiss.db.models import Answer, Dispatch, Document, Round
from tests.conftest import future_deadline
from tests.support.documents import docx_bytes, pdf_bytes
from tests.web.conftest import Portal

PDF = pdf_bytes()
DOCX = docx_bytes("Sammanfattning", "Socialnämnden tillstyrker motionen.")


def answer_form(csrf: str, **extra: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "csrf": csrf,
        "stallningstagande": "tillstyrker_delvis",
        "att_sats": ["tillstyrker", ""],
        "sammanfattning": "Nämnden ser positivt på förslaget.",
        "beslutsdatum": "2026-11-20",
        "paragraf": "§ 12",
    }
    form.update(extra)
    return form


def files(*items: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("filer", (name, data, "application/octet-stream")) for name, data in items]


def answers_of(portal: Portal, code: str) -> list[Answer]:
    with session_scope(portal.settings.database_url) as session:
        dispatch = session.scalars(
            select(Dispatch)
            .join(Dispatch.remissinstans)
            .where(Dispatch.remissinstans.has(code=code))
        ).one()
        for answer in dispatch.answers:
            _ = answer.documents  # loaded while the session is open
        return list(dispatch.answers)


def count_documents(portal: Portal) -> int:
    with session_scope(portal.settings.database_url) as session:
        return (
            session.scalar(
                select(func.count()).select_from(Document).where(Document.answer_id.is_not(None))
            )
            or 0
        )


# What Chromium, Firefox and Safari send when a person clicks the link in the e-mail.
CLICKED = {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-User": "?1"}


def test_the_link_shows_the_remiss_and_records_the_first_opening(portal: Portal) -> None:
    token = portal.tokens["socialnamnden"]
    # A link scanner (Safe Links and the like) fetches the page first: shown, not an opening.
    scanned = portal.client.get(f"/r/{token}", headers={"User-Agent": "Mozilla/5.0 (scanner)"})
    assert scanned.status_code == 200
    with session_scope(portal.settings.database_url) as session:
        assert session.scalars(select(Dispatch).where(Dispatch.opened_at.is_not(None))).all() == []
    page = portal.client.get(f"/r/{token}", headers=CLICKED)
    assert page.status_code == 200
    for text in ("KS 2025/348", "Socialnämnden", "Dennis Wedin (M)", "att finansborgarrådet"):
        assert text in page.text
    with session_scope(portal.settings.database_url) as session:
        d = session.scalars(select(Dispatch).where(Dispatch.opened_at.is_not(None))).one()
        first = d.opened_at
        assert [e.kind for e in d.events].count(EventKind.OPENED) == 1
    portal.client.get(f"/r/{token}", headers=CLICKED)
    with session_scope(portal.settings.database_url) as session:
        d = session.scalars(select(Dispatch).where(Dispatch.opened_at.is_not(None))).one()
        assert d.opened_at == first


def test_an_answer_is_stored_with_checksums_before_the_receipt_is_shown(
    make_portal: Callable[..., Portal],
) -> None:
    seen_at_trigger: list[int] = []
    database: list[str] = []

    def check_committed(answer_id: int) -> None:
        # Another session already sees the answer and its files when processing is triggered.
        with session_scope(database[0]) as session:
            seen_at_trigger.append(len(session.get_one(Answer, answer_id).documents))

    portal = make_portal(trigger=check_committed)
    database.append(portal.settings.database_url)
    token = portal.tokens["socialnamnden"]
    response = portal.client.post(
        f"/r/{token}/svar",
        data=answer_form(portal.csrf(token), gemensamt=["servicenamnden"]),
        files=files(("Tjänsteutlåtande.pdf", PDF), ("Protokollsutdrag.docx", DOCX)),
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/r/{token}/kvitto/1"
    assert seen_at_trigger == [2]
    receipt = portal.client.get(response.headers["location"])
    assert "Ert svar har tagits emot" in receipt.text
    assert hashlib.sha256(PDF).hexdigest() in receipt.text
    assert hashlib.sha256(DOCX).hexdigest() in receipt.text
    (answer,) = answers_of(portal, "socialnamnden")
    assert answer.position == "tillstyrker_delvis"
    assert answer.att_sats_positions == {"1": "tillstyrker"}
    assert answer.decision_date == dt.date(2026, 11, 20)
    assert answer.joint_with == ["servicenamnden"]
    stored = {d.filename: d for d in answer.documents}
    assert set(stored) == {"Tjänsteutlåtande.pdf", "Protokollsutdrag.docx"}
    assert (
        portal.settings.documents_dir / stored["Tjänsteutlåtande.pdf"].storage_path
    ).read_bytes() == PDF


def test_a_failing_trigger_keeps_the_answer(make_portal: Callable[..., Portal]) -> None:
    def prefect_unreachable(_answer_id: int) -> None:
        raise ConnectionError("Prefect svarar inte")

    portal = make_portal(trigger=prefect_unreachable)
    token = portal.tokens["kpr"]
    response = portal.client.post(
        f"/r/{token}/svar", data=answer_form(portal.csrf(token)), files=files(("s.pdf", PDF))
    )
    assert response.status_code == 303
    (answer,) = answers_of(portal, "kpr")
    assert answer.processed_at is None, "left for the sweep"


def test_changing_the_answer_adds_a_version_and_keeps_the_first(portal: Portal) -> None:
    token = portal.tokens["bromma"]
    csrf = portal.csrf(token)
    first = portal.client.post(
        f"/r/{token}/svar", data=answer_form(csrf), files=files(("svar.pdf", PDF))
    )
    second = portal.client.post(
        f"/r/{token}/svar",
        data=answer_form(csrf, stallningstagande="avstyrker"),
        files=files(("nytt svar.docx", DOCX)),
    )
    assert (first.status_code, second.status_code) == (303, 303)
    versions = answers_of(portal, "bromma")
    assert [(a.version, a.position) for a in versions] == [
        (1, "tillstyrker_delvis"),
        (2, "avstyrker"),
    ]
    assert [d.filename for d in versions[0].documents] == ["svar.pdf"]
    page = portal.client.get(f"/r/{token}")
    assert "Version 2 (gällande)" in page.text
    assert "Version 1," in page.text


def test_concurrent_submissions_are_all_stored_in_order(portal: Portal) -> None:
    tokens = [portal.tokens["farsta"]] * 4 + [portal.tokens["kpr"]] * 2
    csrfs = {t: portal.csrf(t) for t in set(tokens)}
    barrier = threading.Barrier(len(tokens))
    statuses: list[int] = []

    def submit(token: str, n: int) -> None:
        barrier.wait()
        response = portal.client.post(
            f"/r/{token}/svar",
            data=answer_form(csrfs[token], sammanfattning=f"inlämning {n}"),
            files=files((f"svar {n}.pdf", pdf_bytes(f"svar {n}"))),
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=submit, args=(t, n)) for n, t in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [303] * len(tokens)
    farsta = answers_of(portal, "farsta")
    assert [a.version for a in farsta] == [1, 2, 3, 4]
    assert all(len(a.documents) == 1 for a in farsta)
    assert [a.version for a in answers_of(portal, "kpr")] == [1, 2]


def test_invalid_answer_is_refused_with_a_message_and_nothing_stored(portal: Portal) -> None:
    token = portal.tokens["socialnamnden"]
    csrf = portal.csrf(token)
    response = portal.client.post(
        f"/r/{token}/svar",
        data=answer_form(csrf, stallningstagande=""),
        files=files(("a.pdf", PDF)),
    )
    assert response.status_code == 400
    assert "Välj ert ställningstagande." in response.text
    assert 'aria-invalid="true"' in response.text
    assert answers_of(portal, "socialnamnden") == []
    no_files = portal.client.post(f"/r/{token}/svar", data=answer_form(csrf))
    assert no_files.status_code == 400
    assert "Bifoga minst en fil" in no_files.text
    assert count_documents(portal) == 0


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        pytest.param("svar.pdf", b"MZ\x90\x00" + b"\x00" * 200, "inte en PDF", id="renamed-exe"),
        pytest.param(
            "svar.docx", b"<html><script>alert(1)</script></html>", "inte en PDF", id="html"
        ),
    ],
)
def test_uploads_are_checked_by_content(
    portal: Portal, name: str, data: bytes, message: str
) -> None:
    token = portal.tokens["socialnamnden"]
    response = portal.client.post(
        f"/r/{token}/svar", data=answer_form(portal.csrf(token)), files=files((name, data))
    )
    assert response.status_code == 400
    assert message in response.text
    assert count_documents(portal) == 0


def test_path_traversal_in_a_file_name_is_neutralised(portal: Portal) -> None:
    token = portal.tokens["socialnamnden"]
    response = portal.client.post(
        f"/r/{token}/svar",
        data=answer_form(portal.csrf(token)),
        files=files(("../../../etc/passwd.pdf", PDF)),
    )
    assert response.status_code == 303
    (answer,) = answers_of(portal, "socialnamnden")
    assert answer.documents[0].filename == "passwd.pdf"
    stored = portal.settings.documents_dir / answer.documents[0].storage_path
    assert stored.resolve().is_relative_to(portal.settings.documents_dir.resolve())


def test_an_oversized_upload_is_refused_and_nothing_kept(
    make_portal: Callable[..., Portal],
) -> None:
    portal = make_portal(REMISS_UPLOAD_MAX_TOTAL_MB="1", REMISS_UPLOAD_MAX_FILE_MB="1")
    token = portal.tokens["socialnamnden"]
    big = PDF + b"%" + b"0" * (3 * 1024 * 1024)
    response = portal.client.post(
        f"/r/{token}/svar", data=answer_form(portal.csrf(token)), files=files(("stor.pdf", big))
    )
    assert response.status_code == 413
    assert "för stort" in response.text
    assert count_documents(portal) == 0


def test_forms_without_the_csrf_token_are_refused(portal: Portal) -> None:
    token = portal.tokens["socialnamnden"]
    portal.csrf(token)  # the browser has the cookie, the attacker's form lacks the field
    for path, data in [
        ("kvittens", {"diarienummer": "SN 2026/1"}),
        ("avstar", {"skal": "nej"}),
        ("anstand", {"datum": "2030-01-07", "skal": "möte"}),
    ]:
        response = portal.client.post(f"/r/{token}/{path}", data=data)
        assert response.status_code == 403, path
        forged = portal.client.post(f"/r/{token}/{path}", data={**data, "csrf": "gissat"})
        assert forged.status_code == 403, path
    with session_scope(portal.settings.database_url) as session:
        d = session.scalars(select(Dispatch).where(Dispatch.name == "Socialnämnden")).one()
        assert (d.received_at, d.declined_at, d.anstand) == (None, None, [])


def test_unknown_and_expired_links_get_the_same_answer(portal: Portal) -> None:
    unknown = portal.client.get("/r/" + "A" * 32)
    token = portal.tokens["kpr"]
    with session_scope(portal.settings.database_url) as session:
        rnd = session.scalars(select(Round)).one()
        rnd.state = RoundState.CLOSED
        rnd.closed_at = dt.datetime.now(dt.UTC) - dt.timedelta(
            days=portal.settings.link_valid_days + 1
        )
    expired = portal.client.get(f"/r/{token}")
    assert unknown.status_code == expired.status_code == 404
    assert unknown.text == expired.text


def test_a_closed_round_shows_what_was_sent_and_takes_nothing_more(portal: Portal) -> None:
    token = portal.tokens["kpr"]
    csrf = portal.csrf(token)
    assert (
        portal.client.post(f"/r/{token}/svar", data=answer_form(csrf), files=files(("s.pdf", PDF)))
    ).status_code == 303
    with session_scope(portal.settings.database_url) as session:
        rnd = session.scalars(select(Round)).one()
        rnd.state, rnd.closed_at = RoundState.CLOSED, dt.datetime.now(dt.UTC)
    page = portal.client.get(f"/r/{token}")
    assert "Remissomgången är avslutad" in page.text
    assert "Version 1 (gällande)" in page.text
    assert 'action="/r/' not in page.text
    late = portal.client.post(
        f"/r/{token}/svar", data=answer_form(csrf), files=files(("s.pdf", PDF))
    )
    assert late.status_code == 400
    assert len(answers_of(portal, "kpr")) == 1


def test_a_link_opens_its_own_dispatch_and_nothing_else(portal: Portal) -> None:
    social, bromma = portal.tokens["socialnamnden"], portal.tokens["bromma"]
    csrf = portal.csrf(social)
    portal.client.post(f"/r/{social}/svar", data=answer_form(csrf), files=files(("s.pdf", PDF)))
    (answer,) = answers_of(portal, "socialnamnden")
    document_id = answer.documents[0].id
    own = portal.client.get(f"/r/{social}/filer/{document_id}")
    assert own.status_code == 200
    assert own.content == PDF
    assert own.headers["content-disposition"].startswith("attachment;")
    assert own.headers["x-content-type-options"] == "nosniff"
    assert portal.client.get(f"/r/{bromma}/filer/{document_id}").status_code == 404
    assert portal.client.get(f"/r/{bromma}/kvitto/1").status_code == 404


def test_repeated_failures_from_one_client_are_slowed_down(portal: Portal) -> None:
    statuses = [portal.client.get(f"/r/felaktig{n:02d}").status_code for n in range(12)]
    assert statuses[:9] == [404] * 9
    assert statuses[-1] == 429
    # The official's own link still works from that client, only slower.
    assert portal.client.get(f"/r/{portal.tokens['kpr']}").status_code == 200


def test_every_page_carries_the_security_headers_and_no_script(portal: Portal) -> None:
    token = portal.tokens["socialnamnden"]
    for url in (f"/r/{token}", "/r/okand", "/admin/login", "/"):
        response = portal.client.get(url)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src" not in csp or "'unsafe-inline'" not in csp
        assert "default-src 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "<script" not in response.text.lower()


def test_answer_text_is_escaped(portal: Portal) -> None:
    token = portal.tokens["socialnamnden"]
    csrf = portal.csrf(token)
    attack = "<script>alert('x')</script>"
    portal.client.post(
        f"/r/{token}/svar",
        data=answer_form(csrf, sammanfattning=attack),
        files=files(("s.pdf", PDF)),
    )
    receipt = portal.client.get(f"/r/{token}/kvitto/1")
    assert attack not in receipt.text
    assert "&lt;script&gt;" in receipt.text


def test_logs_hold_neither_links_nor_answer_content(
    portal: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    token = portal.tokens["socialnamnden"]
    caplog.set_level(logging.DEBUG)
    csrf = portal.csrf(token)
    portal.client.post(
        f"/r/{token}/svar",
        data=answer_form(csrf, sammanfattning="Hemlig formulering 4711"),
        files=files(("s.pdf", PDF)),
    )
    # The server's loggers; httpx here is the test's own client, not the server.
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "/r/***" in text
    assert token not in text
    assert "4711" not in text


def test_receipt_anstand_and_declining(portal: Portal) -> None:
    social, service, kpr = (portal.tokens[c] for c in ("socialnamnden", "servicenamnden", "kpr"))
    ok = portal.client.post(
        f"/r/{social}/kvittens",
        data={"csrf": portal.csrf(social), "diarienummer": "SN 2026/1234", "kontaktperson": "Eva"},
    )
    assert ok.status_code == 303
    assert "Mottagandet av remissen är bekräftat" in portal.client.get(ok.headers["location"]).text
    later = future_deadline(weeks=12)  # four weeks after the round's: within the longest anstånd
    early = portal.client.post(
        f"/r/{service}/anstand",
        data={"csrf": portal.csrf(service), "datum": "2020-01-07", "skal": "möte"},
    )
    assert early.status_code == 400
    assert "senare än nuvarande svarsdag" in early.text
    asked = portal.client.post(
        f"/r/{service}/anstand",
        data={
            "csrf": portal.csrf(service),
            "datum": later.isoformat(),
            "skal": "Nämnden sammanträder",
        },
    )
    assert asked.status_code == 303
    declined = portal.client.post(
        f"/r/{kpr}/avstar", data={"csrf": portal.csrf(kpr), "skal": "Berör inte rådet"}
    )
    assert declined.status_code == 303
    with session_scope(portal.settings.database_url) as session:
        by_code = {d.remissinstans.code: d for d in session.scalars(select(Dispatch))}
        assert by_code["socialnamnden"].their_diarienummer == "SN 2026/1234"
        assert by_code["servicenamnden"].anstand[0].requested_date == later
        assert by_code["kpr"].decline_reason == "Berör inte rådet"
