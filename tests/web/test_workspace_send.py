"""The workspace's deadline, preview and send steps, in-process on SQLite and PostgreSQL.

The job `starta` is recorded here (tests/web/conftest.py RecordedJobs); the flow it runs is
tested with a real Prefect in tests/flows/test_start_from_draft.py, double clicks included.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from remiss.core import dates
from remiss.core.states import DraftState
from remiss.db.engine import session_scope
from remiss.db.models import AuditEntry, CaseDraft, Round
from remiss.rounds import start as rounds_start
from tests.conftest import future_deadline
from tests.support.workspace import (
    SSO,
    USER,
    case_data,
    new_draft,
    working_days_ahead,
    write_register,
)
from tests.web.conftest import Portal

TODAY = dates.local_today(dates.utcnow())


def next_saturday(after: dt.date) -> dt.date:
    return after + dt.timedelta(days=(5 - after.weekday()) % 7 or 7)


@pytest.fixture
def meetings() -> dict[str, list[dt.date]]:
    """Socialnämnden meets in two weeks and in ten; Bromma only in ten weeks."""
    soon = working_days_ahead(TODAY, 10)
    late = working_days_ahead(TODAY, 50)
    return {"socialnamnden": [soon, late], "bromma": [late]}


@pytest.fixture
def portal(
    make_portal: Callable[..., Portal], tmp_path: Path, meetings: dict[str, list[dt.date]]
) -> Portal:
    register = write_register(tmp_path / "register.yaml", meetings)
    return make_portal(REMISS_ADMIN_SSO_HEADER="X-Remote-User", REMISS_REGISTER=str(register))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def get(portal: Portal, path: str, user: str = USER) -> str:
    page = portal.client.get(path, headers={"X-Remote-User": user})
    text: str = page.text
    assert page.status_code == 200, (page.status_code, text[:500])
    return text


def post(
    portal: Portal, path: str, form: dict[str, str], *, page: str | None = None
) -> httpx.Response:
    csrf = csrf_of(get(portal, page or path))
    response: httpx.Response = portal.client.post(path, data={"csrf": csrf, **form}, headers=SSO)
    return response


def draft_row(portal: Portal, draft_id: int) -> CaseDraft:
    with session_scope(portal.settings.database_url) as session:
        draft = session.get_one(CaseDraft, draft_id)
        session.expunge(draft)
        return draft


# --- Svarstid -------------------------------------------------------------------------------


def test_the_deadline_page_shows_the_earliest_workable_day_and_each_namnds_meeting(
    portal: Portal, meetings: dict[str, list[dt.date]]
) -> None:
    deadline = working_days_ahead(TODAY, 20)  # after socialnämnden's first meeting, not Bromma's
    draft_id = new_draft(portal.settings, case_data(deadline))
    html = get(portal, f"/admin/utkast/{draft_id}/svarstid")
    assert 'for="svar_senast">Svar senast (ÅÅÅÅ-MM-DD)</label>' in html
    assert f'value="{deadline.isoformat()}"' in html
    # Bromma's only meeting decides the earliest day: three working days after it.
    earliest = dates.add_working_days(meetings["bromma"][0], 3)
    assert (
        f"Tidigaste svarsdag som fungerar: <strong>{dates.swedish_date(earliest)}</strong>" in html
    )
    social = re.search(r"<th scope=\"row\">Socialnämnden</th>(.*?)</tr>", html, re.S)
    assert social
    assert dates.swedish_date(meetings["socialnamnden"][0]) in social.group(1)
    assert "Hinner</td>" in social.group(1)
    bromma = re.search(r"<th scope=\"row\">Bromma stadsdelsnämnd</th>(.*?)</tr>", html, re.S)
    assert bromma
    assert "Hinner inte: nästa sammanträde är" in bromma.group(1)
    assert "En nämnd hinner" in html
    assert "2 remissinstanser utan sammanträdesplan i registret" in html  # kultur, teater


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("26/8/2027", "Skriv datumet som ÅÅÅÅ-MM-DD, till exempel 2026-08-26."),
        ("2027-02-30", "Skriv datumet som ÅÅÅÅ-MM-DD, till exempel 2026-08-26."),
        (TODAY.isoformat(), "Svarsdagen måste ligga efter i dag"),
        (
            next_saturday(future_deadline()).isoformat(),
            "är ingen arbetsdag (lördag). Välj en arbetsdag.",
        ),
        ("", "Skriv datumet som ÅÅÅÅ-MM-DD"),
    ],
)
def test_a_deadline_that_is_not_a_working_day_ahead_is_refused_with_the_value_kept(
    portal: Portal, typed: str, message: str
) -> None:
    draft_id = new_draft(portal.settings, case_data(svar_senast=None))
    response = post(portal, f"/admin/utkast/{draft_id}/svarstid", {"svar_senast": typed})
    assert response.status_code == 400
    html = response.text
    assert message in html
    assert '<a href="#svar_senast">' in html  # the summary links to the field
    assert 'id="svar_senast-fel"' in html
    assert 'aria-invalid="true"' in html
    assert f'value="{typed}"' in html
    assert "svar_senast" not in draft_row(portal, draft_id).data


def test_a_saved_deadline_goes_on_to_the_preview_and_is_logged(portal: Portal) -> None:
    draft_id = new_draft(portal.settings, case_data(svar_senast=None))
    deadline = future_deadline(weeks=9)
    saved = post(
        portal, f"/admin/utkast/{draft_id}/svarstid", {"svar_senast": deadline.isoformat()}
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/admin/utkast/{draft_id}/forhandsgranska"
    assert draft_row(portal, draft_id).data["svar_senast"] == deadline.isoformat()
    check = post(
        portal,
        f"/admin/utkast/{draft_id}/svarstid",
        {"svar_senast": deadline.isoformat(), "gora": "kontrollera"},
    )
    assert check.headers["location"] == f"/admin/utkast/{draft_id}/svarstid"
    with session_scope(portal.settings.database_url) as session:
        logged = session.scalars(select(AuditEntry).where(AuditEntry.action == "draft_saved")).all()
        assert [e.detail.get("change") for e in logged][-2:] == ["svarstid", "svarstid"]
        assert logged[-1].user_name == USER


def test_a_reader_sees_the_deadline_page_but_cannot_change_it(
    make_portal: Callable[..., Portal],
) -> None:
    portal = make_portal(
        REMISS_ADMIN_SSO_HEADER="X-Remote-User",
        REMISS_ADMIN_ROLES=f"{USER}=handlaggare;lars.berg=lasare",
    )
    draft_id = new_draft(portal.settings, case_data())
    preview = get(portal, f"/admin/utkast/{draft_id}/forhandsgranska", user="lars.berg")
    assert "Ni har rollen läsare och kan se remissen men inte skicka den." in preview
    assert "Skicka remissen" not in preview
    html = get(portal, f"/admin/utkast/{draft_id}/svarstid", user="lars.berg")
    assert "Spara och förhandsgranska" not in html
    refused = portal.client.post(
        f"/admin/utkast/{draft_id}/svarstid",
        data={"csrf": csrf_of(html), "svar_senast": future_deadline().isoformat()},
        headers={"X-Remote-User": "lars.berg"},
    )
    assert refused.status_code == 403
    refused = portal.client.post(
        f"/admin/utkast/{draft_id}/skicka",
        data={"csrf": csrf_of(html)},
        headers={"X-Remote-User": "lars.berg"},
    )
    assert refused.status_code == 403
    assert draft_row(portal, draft_id).state == DraftState.DRAFT
    assert portal.jobs.submitted == []
    anonymous = portal.client.get(f"/admin/utkast/{draft_id}/forhandsgranska")
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/admin/login")


# --- Förhandsgranska -------------------------------------------------------------------------


def test_the_preview_shows_the_missiv_as_one_recipient_will_get_it(portal: Portal) -> None:
    deadline = future_deadline()
    draft_id = new_draft(portal.settings, case_data(deadline))
    page = portal.client.get(f"/admin/utkast/{draft_id}/forhandsgranska", headers=SSO)
    assert page.status_code == 200
    html = page.text
    # Four recipients: Kulturnämnden, Socialnämnden, Bromma and the outside organisation.
    assert "Remissen skickas till <strong>4 remissinstanser</strong>" in html
    assert "Teaterförbundet (kansli@teaterforbundet.example)" in html
    assert (
        f"<dt>Ämne</dt><dd>Remiss KS 2026/1201: Motion om fler scener för fri teater – svar "
        f"senast {dates.swedish_date(deadline)} [Remiss-ID …]</dd>"
    ) in html
    assert "<dt>Till</dt><dd>registrator.socialnamnden@stockholm.example</dd>" in html
    assert "Motion om fria scener.pdf (" in html  # with its size
    assert "https://remiss.stockholm.example/r/PERSONLIG-LÄNK" in html  # the text part
    assert "Vi önskar särskilt era synpunkter på lokalfrågan." in html
    assert f'src="/admin/utkast/{draft_id}/forhandsgranska/html?till=0"' in html
    assert "sandbox" in html
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    assert "Skicka remissen till 4 remissinstanser" in html
    # Another recipient's e-mail, chosen in the GET form.
    other = get(portal, f"/admin/utkast/{draft_id}/forhandsgranska?till=3")
    assert "<dt>Till</dt><dd>kansli@teaterforbundet.example</dd>" in other
    assert "Till Teaterförbundet" in other


def test_the_html_part_is_served_alone_in_a_sandbox_that_runs_nothing(portal: Portal) -> None:
    draft_id = new_draft(portal.settings, case_data(rubrik='<script>alert("x")</script> Scener'))
    part = portal.client.get(f"/admin/utkast/{draft_id}/forhandsgranska/html", headers=SSO)
    assert part.status_code == 200
    csp = part.headers["content-security-policy"]
    assert "sandbox" in csp
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert "frame-ancestors 'self'" in csp
    assert part.headers["x-frame-options"] == "SAMEORIGIN"
    assert "<script>" not in part.text
    assert "&lt;script&gt;" in part.text
    assert "Öppna remissen och svara" in part.text
    assert portal.client.get(f"/admin/utkast/{draft_id}/forhandsgranska/html").status_code == 303


def test_a_draft_that_is_not_complete_shows_what_to_put_right_and_cannot_be_sent(
    portal: Portal,
) -> None:
    draft_id = new_draft(portal.settings, case_data(svar_senast=None))
    html = get(portal, f"/admin/utkast/{draft_id}/forhandsgranska")
    assert "Remissen kan inte skickas än" in html
    assert "Svar senast: uppgiften saknas." in html
    assert f'<a href="/admin/utkast/{draft_id}/svarstid">Rätta det här</a>' in html
    assert "Skicka remissen" not in html
    refused = post(
        portal,
        f"/admin/utkast/{draft_id}/skicka",
        {},
        page=f"/admin/utkast/{draft_id}/forhandsgranska",
    )
    assert refused.status_code == 400
    assert "Svar senast: uppgiften saknas." in refused.text
    assert draft_row(portal, draft_id).state == DraftState.DRAFT
    assert portal.jobs.submitted == []


def test_a_case_with_an_open_round_is_not_sent_a_second_time(portal: Portal) -> None:
    # make_portal's round is KS 2025/348, open.
    draft_id = new_draft(portal.settings, case_data(diarienummer="KS 2025/348"))
    html = get(portal, f"/admin/utkast/{draft_id}/forhandsgranska")
    assert "Det finns redan en pågående remissomgång för KS 2025/348 (omgång 1" in html
    assert "Skicka remissen" not in html
    refused = post(
        portal,
        f"/admin/utkast/{draft_id}/skicka",
        {},
        page=f"/admin/utkast/{draft_id}/forhandsgranska",
    )
    assert refused.status_code == 409
    assert draft_row(portal, draft_id).state == DraftState.DRAFT
    assert portal.jobs.submitted == []


# --- Skicka ---------------------------------------------------------------------------------


def test_send_moves_the_draft_once_and_hands_the_start_on_once(portal: Portal) -> None:
    draft_id = new_draft(portal.settings, case_data())
    preview = f"/admin/utkast/{draft_id}/forhandsgranska"
    csrf = csrf_of(get(portal, preview))
    first = portal.client.post(f"/admin/utkast/{draft_id}/skicka", data={"csrf": csrf}, headers=SSO)
    assert (first.status_code, first.headers["location"]) == (
        303,
        f"/admin/utkast/{draft_id}/skickas",
    )
    # A double click, then a reload of the POST: nothing more is handed on.
    for _ in range(2):
        again = portal.client.post(
            f"/admin/utkast/{draft_id}/skicka", data={"csrf": csrf}, headers=SSO
        )
        assert again.headers["location"] == f"/admin/utkast/{draft_id}/skickas"
    assert portal.jobs.submitted == [("starta", {"draft_id": draft_id})]
    draft = draft_row(portal, draft_id)
    assert draft.state == DraftState.STARTING
    assert draft.data[rounds_start.STARTED_BY] == USER
    # The draft is no longer edited nor previewed: each step leads to the sending page.
    for step in ("svarstid", "forhandsgranska"):
        moved = portal.client.get(f"/admin/utkast/{draft_id}/{step}", headers=SSO)
        assert moved.headers["location"] == f"/admin/utkast/{draft_id}/skickas"
    waiting = get(portal, f"/admin/utkast/{draft_id}/skickas")
    assert "<h1>Remissen skickas</h1>" in waiting
    assert "Ladda om sidan" in waiting
    assert "/admin/omgang/" not in waiting
    assert 'http-equiv="refresh"' not in waiting

    # The job stores the round (tests/flows run it through Prefect).
    round_id = rounds_start.create_round_from_draft(portal.settings, draft_id, now=dates.utcnow())
    started = get(portal, f"/admin/utkast/{draft_id}/skickas")
    assert f'<a href="/admin/omgang/{round_id}">Följ remissomgång {round_id}</a>' in started
    with session_scope(portal.settings.database_url) as session:
        (entry,) = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "round_started")
        ).all()
        assert (entry.user_name, entry.round_id, entry.detail["draft_id"]) == (
            USER,
            round_id,
            draft_id,
        )
        assert session.get_one(Round, round_id).case.diarienummer == "KS 2026/1201"
    assert (
        portal.client.post(
            f"/admin/utkast/{draft_id}/skicka", data={"csrf": csrf}, headers=SSO
        ).headers["location"]
        == f"/admin/utkast/{draft_id}/skickas"
    )
    assert len(portal.jobs.submitted) == 1


def test_a_lost_start_is_handed_on_again_by_pressing_send_after_a_while(portal: Portal) -> None:
    draft_id = new_draft(portal.settings, case_data())
    preview = f"/admin/utkast/{draft_id}/forhandsgranska"
    csrf = csrf_of(get(portal, preview))
    portal.client.post(f"/admin/utkast/{draft_id}/skicka", data={"csrf": csrf}, headers=SSO)
    with session_scope(portal.settings.database_url) as session:
        draft = session.get_one(CaseDraft, draft_id)
        draft.updated_at = dates.utcnow() - dt.timedelta(minutes=5)  # the job never ran
    waiting = get(portal, f"/admin/utkast/{draft_id}/skickas")
    assert "Starta utskicket igen" in waiting
    portal.client.post(f"/admin/utkast/{draft_id}/skicka", data={"csrf": csrf}, headers=SSO)
    assert portal.jobs.submitted == [("starta", {"draft_id": draft_id})] * 2


def test_the_sending_page_of_a_draft_never_sent_leads_to_the_preview(portal: Portal) -> None:
    draft_id = new_draft(portal.settings, case_data())
    page = portal.client.get(f"/admin/utkast/{draft_id}/skickas", headers=SSO)
    assert page.headers["location"] == f"/admin/utkast/{draft_id}/forhandsgranska"
    assert portal.client.get("/admin/utkast/999/svarstid", headers=SSO).status_code == 404
