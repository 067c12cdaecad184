"""A joint answer confirmed or rejected: by the named partner through its own link, and by a
handläggare in the workspace."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from remiss.core.states import EventKind, JointState
from remiss.db.engine import session_scope
from remiss.db.models import Answer, AuditEntry, Event, JointAnswer
from tests.support.documents import pdf_bytes
from tests.support.rounds import dispatch_of
from tests.web.conftest import Portal

HANDLAGGARE = {"X-Remote-User": "karin.lindqvist"}
LASARE = {"X-Remote-User": "lars.berg"}
ROLES = "karin.lindqvist=handlaggare;lars.berg=lasare"
WORKSPACE = "/admin/omgang/1/gemensamma-svar"


@pytest.fixture
def ws(make_portal: Callable[..., Portal]) -> Portal:
    return make_portal(REMISS_ADMIN_SSO_HEADER="X-Remote-User", REMISS_ADMIN_ROLES=ROLES)


def answer_jointly(portal: Portal, partners: list[str]) -> int:
    """Socialnämnden answers on its page, naming `partners`; the answer's id."""
    token = portal.tokens["socialnamnden"]
    response = portal.client.post(
        f"/r/{token}/svar",
        data={
            "csrf": portal.csrf(token),
            "stallningstagande": "avstyrker",
            "sammanfattning": "Nämnderna avstyrker gemensamt.",
            "gemensamt": partners,
        },
        files=[("filer", ("gemensamt-svar.pdf", pdf_bytes(), "application/pdf"))],
    )
    assert response.status_code == 303, response.text
    with session_scope(portal.settings.database_url) as session:
        return session.scalars(select(Answer.id).order_by(Answer.id.desc())).first() or 0


def partner_post(portal: Portal, code: str, data: dict[str, str]) -> tuple[int, str, str]:
    token = portal.tokens[code]
    response = portal.client.post(
        f"/r/{token}/gemensamt", data={"csrf": portal.csrf(token), **data}
    )
    return response.status_code, response.headers.get("location", ""), response.text


def state_of(portal: Portal, code: str) -> JointState | None:
    with session_scope(portal.settings.database_url) as session:
        partner = dispatch_of(session, code)
        return session.scalars(
            select(JointAnswer.state).where(JointAnswer.partner_dispatch_id == partner.id)
        ).first()


def events(portal: Portal, kind: EventKind) -> int:
    with session_scope(portal.settings.database_url) as session:
        return len(session.scalars(select(Event).where(Event.kind == kind)).all())


def test_the_partner_sees_the_claim_on_its_own_page_and_confirms_it(portal: Portal) -> None:
    answer_id = answer_jointly(portal, ["servicenamnden"])
    token = portal.tokens["servicenamnden"]
    page = portal.client.get(f"/r/{token}").text
    assert "Socialnämnden har angett er i ett gemensamt svar" in page
    assert "Nämnderna avstyrker gemensamt." in page
    assert "Vi står bakom svaret" in page
    assert "Vi svarar själva" in page
    assert f'action="/r/{token}/svar"' in page, "it may still answer itself"
    link = re.search(rf'href="(/r/{token}/gemensamt/{answer_id}/filer/\d+)"', page)
    assert link, "the partner can read the files of the answer it is asked to stand behind"
    assert portal.client.get(link.group(1)).content == pdf_bytes()

    status, location, _ = partner_post(
        portal, "servicenamnden", {"svar": str(answer_id), "beslut": "bekrafta"}
    )
    assert (status, location) == (303, f"/r/{token}?klart=gemensamt-bekraftat#lage")
    assert state_of(portal, "servicenamnden") == JointState.CONFIRMED
    after = portal.client.get(location).text
    assert "Det räknas nu som ert svar" in after
    assert "Vi står bakom svaret</button>" not in after, "asked once"
    # The joint answer is its answer now: nothing to answer, postpone or decline.
    for offer in ("Lämna ert svar", "Begär anstånd", "Avstå från att yttra er", "<form"):
        assert offer not in after, offer
    assert f'href="#gemensamt-{answer_id}">Se det gemensamma svaret</a>' in after
    # A second click (a double submit: the same form, sent again) changes nothing.
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    again = portal.client.post(
        f"/r/{token}/gemensamt",
        data={"csrf": csrf.group(1), "svar": str(answer_id), "beslut": "bekrafta"},
    )
    status = again.status_code
    assert status == 303
    assert events(portal, EventKind.JOINT_CONFIRMED) == 1
    claimant = portal.client.get(f"/r/{portal.tokens['socialnamnden']}").text
    assert "Servicenämnden har bekräftat att de står bakom svaret." in claimant


def test_a_partner_that_answers_itself_keeps_the_answer_form_and_cannot_then_confirm(
    portal: Portal,
) -> None:
    answer_id = answer_jointly(portal, ["servicenamnden"])
    status, location, _ = partner_post(
        portal, "servicenamnden", {"svar": str(answer_id), "beslut": "avvisa"}
    )
    assert status == 303
    page = portal.client.get(location).text
    assert "Ni har meddelat att ni svarar själva" in page
    assert "Lämna ert svar" in page
    assert state_of(portal, "servicenamnden") == JointState.REJECTED
    status, _, text = partner_post(
        portal, "servicenamnden", {"svar": str(answer_id), "beslut": "bekrafta"}
    )
    assert status == 400
    assert "redan lämnat besked" in text
    assert state_of(portal, "servicenamnden") == JointState.REJECTED
    claimant = portal.client.get(f"/r/{portal.tokens['socialnamnden']}").text
    assert "Servicenämnden står inte bakom svaret och svarar själva." in claimant


def test_posts_for_a_claim_that_does_not_name_this_link_are_refused(portal: Portal) -> None:
    answer_id = answer_jointly(portal, ["servicenamnden"])
    # Bromma is not named; the claimant cannot confirm on its partner's behalf.
    for code in ("bromma", "socialnamnden"):
        status, _, text = partner_post(portal, code, {"svar": str(answer_id), "beslut": "bekrafta"})
        assert status == 400, code
        assert "gäller inte längre" in text
    for data in ({"svar": "abc", "beslut": "bekrafta"}, {"svar": str(answer_id), "beslut": "x"}):
        status, _, text = partner_post(portal, "servicenamnden", data)
        assert status == 400
        assert "Välj om ni står bakom svaret" in text
    token = portal.tokens["servicenamnden"]
    no_csrf = portal.client.post(
        f"/r/{token}/gemensamt", data={"svar": str(answer_id), "beslut": "bekrafta"}
    )
    assert no_csrf.status_code == 403
    assert state_of(portal, "servicenamnden") == JointState.CLAIMED
    assert events(portal, EventKind.JOINT_CONFIRMED) == 0
    with session_scope(portal.settings.database_url) as session:
        doc_id = session.get_one(Answer, answer_id).documents[0].id
    other = portal.tokens["bromma"]
    assert portal.client.get(f"/r/{other}/gemensamt/{answer_id}/filer/{doc_id}").status_code == 404


def test_the_handlaggare_confirms_in_the_workspace_with_an_audit_entry(ws: Portal) -> None:
    answer_id = answer_jointly(ws, ["servicenamnden", "bromma"])
    page = ws.client.get(WORKSPACE, headers=HANDLAGGARE)
    assert page.status_code == 200
    assert "Servicenämnden i svaret från Socialnämnden" in page.text
    assert page.text.count("Inte bekräftat") == 2
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    with session_scope(ws.settings.database_url) as session:
        partner_id = dispatch_of(session, "servicenamnden").id
    action = f"{WORKSPACE}/{answer_id}/{partner_id}"
    assert f'action="{action}"' in page.text

    reader = ws.client.post(
        action, data={"csrf": csrf.group(1), "beslut": "bekrafta"}, headers=LASARE
    )
    assert reader.status_code == 403
    done = ws.client.post(
        action, data={"csrf": csrf.group(1), "beslut": "bekrafta"}, headers=HANDLAGGARE
    )
    assert done.status_code == 303
    again = ws.client.post(
        action, data={"csrf": csrf.group(1), "beslut": "bekrafta"}, headers=HANDLAGGARE
    )
    assert again.status_code == 303
    assert "klart=oforandrat" in again.headers["location"]
    shown = ws.client.get(done.headers["location"], headers=HANDLAGGARE).text
    assert "räknas nu som svar från Servicenämnden" in shown
    assert "av karin.lindqvist" in shown
    assert state_of(ws, "servicenamnden") == JointState.CONFIRMED
    with session_scope(ws.settings.database_url) as session:
        entries = session.scalars(select(AuditEntry)).all()
        assert [(e.action, e.user_name, e.detail["partner"]) for e in entries] == [
            ("joint_confirmed", "karin.lindqvist", "servicenamnden")
        ]
        (event,) = session.scalars(
            select(Event).where(Event.kind == EventKind.JOINT_CONFIRMED)
        ).all()
        assert event.detail["by"] == "karin.lindqvist"

    bad = ws.client.post(action, data={"csrf": csrf.group(1), "beslut": ""}, headers=HANDLAGGARE)
    assert bad.status_code == 400
    assert "Välj att bekräfta eller avvisa" in bad.text
    no_csrf = ws.client.post(action, data={"beslut": "avvisa"}, headers=HANDLAGGARE)
    assert no_csrf.status_code == 403
    for forged in (
        f"/admin/omgang/2/gemensamma-svar/{answer_id}/{partner_id}",  # another round
        f"{WORKSPACE}/{answer_id}/{partner_id + 100}",  # no such dispatch
        f"{WORKSPACE}/{answer_id + 100}/{partner_id}",  # no such answer
    ):
        refused = ws.client.post(
            forged, data={"csrf": csrf.group(1), "beslut": "avvisa"}, headers=HANDLAGGARE
        )
        assert refused.status_code == 404, forged
    assert state_of(ws, "servicenamnden") == JointState.CONFIRMED
    assert ws.client.get("/admin/omgang/2/gemensamma-svar", headers=HANDLAGGARE).status_code == 404
    reading = ws.client.get(WORKSPACE, headers=LASARE)
    assert reading.status_code == 200
    assert 'value="avvisa"' not in reading.text, "a reader sees, but cannot act"
