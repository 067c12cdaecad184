"""The workspace's report and decision pages: compile, versions, preview and downloads;
closing the round; recording the decision and sending it back, exactly once."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from remiss.core import dates
from remiss.core.states import MessageKind
from remiss.db.engine import session_scope
from remiss.db.models import AuditEntry, Decision, Document, OutgoingMessage, Round
from remiss.report.compiling import build_for_compile, record_version
from remiss.report.render import slug, write_report
from tests.support.documents import docx_bytes, pdf_bytes
from tests.web.conftest import Portal

HANDLAGGARE = {"X-Remote-User": "karin.lindqvist"}
LASARE = {"X-Remote-User": "lars.berg"}
ROLES = "karin.lindqvist=handlaggare;lars.berg=lasare"
REPORT = "/admin/omgang/1/sammanstallning"
BESLUT = "/admin/omgang/1/beslut"


@pytest.fixture
def ws(make_portal: Callable[..., Portal]) -> Portal:
    return make_portal(REMISS_ADMIN_SSO_HEADER="X-Remote-User", REMISS_ADMIN_ROLES=ROLES)


def get(portal: Portal, path: str, headers: dict[str, str] = HANDLAGGARE) -> str:
    response = portal.client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    text: str = response.text
    return text


def csrf_of(portal: Portal) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', get(portal, BESLUT))
    assert match
    return match.group(1)


def post(
    portal: Portal,
    path: str,
    data: dict[str, str] | None = None,
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    headers: dict[str, str] = HANDLAGGARE,
) -> tuple[int, str, str]:
    response = portal.client.post(
        path, data={"csrf": csrf_of(portal), **(data or {})}, files=files, headers=headers
    )
    return response.status_code, response.headers.get("location", ""), response.text


def audit(portal: Portal) -> list[str]:
    with session_scope(portal.settings.database_url) as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def compile_as_the_flow_does(portal: Portal, stamp: str, *, record: bool = True) -> None:
    """What flows/compile.py writes, into the folder it names (the flow runs in tests/flows);
    without `record`, as a compile killed before it wrote its version record."""
    settings = portal.settings
    report = build_for_compile(settings, round_id=1, now=dates.utcnow(), automatic=False)
    folder = settings.data_dir / "sammanstallningar" / f"{slug(report.diarienummer)}-omgang-1"
    paths = write_report(report, settings, folder / stamp)
    if record:
        record_version(report, paths)


def close(portal: Portal) -> None:
    status, _, _ = post(portal, "/admin/omgang/1/avsluta", {"bekraftat": "ja"})
    assert status == 303


# --- The remissammanställning ---------------------------------------------------------------


def test_the_report_page_says_in_words_when_it_compiles_by_itself(ws: Portal) -> None:
    with session_scope(ws.settings.database_url) as session:
        latest = max(d.deadline for d in session.get_one(Round, 1).dispatches)
    grace_end = dates.add_working_days(latest, ws.settings.compile_grace_days)
    text = get(ws, REPORT)
    assert "Ingen sammanställning har gjorts ännu." in text
    assert (
        "Sammanställs av sig själv när alla har svarat, eller den "
        f"{dates.swedish_date(grace_end)}" in text
    )
    assert "Sammanställ nu" in text
    assert "Ärendets gång" in text


def test_compile_now_hands_the_job_to_prefect_once_and_audits_it(ws: Portal) -> None:
    status, location, _ = post(ws, REPORT)
    assert (status, location) == (303, f"{REPORT}?klart=begard#meddelande")
    assert ws.jobs.submitted == [("sammanstall", {"round_id": 1})]
    assert "Sammanställningen görs nu" in get(ws, f"{REPORT}?klart=begard")
    # A double click starts no second compile.
    status, location, _ = post(ws, REPORT)
    assert location == f"{REPORT}?klart=redan#meddelande"
    assert ws.jobs.submitted == [("sammanstall", {"round_id": 1})]
    assert audit(ws) == ["report_compiled"]


def test_a_lasare_sees_the_report_page_but_cannot_compile(ws: Portal) -> None:
    text = get(ws, REPORT, LASARE)
    assert "Sammanställ nu" not in text
    status, _, _ = post(ws, REPORT, headers=LASARE)
    assert status == 403
    assert ws.jobs.submitted == []
    assert audit(ws) == []


def test_versions_are_listed_newest_first_and_served_only_from_the_listing(ws: Portal) -> None:
    compile_as_the_flow_does(ws, "20261201-080000")
    compile_as_the_flow_does(ws, "20261203-141500")
    page = ws.client.get(REPORT, headers=HANDLAGGARE)
    text = page.text
    first, second = text.index("3 december 2026 kl. 15.15"), text.index("1 december 2026 kl. 09.00")
    assert first < second
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    assert f'src="{REPORT}/20261203-141500/visa"' in text
    assert "sandbox" in text

    preview = ws.client.get(f"{REPORT}/20261203-141500/visa", headers=HANDLAGGARE)
    assert preview.status_code == 200
    assert preview.headers["content-type"].startswith("text/html")
    csp = preview.headers["content-security-policy"]
    assert "sandbox" in csp
    assert "script-src" not in csp
    assert "frame-ancestors 'self'" in csp
    assert "KS 2025/348" in preview.text

    pdf = ws.client.get(f"{REPORT}/20261201-080000/pdf", headers=HANDLAGGARE)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"].startswith("attachment;")
    docx = ws.client.get(f"{REPORT}/20261203-141500/docx", headers=HANDLAGGARE)
    assert docx.content.startswith(b"PK")

    for bad in [
        f"{REPORT}/20261203-141500/exe",
        f"{REPORT}/20261203-141501/pdf",
        f"{REPORT}/..%2F..%2F..%2Fetc/pdf",
        f"{REPORT}/20261203-141500/..%2Fremissammanstallning-ks-2025-348.pdf",
        "/admin/omgang/2/sammanstallning/20261203-141500/pdf",
    ]:
        assert ws.client.get(bad, headers=HANDLAGGARE).status_code == 404, bad


def test_each_version_shows_whether_it_is_final_and_the_checksum_of_each_file(
    ws: Portal,
) -> None:
    compile_as_the_flow_does(ws, "20261201-080000", record=False)
    compile_as_the_flow_does(ws, "20261203-141500")
    text = get(ws, REPORT)
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", text, re.S)
    newest, oldest = rows
    assert "<td>Preliminär</td>" in newest
    pdf = ws.client.get(f"{REPORT}/20261203-141500/pdf", headers=HANDLAGGARE).content
    assert f'PDF: <span class="summa">{hashlib.sha256(pdf).hexdigest()}</span>' in newest
    # A compile without its record is listed, without a status or checksums to show.
    assert "<td>–</td>" in oldest
    assert "summa" not in oldest


# --- Closing and the decision ---------------------------------------------------------------


def test_closing_asks_first_then_closes_and_audits(ws: Portal) -> None:
    status, location, _ = post(ws, "/admin/omgang/1/avsluta")
    assert (status, location) == (303, f"{BESLUT}?avsluta=1#avsluta")
    with session_scope(ws.settings.database_url) as session:
        assert session.get_one(Round, 1).state == "open"
    assert "Vill ni avsluta remissomgången nu?" in get(ws, f"{BESLUT}?avsluta=1")
    close(ws)
    with session_scope(ws.settings.database_url) as session:
        assert session.get_one(Round, 1).state == "closed"
    assert "Remissomgången är avslutad" in get(ws, f"{BESLUT}?klart=avslutad")
    status, _, text = post(ws, "/admin/omgang/1/avsluta", {"bekraftat": "ja"})
    assert status == 409
    assert "redan avslutad" in text
    assert audit(ws) == ["round_closed"]


def decision_counts(portal: Portal) -> tuple[int, int]:
    with session_scope(portal.settings.database_url) as session:
        return (
            session.scalar(select(func.count()).select_from(Decision)) or 0,
            session.scalar(
                select(func.count()).select_from(Document).where(Document.decision_id.is_not(None))
            )
            or 0,
        )


def good_decision() -> tuple[dict[str, str], list[tuple[str, tuple[str, bytes, str]]]]:
    today = dates.local_today(dates.utcnow())
    return (
        {
            "organ": "KS",
            "beslutsdatum": today.isoformat(),
            "paragraf": "§ 8",
            "beslutstext": "Motionen anses besvarad.",
        },
        [("protokollsutdrag", ("Protokollsutdrag KS § 8.pdf", pdf_bytes(), "application/pdf"))],
    )


def test_no_decision_on_a_round_still_open(ws: Portal) -> None:
    data, files = good_decision()
    status, _, text = post(ws, BESLUT, data, files)
    assert status == 409
    assert "Avsluta remissomgången innan ni registrerar beslutet" in text
    assert decision_counts(ws) == (0, 0)


def test_bad_input_gets_a_message_at_each_field_keeps_the_values_and_stores_nothing(
    ws: Portal,
) -> None:
    close(ws)
    status, _, text = post(
        ws,
        BESLUT,
        {"organ": "", "beslutsdatum": "den tionde", "paragraf": "åtta", "beslutstext": " "},
    )
    assert status == 422
    for field, message in [
        ("organ", "Välj vilket organ som fattade beslutet."),
        ("beslutsdatum", "Ange beslutsdatum som år-månad-dag"),
        ("paragraf", "Ange paragrafen som ett nummer"),
        ("beslutstext", "Skriv vad som beslutades"),
        ("protokollsutdrag", "Bifoga protokollsutdraget"),
    ]:
        assert re.search(
            rf'id="{field}-fel"><span class="visuellt-dold">Fel: </span>{message}', text
        ), field
    assert 'value="den tionde"' in text
    assert 'value="åtta"' in text
    assert 'aria-invalid="true"' in text

    data, _ = good_decision()
    status, _, text = post(
        ws,
        BESLUT,
        data,
        [("protokollsutdrag", ("protokoll.pdf", b"MZ\x90\x00", "application/pdf"))],
    )
    assert status == 422
    assert "protokoll.pdf" in text
    assert "är inte en PDF-, Word- (DOCX) eller ODT-fil" in text
    assert "Motionen anses besvarad." in text
    assert 'value="KS" checked' in text
    assert decision_counts(ws) == (0, 0)
    assert audit(ws) == ["round_closed"]


def test_a_decision_is_recorded_and_sent_to_every_remissinstans_once(ws: Portal) -> None:
    close(ws)
    data, files = good_decision()
    status, location, _ = post(ws, BESLUT, data, files)
    assert (status, location) == (303, f"{BESLUT}?klart=registrerat#meddelande")
    text = get(ws, BESLUT)
    assert "Kommunstyrelsen" in text
    assert "§ 8" in text
    assert "Protokollsutdrag KS § 8.pdf" in text
    assert "Skicka beslutet till 5 remissinstanser" in text
    assert decision_counts(ws) == (1, 1)
    # The same decision again (a reload of the form) is refused.
    status, _, text = post(ws, BESLUT, data, files)
    assert status == 409
    assert "är redan registrerat" in text
    assert decision_counts(ws) == (1, 1)

    with session_scope(ws.settings.database_url) as session:
        decision_id = session.scalars(select(Decision.id)).one()
    send = f"{BESLUT}/{decision_id}/skicka"
    status, location, _ = post(ws, send)
    assert (status, location) == (303, f"{BESLUT}?klart=skickat#meddelande")
    status, _, _ = post(ws, send)  # a double click
    assert status == 303
    with session_scope(ws.settings.database_url) as session:
        keys = list(
            session.scalars(
                select(OutgoingMessage.idempotency_key).where(
                    OutgoingMessage.kind == MessageKind.BESLUT
                )
            )
        )
    assert len(keys) == len(set(keys)) == 5
    assert ("skicka", {"round_id": 1}) in ws.jobs.submitted
    assert audit(ws) == ["round_closed", "decision_recorded", "decision_sent"]
    assert "Skickat till 0 av 5 remissinstanser" in get(ws, BESLUT)


def test_a_lasare_sees_the_decision_page_but_cannot_close_record_or_send(ws: Portal) -> None:
    text = get(ws, BESLUT, LASARE)
    assert "Avsluta remissomgången …" not in text
    data, files = good_decision()
    assert post(ws, "/admin/omgang/1/avsluta", {"bekraftat": "ja"}, headers=LASARE)[0] == 403
    close(ws)
    assert "Registrera beslutet" not in get(ws, BESLUT, LASARE)
    assert post(ws, BESLUT, data, files, headers=LASARE)[0] == 403
    post(ws, BESLUT, data, files)
    assert post(ws, f"{BESLUT}/1/skicka", headers=LASARE)[0] == 403
    assert audit(ws) == ["round_closed", "decision_recorded"]


def test_a_decision_of_another_round_cannot_be_sent_from_this_one(ws: Portal) -> None:
    close(ws)
    assert post(ws, f"{BESLUT}/99/skicka")[0] == 404
    assert ws.client.get("/admin/omgang/99/beslut", headers=HANDLAGGARE).status_code == 404
    assert ws.client.get("/admin/omgang/99/sammanstallning", headers=HANDLAGGARE).status_code == 404


def test_a_word_protokollsutdrag_is_accepted(ws: Portal) -> None:
    close(ws)
    data, _ = good_decision()
    word = docx_bytes("Protokollsutdrag")
    status, _, _ = post(
        ws, BESLUT, data, [("protokollsutdrag", ("utdrag.docx", word, "application/octet-stream"))]
    )
    assert status == 303
    with session_scope(ws.settings.database_url) as session:
        doc = session.scalars(select(Document).where(Document.decision_id.is_not(None))).one()
        assert doc.content_type.endswith("wordprocessingml.document")


def test_every_action_without_the_csrf_token_is_refused_and_does_nothing(ws: Portal) -> None:
    data, files = good_decision()
    for path, body in [
        (REPORT, {}),
        ("/admin/omgang/1/avsluta", {"bekraftat": "ja"}),
        (BESLUT, data),
        (f"{BESLUT}/1/skicka", {}),
    ]:
        response = ws.client.post(
            path, data=body, files=files if path == BESLUT else None, headers=HANDLAGGARE
        )
        assert response.status_code == 403, path
    with session_scope(ws.settings.database_url) as session:
        assert session.get_one(Round, 1).state == "open"
    assert decision_counts(ws) == (0, 0)
    assert audit(ws) == []
    assert ws.jobs.submitted == []
