"""A new case and its recipients in the workspace, over HTTP (in-process), on SQLite and
PostgreSQL: what a handläggare fills in, what is refused, and what is stored."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from remiss.core.states import DraftState
from remiss.db.engine import session_scope
from remiss.db.models import AuditEntry, CaseDraft, Document
from tests.support.documents import docx_bytes, pdf_bytes
from tests.web.conftest import Portal

ROOT = Path(__file__).resolve().parents[2]
MOTION_PDF = (ROOT / "examples" / "KS-2025-348" / "motion.pdf").read_bytes()
KARIN = {"X-Remote-User": "karin.lindqvist"}
LARS = {"X-Remote-User": "lars.berg"}


@pytest.fixture
def portal(make_portal: Callable[..., Portal]) -> Portal:
    return make_portal(
        REMISS_ADMIN_SSO_HEADER="X-Remote-User",
        REMISS_ADMIN_ROLES="karin.lindqvist=handlaggare;lars.berg=lasare",
    )


def csrf_of(portal: Portal, path: str) -> str:
    page = portal.client.get(path, headers=KARIN)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def new_draft(portal: Portal) -> int:
    done = portal.client.post(
        "/admin/ny", data={"csrf": csrf_of(portal, "/admin/ny")}, headers=KARIN
    )
    assert done.status_code == 303
    match = re.fullmatch(r"/admin/utkast/(\d+)", done.headers["location"])
    assert match
    return int(match.group(1))


def case_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "atgard": "spara",
        "diarienummer": "KS 2026/1201",
        "rubrik": "Motion om fler scener för fri teater",
        "arendetyp": "motion",
        "vackt": "2026-10-19",
        "motionar_namn": ["Anna Andersson", "Per Persson"],
        "motionar_parti": ["S", "V"],
        "att_sats": [
            "att staden inventerar lokaler som kan bli scener",
            "att kulturnämnden får i uppdrag att ta fram en plan",
        ],
        "handlaggare_namn": "Karin Lindqvist",
        "handlaggare_epost": "karin.lindqvist@stockholm.example",
        "missiv": "Vi önskar särskilt era synpunkter på lokalfrågan.",
    }
    form.update(changes)
    return form


def post_case(
    portal: Portal, draft_id: int, files: dict[str, Any] | None = None, **changes: Any
) -> Any:
    form = case_form(**changes)
    form["csrf"] = csrf_of(portal, f"/admin/utkast/{draft_id}")
    return portal.client.post(
        f"/admin/utkast/{draft_id}", data=form, files=files or {}, headers=KARIN
    )


def draft_data(portal: Portal, draft_id: int) -> dict[str, Any]:
    with session_scope(portal.settings.database_url) as session:
        draft = session.get(CaseDraft, draft_id)
        assert draft is not None
        return dict(draft.data)


def audit(portal: Portal) -> list[tuple[str, dict[str, Any]]]:
    with session_scope(portal.settings.database_url) as session:
        return [(e.action, e.detail) for e in session.scalars(select(AuditEntry))]


def draft_documents(portal: Portal, draft_id: int) -> list[str]:
    with session_scope(portal.settings.database_url) as session:
        return [
            d.filename
            for d in session.scalars(select(Document).where(Document.draft_id == draft_id))
        ]


# --- New case ---------------------------------------------------------------------------------


def test_a_handlaggare_creates_a_case_with_their_name_filled_in(portal: Portal) -> None:
    overview = portal.client.get("/admin", headers=KARIN)
    assert 'href="/admin/ny"' in overview.text
    draft_id = new_draft(portal)
    page = portal.client.get(f"/admin/utkast/{draft_id}", headers=KARIN)
    assert page.status_code == 200
    assert 'value="Karin Lindqvist"' in page.text
    assert [(a, d["draft_id"]) for a, d in audit(portal)] == [("draft_created", draft_id)]
    listed = portal.client.get("/admin", headers=KARIN)
    assert f'href="/admin/utkast/{draft_id}"' in listed.text


def test_a_reader_sees_no_button_and_may_not_create_or_change_a_case(portal: Portal) -> None:
    draft_id = new_draft(portal)
    overview = portal.client.get("/admin", headers=LARS)
    assert overview.status_code == 200
    assert 'class="knapp"' not in overview.text
    token = csrf_of(portal, "/admin/ny")
    assert portal.client.post("/admin/ny", data={"csrf": token}, headers=LARS).status_code == 403
    refused = portal.client.post(
        f"/admin/utkast/{draft_id}", data={**case_form(), "csrf": token}, headers=LARS
    )
    assert refused.status_code == 403
    assert draft_data(portal, draft_id).get("diarienummer") is None
    page = portal.client.get(f"/admin/utkast/{draft_id}", headers=LARS)
    assert page.status_code == 200
    assert "rollen läsare" in page.text
    assert 'value="spara"' not in page.text


def test_a_form_without_its_csrf_token_is_refused(portal: Portal) -> None:
    draft_id = new_draft(portal)
    assert portal.client.post("/admin/ny", data={}, headers=KARIN).status_code == 403
    refused = portal.client.post(f"/admin/utkast/{draft_id}", data=case_form(), headers=KARIN)
    assert refused.status_code == 403
    assert draft_data(portal, draft_id).get("diarienummer") is None


def test_an_unknown_draft_is_a_404(portal: Portal) -> None:
    assert portal.client.get("/admin/utkast/999", headers=KARIN).status_code == 404
    assert portal.client.get("/admin/utkast/999/mottagare", headers=KARIN).status_code == 404


def test_the_saved_case_is_stored_with_the_case_files_keys_and_logged(portal: Portal) -> None:
    draft_id = new_draft(portal)
    saved = post_case(portal, draft_id)
    assert (saved.status_code, saved.headers["location"]) == (
        303,
        f"/admin/utkast/{draft_id}?klart=sparat",
    )
    data = draft_data(portal, draft_id)
    assert data["diarienummer"] == "KS 2026/1201"
    assert data["motionarer"] == [
        {"namn": "Anna Andersson", "parti": "S"},
        {"namn": "Per Persson", "parti": "V"},
    ]
    assert data["att_satser"][1] == "att kulturnämnden får i uppdrag att ta fram en plan"
    assert data["handlaggare"] == {
        "namn": "Karin Lindqvist",
        "epost": "karin.lindqvist@stockholm.example",
    }
    assert data["vackt"] == "2026-10-19"
    assert ("draft_saved", {"draft_id": draft_id, "change": "arendet"}) in audit(portal)
    page = portal.client.get(saved.headers["location"], headers=KARIN)
    assert "Ärendet är sparat." in page.text
    assert "Per Persson" in page.text


def test_spara_och_ga_vidare_leads_to_the_recipients(portal: Portal) -> None:
    draft_id = new_draft(portal)
    saved = post_case(portal, draft_id, atgard="spara_vidare")
    assert saved.headers["location"] == f"/admin/utkast/{draft_id}/mottagare"


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"diarienummer": "  "}, "diarienummer", "Ange ärendets diarienummer."),
        ({"diarienummer": "K" * 101}, "diarienummer", "högst 100 tecken"),
        ({"rubrik": ""}, "rubrik", "Ange ärendets rubrik."),
        ({"arendetyp": "hemlig"}, "arendetyp", "Välj en av ärendetyperna"),
        ({"vackt": "19 oktober"}, "vackt", "ÅÅÅÅ-MM-DD"),
        ({"vackt": "2026-02-30"}, "vackt", "ÅÅÅÅ-MM-DD"),
        ({"handlaggare_epost": "karin@"}, "handlaggare-epost", "giltig e-postadress"),
        ({"handlaggare_namn": ""}, "handlaggare-namn", "Ange handläggarens namn."),
        ({"att_sats": ["", " "]}, "att-sats-0", "Skriv minst en att-sats."),
        (
            {"motionar_namn": ["", ""], "motionar_parti": ["", ""]},
            "motionar-0-namn",
            "minst en motionär",
        ),
        (
            {"motionar_namn": ["Anna Andersson"], "motionar_parti": [""]},
            "motionar-0-parti",
            "Ange motionärens parti",
        ),
    ],
)
def test_bad_input_is_refused_at_its_field_with_the_values_kept_and_nothing_stored(
    portal: Portal, changes: dict[str, Any], field: str, text: str
) -> None:
    draft_id = new_draft(portal)
    before = draft_data(portal, draft_id)
    refused = post_case(portal, draft_id, **changes)
    assert refused.status_code == 422
    assert f'href="#{field}"' in refused.text  # the error summary links to the field
    assert f'id="{field}-fel"' in refused.text
    assert text in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert "Motion om fler scener för fri teater" in refused.text or changes.get("rubrik") == ""
    assert draft_data(portal, draft_id) == before
    assert [a for a, _ in audit(portal)] == ["draft_created"]


def test_several_errors_are_shown_at_once(portal: Portal) -> None:
    draft_id = new_draft(portal)
    refused = post_case(portal, draft_id, diarienummer="", handlaggare_epost="nej", vackt="x")
    assert refused.status_code == 422
    for field in ("diarienummer", "handlaggare-epost", "vackt"):
        assert f'href="#{field}"' in refused.text
    assert 'value="nej"' in refused.text


def test_rows_are_added_and_removed_with_buttons_and_what_was_typed_is_kept(
    portal: Portal,
) -> None:
    draft_id = new_draft(portal)
    added = post_case(portal, draft_id, atgard="lagg_till_att_sats", handlaggare_epost="nej")
    assert added.status_code == 303
    assert added.headers["location"].endswith("#att-sats-2")
    data = draft_data(portal, draft_id)
    assert data["att_satser"][2] == ""  # the new, empty field
    assert data["handlaggare"]["epost"] == "nej"  # typed, checked when saved
    page = portal.client.get(added.headers["location"].split("#")[0], headers=KARIN)
    assert 'id="att-sats-2"' in page.text

    removed = post_case(portal, draft_id, atgard="ta_bort_motionar_0")
    assert removed.status_code == 303
    assert draft_data(portal, draft_id)["motionarer"] == [{"namn": "Per Persson", "parti": "V"}]
    more = post_case(portal, draft_id, atgard="lagg_till_motionar")
    assert len(draft_data(portal, draft_id)["motionarer"]) == 3
    assert more.headers["location"].endswith("#motionar-2-namn")
    gone = post_case(portal, draft_id, atgard="ta_bort_att_sats_0")
    assert gone.status_code == 303
    assert draft_data(portal, draft_id)["att_satser"] == [
        "att kulturnämnden får i uppdrag att ta fram en plan"
    ]
    # Saving drops the empty rows a button added.
    post_case(portal, draft_id, att_sats=["att något görs", ""], atgard="spara")
    assert draft_data(portal, draft_id)["att_satser"] == ["att något görs"]


# --- Handlingar and the suggestion --------------------------------------------------------------


def test_the_uploaded_motion_suggests_its_att_satser_and_motionarer(portal: Portal) -> None:
    draft_id = new_draft(portal)
    uploaded = post_case(
        portal,
        draft_id,
        atgard="ladda_upp",
        att_sats=[""],
        motionar_namn=[""],
        motionar_parti=[""],
        files={"fil": ("motion.pdf", MOTION_PDF, "application/pdf")},
        fil_titel="Motionen",
    )
    assert uploaded.status_code == 303
    assert draft_documents(portal, draft_id) == ["motion.pdf"]
    page = portal.client.get(f"/admin/utkast/{draft_id}", headers=KARIN)
    assert "Förslag ur motionen" in page.text
    assert "att finansborgarrådet ger stadsdirektören i uppdrag" in page.text
    assert "Nike Örbrink (KD)" in page.text
    doc_id = re.search(r'value="anvand_forslag_(\d+)"', page.text)
    assert doc_id

    used = post_case(
        portal,
        draft_id,
        atgard=f"anvand_forslag_{doc_id.group(1)}",
        att_sats=[""],
        motionar_namn=[""],
        motionar_parti=[""],
    )
    assert used.status_code == 303
    data = draft_data(portal, draft_id)
    assert data["att_satser"] == [
        "att finansborgarrådet ger stadsdirektören i uppdrag att signera vänskapsavtalet med Kiev",
        "att staden inrättar en praxis som ger förvaltningar och bolag i uppgift att vid nyinköp "
        "se över möjligheten att donera befintlig utrustning till återuppbyggnaden av Ukraina",
    ]
    assert [m["parti"] for m in data["motionarer"]] == ["M", "L", "C", "KD"]
    assert data["diarienummer"] == "KS 2026/1201"  # what was typed stays
    after = portal.client.get(f"/admin/utkast/{draft_id}", headers=KARIN)
    assert "Förslag ur motionen" not in after.text  # nothing left to suggest


def test_a_word_motion_is_read_too(portal: Portal) -> None:
    draft_id = new_draft(portal)
    motion = docx_bytes(
        "Motion om bättre cykelparkering vid stationerna",
        "Motion av Eva Ek (MP)",
        "Många pendlar med cykel till tåget.",
        "Jag föreslår kommunfullmäktige besluta",
        "att trafiknämnden får i uppdrag att bygga fler cykelställ vid stationerna",
        "att cykelställen ska gå att låsa",
        "Eva Ek (MP)",
    )
    post_case(portal, draft_id, atgard="ladda_upp", files={"fil": ("motion.docx", motion, "")})
    page = portal.client.get(f"/admin/utkast/{draft_id}", headers=KARIN)
    assert "att cykelställen ska gå att låsa" in page.text
    assert "Eva Ek (MP)" in page.text


def test_a_file_that_is_not_a_document_is_refused_and_nothing_is_stored(portal: Portal) -> None:
    draft_id = new_draft(portal)
    refused = post_case(
        portal,
        draft_id,
        atgard="ladda_upp",
        files={"fil": ("motion.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")},
    )
    assert refused.status_code == 422
    assert 'href="#fil"' in refused.text
    assert "inte en PDF-, Word- (DOCX) eller ODT-fil" in refused.text
    assert 'value="KS 2026/1201"' in refused.text
    assert draft_documents(portal, draft_id) == []
    assert draft_data(portal, draft_id).get("diarienummer") is None


def test_upload_without_a_file_says_so(portal: Portal) -> None:
    draft_id = new_draft(portal)
    refused = post_case(portal, draft_id, atgard="ladda_upp")
    assert refused.status_code == 422
    assert "Välj en fil att ladda upp." in refused.text


def test_a_file_chosen_with_a_bad_form_is_not_kept_and_the_page_says_so(portal: Portal) -> None:
    draft_id = new_draft(portal)
    refused = post_case(
        portal,
        draft_id,
        diarienummer="",
        files={"fil": ("motion.pdf", pdf_bytes("Motion"), "application/pdf")},
    )
    assert refused.status_code == 422
    assert "Filen är inte sparad" in refused.text
    assert draft_documents(portal, draft_id) == []


def test_a_handling_is_removed_from_the_case(portal: Portal) -> None:
    draft_id = new_draft(portal)
    post_case(
        portal,
        draft_id,
        atgard="ladda_upp",
        files={"fil": ("bilaga.pdf", pdf_bytes("Bilaga"), "application/pdf")},
    )
    page = portal.client.get(f"/admin/utkast/{draft_id}", headers=KARIN)
    doc_id = re.search(r'value="ta_bort_handling_(\d+)"', page.text)
    assert doc_id
    removed = post_case(portal, draft_id, atgard=f"ta_bort_handling_{doc_id.group(1)}")
    assert removed.status_code == 303
    assert draft_documents(portal, draft_id) == []
    changes = [d.get("change") for a, d in audit(portal) if a == "draft_saved"]
    assert "handling_tillagd" in changes
    assert "handling_borttagen" in changes
    again = post_case(portal, draft_id, atgard=f"ta_bort_handling_{doc_id.group(1)}")
    assert again.status_code == 422


# --- Recipients --------------------------------------------------------------------------------


def post_recipients(portal: Portal, draft_id: int, **form: Any) -> Any:
    form["csrf"] = csrf_of(portal, f"/admin/utkast/{draft_id}/mottagare")
    return portal.client.post(f"/admin/utkast/{draft_id}/mottagare", data=form, headers=KARIN)


def groups_shown(portal: Portal, draft_id: int) -> list[str]:
    page = portal.client.get(f"/admin/utkast/{draft_id}/mottagare", headers=KARIN)
    return re.findall(r'name="grupp_visad" value="([^"]+)"', page.text)


def codes_shown(portal: Portal, draft_id: int, sok: str = "") -> list[str]:
    page = portal.client.get(
        f"/admin/utkast/{draft_id}/mottagare", params={"sok": sok}, headers=KARIN
    )
    return re.findall(r'name="visad" value="([^"]+)"', page.text)


def test_a_whole_group_is_chosen_and_one_member_taken_off_again(portal: Portal) -> None:
    draft_id = new_draft(portal)
    groups = groups_shown(portal, draft_id)
    assert groups[:4] == ["facknamnder", "stadsdelsnamnder", "bolag", "rad"]
    chosen = post_recipients(
        portal,
        draft_id,
        grupp=["stadsdelsnamnder"],
        grupp_visad=groups,
        visad=codes_shown(portal, draft_id),
    )
    assert chosen.status_code == 303
    codes = draft_data(portal, draft_id)["remissinstanser"]
    assert "bromma" in codes
    assert "socialnamnden" not in codes
    assert len(codes) >= 10
    page = portal.client.get(f"/admin/utkast/{draft_id}/mottagare", headers=KARIN)
    assert 'id="grupp-stadsdelsnamnder" name="grupp" value="stadsdelsnamnder" checked' in page.text

    off = post_recipients(portal, draft_id, atgard="ta_bort_bromma")
    assert off.status_code == 303
    assert "bromma" not in draft_data(portal, draft_id)["remissinstanser"]


def test_search_shows_matching_instances_and_saving_keeps_those_not_shown(
    portal: Portal,
) -> None:
    draft_id = new_draft(portal)
    post_recipients(portal, draft_id, instans=["socialnamnden"], visad=["socialnamnden"])
    shown = codes_shown(portal, draft_id, sok="bromma")
    assert shown == ["bromma"]
    post_recipients(portal, draft_id, sok="bromma", instans=["bromma"], visad=shown)
    assert draft_data(portal, draft_id)["remissinstanser"] == ["socialnamnden", "bromma"]
    page = portal.client.get(
        f"/admin/utkast/{draft_id}/mottagare", params={"sok": "finns inte alls"}, headers=KARIN
    )
    assert "Ingen remissinstans i registret matchar" in page.text


def test_an_outside_organisation_is_added_for_this_case_only(portal: Portal) -> None:
    draft_id = new_draft(portal)
    added = post_recipients(
        portal,
        draft_id,
        atgard="lagg_till_extern",
        extern_namn="Teaterförbundet",
        extern_epost="kansli@teaterforbundet.example",
        extern_typ="extern",
    )
    assert added.status_code == 303
    assert draft_data(portal, draft_id)["remissinstanser"] == [
        {"namn": "Teaterförbundet", "epost": "kansli@teaterforbundet.example", "typ": "extern"}
    ]
    page = portal.client.get(f"/admin/utkast/{draft_id}/mottagare", headers=KARIN)
    assert "Teaterförbundet, kansli@teaterforbundet.example" in page.text
    # Not in the register: another case is not offered it.
    other = new_draft(portal)
    assert (
        "Teaterförbundet"
        not in portal.client.get(f"/admin/utkast/{other}/mottagare", headers=KARIN).text
    )
    # Saving the register choices keeps it.
    post_recipients(portal, draft_id, instans=["kulturnamnden"], visad=["kulturnamnden"])
    assert len(draft_data(portal, draft_id)["remissinstanser"]) == 2
    removed = post_recipients(portal, draft_id, atgard="ta_bort_extern_0")
    assert removed.status_code == 303
    assert draft_data(portal, draft_id)["remissinstanser"] == ["kulturnamnden"]


@pytest.mark.parametrize(
    ("form", "field", "text"),
    [
        (
            {"extern_namn": "", "extern_epost": "a@b.example", "extern_typ": "extern"},
            "extern-namn",
            "Ange organisationens namn.",
        ),
        (
            {"extern_namn": "Förbundet", "extern_epost": "inte en adress", "extern_typ": "extern"},
            "extern-epost",
            "giltig e-postadress",
        ),
        (
            {"extern_namn": "Förbundet", "extern_epost": "a@b.example", "extern_typ": "hemlig"},
            "extern-typ",
            "Välj en av typerna i listan.",
        ),
        (
            {
                "extern_namn": "Kultur",
                "extern_epost": "registrator.kulturforvaltningen@stockholm.example",
                "extern_typ": "namnd",
            },
            "extern-epost",
            "tillhör Kulturnämnden i registret",
        ),
    ],
)
def test_a_bad_outside_organisation_is_refused_at_its_field(
    portal: Portal, form: dict[str, str], field: str, text: str
) -> None:
    draft_id = new_draft(portal)
    refused = post_recipients(portal, draft_id, atgard="lagg_till_extern", **form)
    assert refused.status_code == 422
    assert f'href="#{field}"' in refused.text
    assert text in refused.text
    assert f'value="{form["extern_epost"]}"' in refused.text
    assert "remissinstanser" not in draft_data(portal, draft_id)


def test_the_same_outside_address_twice_is_refused(portal: Portal) -> None:
    draft_id = new_draft(portal)
    form = {
        "extern_namn": "Teaterförbundet",
        "extern_epost": "kansli@teaterforbundet.example",
        "extern_typ": "extern",
    }
    post_recipients(portal, draft_id, atgard="lagg_till_extern", **form)
    again = post_recipients(portal, draft_id, atgard="lagg_till_extern", **form)
    assert again.status_code == 422
    assert "adressen står redan" in again.text.lower()
    assert len(draft_data(portal, draft_id)["remissinstanser"]) == 1


def test_going_on_needs_a_recipient_and_leads_to_the_deadline(portal: Portal) -> None:
    draft_id = new_draft(portal)
    refused = post_recipients(portal, draft_id, atgard="vidare", grupp_visad=["rad"])
    assert refused.status_code == 422
    assert "Välj minst en remissinstans." in refused.text
    done = post_recipients(
        portal, draft_id, atgard="vidare", instans=["socialnamnden"], visad=["socialnamnden"]
    )
    assert (done.status_code, done.headers["location"]) == (
        303,
        f"/admin/utkast/{draft_id}/svarstid",
    )


def test_a_started_draft_can_no_longer_be_changed(portal: Portal) -> None:
    draft_id = new_draft(portal)
    token = csrf_of(portal, f"/admin/utkast/{draft_id}")
    with session_scope(portal.settings.database_url) as session:
        draft = session.get(CaseDraft, draft_id)
        assert draft is not None
        draft.state = DraftState.STARTED
    refused = portal.client.post(
        f"/admin/utkast/{draft_id}", data={**case_form(), "csrf": token}, headers=KARIN
    )
    assert refused.status_code == 409
    refused = portal.client.post(
        f"/admin/utkast/{draft_id}/mottagare", data={"csrf": token}, headers=KARIN
    )
    assert refused.status_code == 409
    assert f'href="/admin/utkast/{draft_id}"' not in portal.client.get("/admin", headers=KARIN).text


def test_a_form_chromium_posts_with_origin_null_from_our_own_page_is_taken(
    portal: Portal,
) -> None:
    # Our pages send Referrer-Policy: no-referrer, so Chromium posts their forms with
    # "Origin: null"; its Sec-Fetch-Site (which no page can set) says same-origin.
    token = csrf_of(portal, "/admin/ny")
    own = {"Origin": "null", "Sec-Fetch-Site": "same-origin", **KARIN}
    assert portal.client.post("/admin/ny", data={"csrf": token}, headers=own).status_code == 303
    forged = {"Origin": "null", "Sec-Fetch-Site": "cross-site", **KARIN}
    assert portal.client.post("/admin/ny", data={"csrf": token}, headers=forged).status_code == 403
