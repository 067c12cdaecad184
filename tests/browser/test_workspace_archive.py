"""The Diarium och e-arkiv page and the period form in Chromium: axe-core on each state
(0 violations) and no horizontal scrolling at 320 px (issue 21)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import CODES, StartPortal, click
from tests.browser.test_workspace_case import check
from tests.conftest import future_deadline
from tests.e2e.conftest import RunCli


def test_the_archive_page_and_the_period_form_are_accessible(
    page: Page, start_portal: StartPortal, run_cli: RunCli, case_dir: Path
) -> None:
    portal = start_portal(REMISS_ADMIN_SSO_HEADER="X-Remote-User")
    page.set_extra_http_headers({"X-Remote-User": "karin.lindqvist"})
    started = run_cli(
        "round", "start", str(case_dir / "arende.yaml"),
        "--deadline", future_deadline().isoformat(), "--to", ",".join(CODES),
    )  # fmt: skip
    assert started.returncode == 0, started.stdout + started.stderr

    page.goto(f"{portal.url}/admin/omgang/1")
    page.get_by_role("link", name="Diarium och e-arkiv").click()
    expect(page.get_by_role("heading", name="Diarium och e-arkiv")).to_be_visible()
    expect(page.get_by_text("Omgången pågår.")).to_be_visible()
    check(page)

    closed = run_cli("round", "close", "1")
    assert closed.returncode == 0, closed.stdout + closed.stderr
    archived = run_cli("archive", "1")
    assert archived.returncode == 0, archived.stdout + archived.stderr
    page.reload()
    expect(page.get_by_role("link", name="Ladda ned arkivpaketet")).to_be_visible()
    check(page)
    expect(page.get_by_role("button", name="Skapa ett nytt arkivpaket")).to_be_visible()
    # The notice after the button, without running the job here (tests/web posts it).
    page.goto(f"{portal.url}/admin/omgang/1/diarium?klart=begard")
    expect(page.get_by_role("status")).to_contain_text("Arkivpaketet skapas nu.")
    check(page)

    page.goto(f"{portal.url}/admin")
    page.get_by_role("link", name="Registerutdrag för diariet, för en period").click()
    check(page)
    page.get_by_label("Från och med (frivilligt)").fill("första december")
    response = click(page, "Ladda ned registerutdraget")
    assert response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("Skriv datumet som ÅÅÅÅ-MM-DD")
    expect(page.get_by_label("Från och med (frivilligt)")).to_have_value("första december")
    check(page)
