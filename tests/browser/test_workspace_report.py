"""The report and decision pages in Chromium, as a handläggare uses them: axe-core on every
state of each page, and no horizontal scrolling at 320 px outside data tables."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from remiss.core import dates
from tests.browser.conftest import CODES, StartPortal, click
from tests.browser.test_accessibility import assert_accessible
from tests.conftest import future_deadline
from tests.e2e.conftest import RunCli
from tests.support.documents import pdf_bytes


def check(page: Page) -> None:
    assert_accessible(page)


def test_report_and_decision_pages_are_accessible_in_every_state(
    page: Page,
    start_portal: StartPortal,
    run_cli: RunCli,
    case_dir: Path,
    tmp_path: Path,
) -> None:
    # Logged in as the single-sign-on proxy on the same host would (127.0.0.1 is trusted).
    portal = start_portal(REMISS_ADMIN_SSO_HEADER="X-Remote-User")
    page.set_extra_http_headers({"X-Remote-User": "karin.lindqvist"})
    started = run_cli(
        "round",
        "start",
        str(case_dir / "arende.yaml"),
        "--deadline",
        future_deadline().isoformat(),
        "--to",
        ",".join(CODES),
    )
    assert started.returncode == 0, started.stdout + started.stderr

    # The report page before any compile, then after "Sammanställ nu".
    page.goto(f"{portal.url}/admin/omgang/1/sammanstallning")
    expect(page.get_by_text("Ingen sammanställning har gjorts ännu.")).to_be_visible()
    check(page)
    click(page, "Sammanställ nu")
    expect(page.get_by_role("status")).to_contain_text("Sammanställningen")
    check(page)

    # A compile as the flow writes it (remiss compile runs the same flow), then the preview.
    compiled = run_cli("compile", "1")
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    page.goto(f"{portal.url}/admin/omgang/1/sammanstallning")
    frame = page.frame_locator("iframe.forhandsvisning")
    expect(frame.get_by_text("KS 2025/348").first).to_be_visible()
    expect(page.get_by_role("link", name="PDF").first).to_be_visible()
    # The flow recorded the version: working copy, with the checksum of each file.
    expect(page.get_by_role("cell", name="Preliminär", exact=True).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"PDF: [0-9a-f]{64}")).first).to_be_visible()
    check(page)

    # Closing: asked first, then done.
    page.goto(f"{portal.url}/admin/omgang/1/beslut")
    check(page)
    click(page, "Avsluta remissomgången …")
    expect(page.get_by_text("Vill ni avsluta remissomgången nu?")).to_be_visible()
    check(page)
    click(page, "Ja, avsluta omgången")
    expect(page.get_by_role("status")).to_contain_text("Remissomgången är avslutad")
    check(page)

    # The decision form with every error, then a good decision, then sent.
    page.get_by_label("Beslutsdatum (ÅÅÅÅ-MM-DD)").fill("den tionde")
    assert click(page, "Registrera beslutet").status == 422
    expect(page.get_by_role("alert")).to_contain_text("Välj vilket organ som fattade beslutet.")
    check(page)
    expect(page.get_by_label("Beslutsdatum (ÅÅÅÅ-MM-DD)")).to_have_value("den tionde")

    protokoll = tmp_path / "Protokollsutdrag KS § 8.pdf"
    protokoll.write_bytes(pdf_bytes("Protokollsutdrag"))
    page.get_by_label("Kommunstyrelsen (KS)").check()
    page.get_by_label("Beslutsdatum (ÅÅÅÅ-MM-DD)").fill(
        dates.local_today(dates.utcnow()).isoformat()
    )
    page.get_by_label("Paragraf").fill("§ 8")
    page.get_by_label("Beslut", exact=True).fill("Motionen anses besvarad.")
    page.get_by_label("Protokollsutdrag", exact=True).set_input_files(str(protokoll))
    assert click(page, "Registrera beslutet").status == 200
    expect(page.get_by_role("status")).to_contain_text("Beslutet är registrerat")
    check(page)
    click(page, f"Skicka beslutet till {len(CODES)} remissinstanser")
    expect(page.get_by_role("status")).to_contain_text("Beslutet")
    check(page)
