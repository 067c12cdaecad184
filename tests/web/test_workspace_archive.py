"""The workspace's register extract and e-archive package (issue 21): downloads for a
reader, the period form's Swedish errors, and the package as a job for a handläggare."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable

import pytest
from sqlalchemy import select

from remiss.archive import sip
from remiss.core import dates
from remiss.db.engine import session_scope
from remiss.db.models import AuditEntry
from remiss.rounds.service import close_round
from tests.web.conftest import Portal

HANDLAGGARE = {"X-Remote-User": "karin.lindqvist"}
LASARE = {"X-Remote-User": "lars.berg"}
ROLES = "karin.lindqvist=handlaggare;lars.berg=lasare"


@pytest.fixture
def ws(make_portal: Callable[..., Portal]) -> Portal:
    return make_portal(REMISS_ADMIN_SSO_HEADER="X-Remote-User", REMISS_ADMIN_ROLES=ROLES)


def test_a_reader_downloads_the_round_extract_from_the_round_page(ws: Portal) -> None:
    page = ws.client.get("/admin/omgang/1", headers=LASARE)
    assert 'href="/admin/omgang/1/diarium"' in page.text
    assert 'href="/admin/omgang/1/diarieutdrag.csv"' in page.text
    response = ws.client.get("/admin/omgang/1/diarieutdrag.csv", headers=LASARE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "diarieutdrag-omgang-1.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert [r["Handlingstyp"] for r in rows] == ["Remissmissiv"] * 5
    json_response = ws.client.get("/admin/omgang/1/diarieutdrag.json", headers=LASARE)
    assert json_response.json()["antal"] == 5
    assert ws.client.get("/admin/omgang/1/diarieutdrag.xls", headers=LASARE).status_code == 404
    assert ws.client.get("/admin/omgang/1/diarieutdrag.csv").status_code in (303, 401, 403)


def test_the_period_form_refuses_a_wrong_date_in_swedish_and_keeps_the_values(
    ws: Portal,
) -> None:
    overview = ws.client.get("/admin", headers=LASARE)
    assert 'href="/admin/diarieutdrag"' in overview.text
    form = ws.client.get("/admin/diarieutdrag", headers=LASARE)
    assert form.status_code == 200
    assert '<label for="fran">' in form.text
    bad = ws.client.get(
        "/admin/diarieutdrag", params={"fran": "1 december", "till": "2099-01-01"}, headers=LASARE
    )
    assert bad.status_code == 400
    assert 'href="#fran">Skriv datumet som ÅÅÅÅ-MM-DD' in bad.text
    assert 'id="fran-fel"' in bad.text
    assert 'value="1 december"' in bad.text
    assert 'value="2099-01-01"' in bad.text
    backwards = ws.client.get(
        "/admin/diarieutdrag", params={"fran": "2099-01-02", "till": "2099-01-01"}, headers=LASARE
    )
    assert backwards.status_code == 400
    assert "Den sista dagen är före den första." in backwards.text
    today = dates.local_today(dates.utcnow(), ws.settings.timezone).isoformat()
    done = ws.client.get(
        "/admin/diarieutdrag",
        params={"fran": today, "till": today, "format": "json"},
        headers=LASARE,
    )
    assert done.status_code == 200
    assert done.json()["antal"] == 5


def csrf_of(ws: Portal) -> str:
    page = ws.client.get("/admin/omgang/1/diarium", headers=HANDLAGGARE)
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def test_a_closed_round_is_packed_as_a_job_and_streamed_as_a_zip(ws: Portal) -> None:
    page = ws.client.get("/admin/omgang/1/diarium", headers=HANDLAGGARE)
    assert "Omgången pågår" in page.text
    assert 'action="/admin/omgang/1/arkiv"' not in page.text
    with session_scope(ws.settings.database_url) as session:
        close_round(session, round_id=1, now=dates.utcnow())
    refused = ws.client.post("/admin/omgang/1/arkiv", data={"csrf": csrf_of(ws)}, headers=LASARE)
    assert refused.status_code == 403
    done = ws.client.post("/admin/omgang/1/arkiv", data={"csrf": csrf_of(ws)}, headers=HANDLAGGARE)
    assert done.status_code == 303
    assert ws.jobs.submitted == [("arkivera", {"round_id": 1})]
    with session_scope(ws.settings.database_url) as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert "archive_requested" in actions
    assert ws.client.get("/admin/omgang/1/arkiv/senaste", headers=LASARE).status_code == 404

    # What the job does (the flow itself runs in tests/archive).
    sip.build_package(ws.settings, round_id=1, now=dates.utcnow())
    page = ws.client.get("/admin/omgang/1/diarium?klart=begard", headers=LASARE)
    assert "Arkivpaketet skapas nu." in page.text
    assert "Ladda ned arkivpaketet" in page.text
    download = ws.client.get("/admin/omgang/1/arkiv/senaste", headers=LASARE)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert "remiss-ks-2025-348-omgang-1/METS.xml" in names
