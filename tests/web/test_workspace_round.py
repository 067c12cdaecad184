"""The round page in the workspace: following a running round, and acting on it."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from remiss.answers import anstand as anstand_service
from remiss.answers import service as answers
from remiss.core import dates
from remiss.core.states import EventKind, MessageKind, MessageState
from remiss.core.terms import NOT_REVIEWED
from remiss.db.engine import session_scope
from remiss.db.models import (
    Anstand,
    Answer,
    AuditEntry,
    Dispatch,
    Event,
    OutgoingMessage,
    Round,
)
from remiss.outbox.sending import send_message
from remiss.report.compiling import extract_answer_texts
from remiss.storage.uploads import UploadLimits, check_files
from tests.support.documents import pdf_bytes
from tests.support.mailers import RecordingOutbox
from tests.support.real_documents import load_manifest, render
from tests.support.rounds import dispatch_of, link_in, read_eml
from tests.web.conftest import Portal

HANDLAGGARE = {"X-Remote-User": "karin.lindqvist"}
LASARE = {"X-Remote-User": "lars.berg"}
ROLES = "karin.lindqvist=handlaggare;lars.berg=lasare"


@pytest.fixture
def ws(make_portal: Callable[..., Portal]) -> Portal:
    return make_portal(REMISS_ADMIN_SSO_HEADER="X-Remote-User", REMISS_ADMIN_ROLES=ROLES)


def page(portal: Portal, query: str = "", headers: dict[str, str] = HANDLAGGARE) -> str:
    response = portal.client.get(f"/admin/omgang/1{query}", headers=headers)
    assert response.status_code == 200, response.text
    text: str = response.text
    return text


def csrf_of(portal: Portal) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page(portal))
    assert match
    return match.group(1)


def post(
    portal: Portal, path: str, data: dict[str, str], headers: dict[str, str] = HANDLAGGARE
) -> tuple[int, str, str]:
    response = portal.client.post(
        f"/admin/omgang/1{path}", data={"csrf": csrf_of(portal), **data}, headers=headers
    )
    return response.status_code, response.headers.get("location", ""), response.text


def bounce(portal: Portal, code: str, reason: str = "550 5.1.1 mottagaren finns inte") -> int:
    """What the mailbox poll records for a non-delivery report of the remissmissiv."""
    now = dates.utcnow()
    with session_scope(portal.settings.database_url) as session:
        d = dispatch_of(session, code)
        d.bounced_at, d.bounce_reason = now, reason
        session.add(
            Event(dispatch_id=d.id, at=now, kind=EventKind.BOUNCED, detail={"reason": reason})
        )
        return d.id


def messages(portal: Portal, dispatch_id: int) -> list[tuple[str, int, str]]:
    with session_scope(portal.settings.database_url) as session:
        return [
            (m.kind, m.stage, m.state)
            for m in session.scalars(
                select(OutgoingMessage)
                .where(OutgoingMessage.dispatch_id == dispatch_id)
                .order_by(OutgoingMessage.id)
            )
        ]


def audit(portal: Portal) -> list[tuple[str, str]]:
    with session_scope(portal.settings.database_url) as session:
        return [(e.user_name, e.action) for e in session.scalars(select(AuditEntry))]


def e_mailed_answer(
    portal: Portal,
    code: str,
    file: tuple[str, bytes] = ("yttrande.pdf", b""),
    sender: str | None = None,
) -> int:
    """An answer that came by e-mail, as the mailbox poll stores it: to be reviewed."""
    files = check_files([(file[0], file[1] or pdf_bytes())], UploadLimits())
    with session_scope(portal.settings.database_url) as session:
        answer = answers.submit_answer(
            session,
            dispatch=dispatch_of(session, code),
            values={
                "position": NOT_REVIEWED,
                "att_sats_positions": {},
                "summary": None,
                "contact_email": sender or dispatch_of(session, code).email,
                "needs_review": True,
                "email_message_id": "<svar@farsta.example>",
            },
            files=files,
            store=portal.settings.documents_dir,
            now=dates.utcnow(),
            channel="email",
        )
        return answer.id


def ask_anstand(portal: Portal, code: str, day: dt.date) -> int:
    with session_scope(portal.settings.database_url) as session:
        request = anstand_service.request_anstand(
            session,
            dispatch=dispatch_of(session, code),
            new_date=day.isoformat(),
            reason="Nämnden sammanträder först i mars.",
            requested_by="registrator@bromma.example",
            now=dates.utcnow(),
        )
        return request.id


def working_day_after(day: dt.date, days: int) -> dt.date:
    later = day + dt.timedelta(days=days)
    while not dates.is_working_day(later):
        later += dt.timedelta(days=1)
    return later


def round_deadline(portal: Portal) -> dt.date:
    with session_scope(portal.settings.database_url) as session:
        return session.get_one(Round, 1).svar_senast


# --- Following ---------------------------------------------------------------------------


def test_the_round_page_shows_each_state_and_filters_without_javascript(ws: Portal) -> None:
    bounce(ws, "kpr")
    with session_scope(ws.settings.database_url) as session:
        answers.confirm_receipt(
            session,
            dispatch=dispatch_of(session, "servicenamnden"),
            their_diarienummer="SN 2026/77",
            contact_name=None,
            contact_email=None,
            now=dates.utcnow(),
        )
        answers.decline(
            session,
            dispatch=dispatch_of(session, "socialnamnden"),
            reason="Berör inte nämnden.",
            now=dates.utcnow(),
            tz=ws.settings.timezone,
        )
    ask_anstand(ws, "bromma", working_day_after(round_deadline(ws), 14))
    text = page(ws)
    assert "Studsade" in text
    assert "550 5.1.1 mottagaren finns inte" in text
    assert "Mottagandet bekräftat" in text
    assert "deras dnr SN 2026/77" in text
    assert "begärt, väntar på beslut" in text
    assert "Avstår: Berör inte nämnden." in text
    # The filter is a plain link: ?visa=studsade lists only the bounced one.
    assert 'href="/admin/omgang/1?visa=studsade#instanser-rubrik"' in text
    bounced = page(ws, "?visa=studsade")
    table = bounced.split("<tbody>")[1].split("</tbody>")[0]
    assert "Kommunala pensionärsrådet" in table
    assert table.count("<tr>") == 1
    assert 'aria-current="true">Studsade eller misslyckade (1)' in bounced
    kvitterade = page(ws, "?visa=kvitterade").split("<tbody>")[1].split("</tbody>")[0]
    assert "SN 2026/77" in kvitterade
    assert kvitterade.count("<tr>") == 1
    # An unknown filter shows everything rather than failing.
    assert page(ws, "?visa=<script>").count("<tr>") == page(ws).count("<tr>")


def test_reminders_sent_and_the_next_planned_one_are_shown(ws: Portal) -> None:
    text = page(ws)
    assert "Inga skickade." in text
    assert "Nästa: påminnelse 10 arbetsdagar före svarsdagen" in text
    assert "Ärendets gång" in text


# --- Correcting a bounced address ------------------------------------------------------------


def test_a_bounced_address_is_corrected_and_the_remiss_sent_again_once(ws: Portal) -> None:
    dispatch_id = bounce(ws, "farsta")
    status, location, _ = post(
        ws, f"/adress/{dispatch_id}", {"ny_epost": "registrator@farsta.example"}
    )
    assert (status, location) == (303, "/admin/omgang/1?klart=adress")
    assert ws.jobs.submitted == [("skicka", {"round_id": 1})]
    assert messages(ws, dispatch_id) == [
        ("missiv", 0, MessageState.SENT),
        ("missiv", 1, MessageState.PENDING),
    ]
    with session_scope(ws.settings.database_url) as session:
        d = session.get_one(Dispatch, dispatch_id)
        assert d.email == "registrator@farsta.example"
        kinds = [e.kind for e in d.events]
        assert EventKind.BOUNCED in kinds
        assert kinds[-1] == EventKind.ADDRESS_CORRECTED
        corrected = d.events[-1].detail
        assert corrected["reason"] == "550 5.1.1 mottagaren finns inte"
        assert corrected["to"] == "registrator@farsta.example"
    assert audit(ws) == [("karin.lindqvist", "address_corrected")]
    assert "Adressen är rättad" in page(ws, "?klart=adress")

    # The same correction again (a double click, a resubmitted form): nothing more.
    again = post(ws, f"/adress/{dispatch_id}", {"ny_epost": "registrator@farsta.example"})
    assert again[:2] == (303, "/admin/omgang/1?klart=redan-rattad")
    assert ws.jobs.submitted == [("skicka", {"round_id": 1})]
    assert len(messages(ws, dispatch_id)) == 2
    assert audit(ws) == [("karin.lindqvist", "address_corrected")]

    # What the job sends: the remiss to the new address, with the link the old one had.
    with session_scope(ws.settings.database_url) as session:
        new_id = session.scalars(
            select(OutgoingMessage.id).where(
                OutgoingMessage.dispatch_id == dispatch_id, OutgoingMessage.stage == 1
            )
        ).one()
    outcome = send_message(
        new_id, settings=ws.settings, mailer=RecordingOutbox(ws.settings), now=dates.utcnow()
    )
    assert outcome.result == "sent"
    eml = read_eml(next(ws.settings.outbox_dir.glob("*farsta_missiv_1.eml")))
    assert eml["To"] == "registrator@farsta.example"
    assert link_in(eml).endswith(ws.tokens["farsta"])
    text = page(ws)
    assert "Adressen rättad" in text
    assert "Studsade eller misslyckade (0)" in text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Ange den nya e-postadressen."),
        ("inte en adress", "Ange en giltig e-postadress"),
    ],
)
def test_a_bad_corrected_address_is_refused_at_its_field(
    ws: Portal, value: str, message: str
) -> None:
    dispatch_id = bounce(ws, "farsta")
    status, _, text = post(ws, f"/adress/{dispatch_id}", {"ny_epost": value})
    assert status == 422
    assert message in text
    assert f'href="#ny_epost-{dispatch_id}"' in text
    assert f'value="{value}"' in text
    assert len(messages(ws, dispatch_id)) == 1
    assert ws.jobs.submitted == []
    assert audit(ws) == []


def test_an_address_that_did_not_bounce_is_not_corrected(ws: Portal) -> None:
    with session_scope(ws.settings.database_url) as session:
        dispatch_id = dispatch_of(session, "bromma").id
    status, _, text = post(ws, f"/adress/{dispatch_id}", {"ny_epost": "ny@bromma.example"})
    assert status == 422
    assert "har inte studsat" in text
    assert len(messages(ws, dispatch_id)) == 1


# --- Anstånd -----------------------------------------------------------------------------


def test_an_anstand_is_granted_with_a_note_and_the_decision_sent(ws: Portal) -> None:
    wanted = working_day_after(round_deadline(ws), 14)
    request_id = ask_anstand(ws, "bromma", wanted)
    assert "Bevilja anstånd" in page(ws)
    status, location, _ = post(
        ws,
        f"/anstand/{request_id}",
        {"beslut": "bevilja", "datum": wanted.isoformat(), "meddelande": "Välkommen."},
    )
    assert (status, location) == (303, "/admin/omgang/1?klart=beviljat")
    assert ws.jobs.submitted == [("skicka", {"round_id": 1})]
    with session_scope(ws.settings.database_url) as session:
        request = session.get_one(Anstand, request_id)
        assert (request.state, request.granted_date, request.decision_note) == (
            "granted",
            wanted,
            "Välkommen.",
        )
        assert request.dispatch.deadline == wanted
        queued = [m.kind for m in request.dispatch.messages]
        assert MessageKind.ANSTAND_BESLUT in queued
    assert audit(ws) == [("karin.lindqvist", "anstand_granted")]
    text = page(ws)
    assert "Inga begäranden om anstånd väntar på beslut." in text
    assert "Beviljade anstånd" in text
    assert f"beviljat till {dates.swedish_date(wanted)}" in text


def test_an_anstand_is_refused(ws: Portal) -> None:
    request_id = ask_anstand(ws, "bromma", working_day_after(round_deadline(ws), 14))
    status, location, _ = post(
        ws, f"/anstand/{request_id}", {"beslut": "avsla", "meddelande": "Tiden räcker."}
    )
    assert (status, location) == (303, "/admin/omgang/1?klart=avslaget")
    with session_scope(ws.settings.database_url) as session:
        assert session.get_one(Anstand, request_id).state == "refused"
    assert audit(ws) == [("karin.lindqvist", "anstand_refused")]
    # Decided once: the same form again is refused, and nothing more is sent.
    again = post(ws, f"/anstand/{request_id}", {"beslut": "avsla"})
    assert again[0] == 409
    assert "redan avgjord" in again[2]
    assert ws.jobs.submitted == [("skicka", {"round_id": 1})]


def test_an_anstand_date_beyond_the_limit_is_refused_at_its_field(ws: Portal) -> None:
    request_id = ask_anstand(ws, "bromma", working_day_after(round_deadline(ws), 14))
    status, _, text = post(
        ws, f"/anstand/{request_id}", {"beslut": "bevilja", "datum": "2031-01-07"}
    )
    assert status == 422
    assert "Anstånd kan ges till och med" in text
    assert f'href="#anstand-{request_id}-datum"' in text
    assert 'value="2031-01-07"' in text
    with session_scope(ws.settings.database_url) as session:
        assert session.get_one(Anstand, request_id).state == "requested"
    assert ws.jobs.submitted == []
    assert audit(ws) == []


# --- Reviewing an answer that came by e-mail ----------------------------------------------


def test_an_answer_by_e_mail_is_reviewed_with_positions_per_att_sats(ws: Portal) -> None:
    e_mailed_answer(ws, "farsta")
    text = page(ws)
    with session_scope(ws.settings.database_url) as session:
        dispatch_id = dispatch_of(session, "farsta").id
    assert f'href="/admin/omgang/1/granska/{dispatch_id}"' in text
    form = ws.client.get(f"/admin/omgang/1/granska/{dispatch_id}", headers=HANDLAGGARE)
    assert form.status_code == 200
    assert "yttrande.pdf" in form.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    missing = ws.client.post(
        f"/admin/omgang/1/granska/{dispatch_id}",
        data={"csrf": csrf.group(1), "att_sats_1": "avstyrker", "sammanfattning": "Kort."},
        headers=HANDLAGGARE,
    )
    assert missing.status_code == 422
    assert "Välj ställningstagandet" in missing.text
    assert 'href="#stallning-tillstyrker"' in missing.text
    assert '<option value="avstyrker" selected>' in missing.text
    assert "Kort." in missing.text
    done = ws.client.post(
        f"/admin/omgang/1/granska/{dispatch_id}",
        data={
            "csrf": csrf.group(1),
            "stallningstagande": "tillstyrker_delvis",
            "att_sats_1": "tillstyrker",
            "att_sats_2": "avstyrker",
            "sammanfattning": "Stöder avtalet men inte donationerna.",
        },
        headers=HANDLAGGARE,
    )
    assert (done.status_code, done.headers["location"]) == (303, "/admin/omgang/1?klart=granskat")
    with session_scope(ws.settings.database_url) as session:
        answer = dispatch_of(session, "farsta").current_answer
        assert answer is not None
        assert (answer.version, answer.position, answer.reviewed_by) == (
            2,
            "tillstyrker_delvis",
            "karin.lindqvist",
        )
        assert answer.att_sats_positions == {"1": "tillstyrker", "2": "avstyrker"}
    assert audit(ws) == [("karin.lindqvist", "answer_reviewed")]
    assert "Granskat av karin.lindqvist" in page(ws)


def test_the_review_is_filled_in_from_what_the_real_document_says(ws: Portal) -> None:
    # A real Arboga protokollsutdrag (tests/fixtures/real), e-mailed as a Word file.
    (entry,) = [e for e in load_manifest() if e.id == "arboga-ks-2015-regionalt-utvecklingsansvar"]
    data, kind = render(entry)
    answer_id = e_mailed_answer(ws, "farsta", (f"protokoll.{kind}", data))
    assert extract_answer_texts(ws.settings, answer_id=answer_id) == 1  # as on arrival
    with session_scope(ws.settings.database_url) as session:
        dispatch_id = dispatch_of(session, "farsta").id
    form = ws.client.get(f"/admin/omgang/1/granska/{dispatch_id}", headers=HANDLAGGARE)
    assert form.status_code == 200
    assert "Det här står i dokumenten" in form.text
    assert "Formuläret är förifyllt" in form.text
    # The position the document states is chosen, and the sentence it came from is shown.
    checked = re.findall(r'name="stallningstagande" value="(\w+)" checked', form.text)
    assert checked == ["tillstyrker"]
    shown = " ".join(html.unescape(form.text).split())
    assert "Tillstyrker: ”" in shown
    # Nothing is stored until the person saves.
    with session_scope(ws.settings.database_url) as session:
        assert dispatch_of(session, "farsta").current_answer.needs_review  # type: ignore[union-attr]
    assert "Ställningstaganden att kontrollera" not in page(ws)

    # Saved against what the document says: the round page asks for a check.
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    saved = ws.client.post(
        f"/admin/omgang/1/granska/{dispatch_id}",
        data={"csrf": csrf.group(1), "stallningstagande": "avstyrker"},
        headers=HANDLAGGARE,
    )
    assert saved.status_code == 303
    round_page = " ".join(html.unescape(page(ws)).split())
    assert "Ställningstaganden att kontrollera" in round_page
    assert "Farsta stadsdelsnämnd angav ”avstyrker”, men protokoll.docx säger ”tillstyrker”" in (
        round_page
    )


def test_a_scanned_answer_is_said_to_be_unreadable_and_nothing_is_filled_in(ws: Portal) -> None:
    (entry,) = [e for e in load_manifest() if e.form == "pdf-scanned"]
    data, kind = render(entry)
    answer_id = e_mailed_answer(ws, "farsta", (f"skannat.{kind}", data))
    extract_answer_texts(ws.settings, answer_id=answer_id)
    with session_scope(ws.settings.database_url) as session:
        dispatch_id = dispatch_of(session, "farsta").id
    form = ws.client.get(f"/admin/omgang/1/granska/{dispatch_id}", headers=HANDLAGGARE)
    assert "Texten i skannat.pdf kunde inte läsas" in form.text
    assert "Formuläret är förifyllt" not in form.text
    assert " checked" not in form.text


def test_the_review_shows_what_was_read_on_arrival_without_reading_the_file_again(
    ws: Portal,
) -> None:
    (entry,) = [e for e in load_manifest() if e.id == "arboga-ks-2015-regionalt-utvecklingsansvar"]
    data, kind = render(entry)
    answer_id = e_mailed_answer(ws, "farsta", (f"protokoll.{kind}", data))
    extract_answer_texts(ws.settings, answer_id=answer_id)
    with session_scope(ws.settings.database_url) as session:
        (document,) = session.get_one(Answer, answer_id).documents
        stored = document.reading
        assert stored is not None
        assert stored["reading"]["position"]["value"] == "tillstyrker"
        # Changed behind the reader's back: the page must show the stored reading.
        stored = {**stored, "reading": {**stored["reading"]}}
        stored["reading"]["position"] = {"value": "avstyrker", "sentence": "Lagrad mening."}
        document.reading = stored
        dispatch_id = dispatch_of(session, "farsta").id
    form = ws.client.get(f"/admin/omgang/1/granska/{dispatch_id}", headers=HANDLAGGARE)
    checked = re.findall(r'name="stallningstagande" value="(\w+)" checked', form.text)
    assert checked == ["avstyrker"]
    assert "Lagrad mening." in form.text


# --- Extending the deadline --------------------------------------------------------------


def test_the_deadline_is_extended_for_all_but_a_later_anstand(ws: Portal) -> None:
    before = round_deadline(ws)
    far = working_day_after(before, 30)
    request_id = ask_anstand(ws, "bromma", far)
    with session_scope(ws.settings.database_url) as session:
        anstand_service.decide(
            session, anstand_id=request_id, grant=True, now=dates.utcnow(), tz=ws.settings.timezone
        )
        reminder_before = dispatch_of(session, "farsta").next_reminder_at
    new = working_day_after(before, 7)
    status, location, _ = post(ws, "/svarstid", {"ny_svarsdag": new.isoformat()})
    assert (status, location) == (303, "/admin/omgang/1?klart=svarstid")
    with session_scope(ws.settings.database_url) as session:
        assert session.get_one(Round, 1).svar_senast == new
        deadlines = {d.remissinstans.code: d.deadline for d in session.scalars(select(Dispatch))}
        assert deadlines.pop("bromma") == far
        assert set(deadlines.values()) == {new}
        farsta = dispatch_of(session, "farsta")
        assert farsta.events[-1].kind == EventKind.DEADLINE_EXTENDED
        assert farsta.events[-1].detail == {"from": before.isoformat(), "to": new.isoformat()}
        assert farsta.next_reminder_at is not None
        assert reminder_before is not None
        assert farsta.next_reminder_at > reminder_before
        bromma_kinds = [e.kind for e in dispatch_of(session, "bromma").events]
        assert EventKind.DEADLINE_EXTENDED not in bromma_kinds
        # Those whose deadline moved and who have not answered are told, once each.
        notices = session.scalars(
            select(OutgoingMessage).where(OutgoingMessage.kind == MessageKind.NY_SVARSTID)
        ).all()
        assert sorted(m.dispatch.remissinstans.code for m in notices) == sorted(deadlines)
    assert audit(ws) == [("karin.lindqvist", "deadline_extended")]
    assert ws.jobs.submitted == [("skicka", {"round_id": 1})]
    text = page(ws)
    assert "Förlängde svarstiden för alla från" in text
    assert dates.swedish_date(new) in text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Ange ett datum."),
        ("15/3", "Ange datumet som ÅÅÅÅ-MM-DD"),
        ("same", "måste vara senare än nuvarande svarsdag"),
        ("saturday", "är ingen arbetsdag"),
        ("2028-03-01", "Motionen väcktes"),
    ],
)
def test_a_bad_new_deadline_is_refused_and_nothing_changes(
    ws: Portal, value: str, message: str
) -> None:
    before = round_deadline(ws)
    if value == "same":
        value = before.isoformat()
    elif value == "saturday":
        day = before + dt.timedelta(days=1)
        while day.weekday() != 5:
            day += dt.timedelta(days=1)
        value = day.isoformat()
    status, _, text = post(ws, "/svarstid", {"ny_svarsdag": value})
    assert status == 422
    assert message in text
    assert 'href="#ny_svarsdag"' in text
    assert f'value="{value}"' in text
    assert round_deadline(ws) == before
    assert audit(ws) == []


# --- Adding a recipient ------------------------------------------------------------------


def test_a_remissinstans_from_the_register_is_added_and_gets_the_remiss(ws: Portal) -> None:
    text = page(ws)
    assert '<option value="kulturnamnden">' in text
    assert '<option value="farsta">' not in text  # already in the round
    status, location, _ = post(
        ws, "/remissinstanser", {"remissinstans": "kulturnamnden", "svarsdag_ny_instans": ""}
    )
    assert (status, location) == (303, "/admin/omgang/1?klart=tillagd")
    assert ws.jobs.submitted == [("skicka", {"round_id": 1})]
    with session_scope(ws.settings.database_url) as session:
        added = dispatch_of(session, "kulturnamnden")
        assert added.deadline == session.get_one(Round, 1).svar_senast
        assert [m.kind for m in added.messages] == ["missiv"]
        assert [e.kind for e in added.events] == [EventKind.CREATED, EventKind.ADDED_TO_ROUND]
        added_id = added.id
    assert audit(ws) == [("karin.lindqvist", "recipient_added")]
    text = page(ws)
    assert "Tillagd" in text
    assert '<option value="kulturnamnden">' not in text
    # The same form sent twice: the second finds it done and sends nothing.
    again = post(ws, "/remissinstanser", {"remissinstans": "kulturnamnden"})
    assert again[:2] == (303, "/admin/omgang/1?klart=redan-tillagd")
    assert ws.jobs.submitted == [("skicka", {"round_id": 1})]
    assert len(messages(ws, added_id)) == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"remissinstans": ""}, "remissinstans", "Välj en remissinstans i listan."),
        ({"remissinstans": "finns_inte"}, "remissinstans", "Välj en remissinstans i listan."),
        ({"remissinstans": "farsta"}, "remissinstans", "har redan fått remissen"),
        (
            {"remissinstans": "kulturnamnden", "svarsdag_ny_instans": "2020-01-07"},
            "svarsdag_ny_instans",
            "kan inte vara tidigare än omgångens svarsdag",
        ),
    ],
)
def test_a_bad_addition_is_refused_at_its_field(
    ws: Portal, data: dict[str, str], field: str, message: str
) -> None:
    status, _, text = post(ws, "/remissinstanser", data)
    assert status == 422
    assert message in text
    assert f'href="#{field}"' in text
    with session_scope(ws.settings.database_url) as session:
        assert len(session.scalars(select(Dispatch)).all()) == 5
    assert ws.jobs.submitted == []
    assert audit(ws) == []


# --- Who may do what ---------------------------------------------------------------------


def test_a_reader_sees_the_page_without_forms_and_may_not_post(ws: Portal) -> None:
    dispatch_id = bounce(ws, "farsta")
    request_id = ask_anstand(ws, "bromma", working_day_after(round_deadline(ws), 14))
    e_mailed_answer(ws, "kpr")
    text = page(ws, headers=LASARE)
    assert "rollen läsare" in text
    assert "<form" in text  # only the logout form
    assert text.count("<form") == 1
    assert "Visa svaret" in text
    for path, data in [
        (f"/adress/{dispatch_id}", {"ny_epost": "ny@farsta.example"}),
        (f"/anstand/{request_id}", {"beslut": "bevilja"}),
        ("/svarstid", {"ny_svarsdag": working_day_after(round_deadline(ws), 7).isoformat()}),
        ("/remissinstanser", {"remissinstans": "kulturnamnden"}),
    ]:
        status, _, text = post(ws, path, data, headers=LASARE)
        assert status == 403
        assert "rollen läsare" in text
    assert ws.jobs.submitted == []
    assert audit(ws) == []


def test_a_post_without_the_csrf_token_is_refused(ws: Portal) -> None:
    response = ws.client.post(
        "/admin/omgang/1/svarstid", data={"ny_svarsdag": "2030-01-07"}, headers=HANDLAGGARE
    )
    assert response.status_code == 403
    assert audit(ws) == []


def test_an_unknown_round_or_dispatch_is_404(ws: Portal) -> None:
    assert ws.client.get("/admin/omgang/99", headers=HANDLAGGARE).status_code == 404
    status, _, _ = post(ws, "/adress/999", {"ny_epost": "a@b.se"})
    assert status == 404


def test_an_outside_organisation_is_added_for_this_case_only(ws: Portal) -> None:
    form = {
        "utanfor_namn": "Teaterförbundet för scen och film",
        "utanfor_epost": "kansli@teaterforbundet.example",
        "utanfor_typ": "extern",
        "svarsdag_utanfor": "",
    }
    status, location, _ = post(ws, "/remissinstanser/utanfor", form)
    assert (status, location) == (303, "/admin/omgang/1?klart=tillagd")
    assert ws.jobs.submitted == [("skicka", {"round_id": 1})]
    with session_scope(ws.settings.database_url) as session:
        added = session.scalars(
            select(Dispatch).where(Dispatch.name == "Teaterförbundet för scen och film")
        ).one()
        assert added.remissinstans.ad_hoc
        assert added.email == "kansli@teaterforbundet.example"
        assert [m.kind for m in added.messages] == ["missiv"]
        added_id = added.id
    text = page(ws)
    assert "Teaterförbundet för scen och film" in text
    # Not offered from the register for this or any other round.
    assert 'value="extern-' not in text
    again = post(ws, "/remissinstanser/utanfor", form)
    assert again[:2] == (303, "/admin/omgang/1?klart=redan-tillagd")
    assert len(messages(ws, added_id)) == 1
    assert audit(ws) == [("karin.lindqvist", "recipient_added")]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"utanfor_epost": "a@b.example"}, "utanfor_namn", "Ange organisationens namn."),
        ({"utanfor_namn": "Musikerförbundet"}, "utanfor_epost", "Ange organisationens e-post"),
        (
            {"utanfor_namn": "Musikerförbundet", "utanfor_epost": "inte@"},
            "utanfor_epost",
            "Ange en giltig e-postadress",
        ),
        (
            {"utanfor_namn": "M", "utanfor_epost": "a@b.example", "utanfor_typ": "klubb"},
            "utanfor_typ",
            "Välj en typ i listan.",
        ),
    ],
)
def test_a_bad_outside_organisation_is_refused_at_its_field(
    ws: Portal, data: dict[str, str], field: str, message: str
) -> None:
    status, _, text = post(ws, "/remissinstanser/utanfor", {"utanfor_typ": "extern", **data})
    assert status == 422
    assert message in text
    assert f'href="#{field}"' in text
    for key, value in data.items():
        if key != "utanfor_typ":  # a choice not in the list cannot be shown chosen
            assert f'value="{value}"' in text
    with session_scope(ws.settings.database_url) as session:
        assert len(session.scalars(select(Dispatch)).all()) == 5
    assert ws.jobs.submitted == []


def test_an_e_mail_that_is_not_an_answer_is_rejected_and_the_reminders_go_on(
    ws: Portal,
) -> None:
    e_mailed_answer(ws, "farsta", sender="anna.privat@gmail.example")
    with session_scope(ws.settings.database_url) as session:
        dispatch_id = dispatch_of(session, "farsta").id
    overview = ws.client.get("/admin", headers=HANDLAGGARE).text
    assert '<th scope="col">Ska granskas</th>' in overview
    assert 'href="/admin/omgang/1#granska-rubrik">1</a>' in overview
    text = page(ws)
    assert "Ett svar som kom med e-post ska granskas." in text
    assert "anna.privat@gmail.example <strong>(avsändaren hör inte till remissinstansen)" in text
    assert "Svar inkommet via e-post, ska granskas" in text
    form = ws.client.get(f"/admin/omgang/1/granska/{dispatch_id}", headers=HANDLAGGARE)
    assert "Avsändaren hör inte till remissinstansen" in form.text
    assert f'action="/admin/omgang/1/granska/{dispatch_id}/inte-svar"' in form.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    # A reader may look but not decide; without the token nothing happens either.
    assert (
        ws.client.post(
            f"/admin/omgang/1/granska/{dispatch_id}/inte-svar",
            data={"csrf": csrf.group(1)},
            headers=LASARE,
        ).status_code
        == 403
    )
    assert (
        ws.client.post(
            f"/admin/omgang/1/granska/{dispatch_id}/inte-svar", data={}, headers=HANDLAGGARE
        ).status_code
        == 403
    )
    done = ws.client.post(
        f"/admin/omgang/1/granska/{dispatch_id}/inte-svar",
        data={"csrf": csrf.group(1)},
        headers=HANDLAGGARE,
    )
    assert (done.status_code, done.headers["location"]) == (303, "/admin/omgang/1?klart=inte-svar")
    with session_scope(ws.settings.database_url) as session:
        dispatch = dispatch_of(session, "farsta")
        assert dispatch.current_answer is None
        assert dispatch.answers[0].rejected_by == "karin.lindqvist"
        assert [e.kind for e in dispatch.events][-1] == EventKind.ANSWER_REJECTED
    assert audit(ws) == [("karin.lindqvist", "answer_rejected")]
    after = page(ws, "?klart=inte-svar")
    assert "påminnelserna fortsätter" in after
    assert "Inga svar väntar på granskning." in after
    # Twice (a stale page): refused, nothing more recorded.
    again = ws.client.post(
        f"/admin/omgang/1/granska/{dispatch_id}/inte-svar",
        data={"csrf": csrf.group(1)},
        headers=HANDLAGGARE,
    )
    assert again.status_code == 409
    assert audit(ws) == [("karin.lindqvist", "answer_rejected")]


def test_an_answer_from_the_remissinstans_own_domain_is_not_flagged(ws: Portal) -> None:
    e_mailed_answer(ws, "farsta")
    assert "avsändaren hör inte till remissinstansen" not in page(ws)
