"""A new case and its recipients in Chromium, as a handläggare fills them in: axe-core on
every state of each page (0 violations), and no horizontal scrolling at 320 px."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, Response, expect

from remiss.web.security import hash_password
from tests.browser.conftest import StartPortal, click, submit
from tests.browser.test_accessibility import assert_accessible

PASSWORD = "korrekt häst batteri"
ROOT = Path(__file__).resolve().parents[2]
MOTION_PDF = ROOT / "examples" / "KS-2025-348" / "motion.pdf"


def check(page: Page) -> None:
    assert_accessible(page)
    page.set_viewport_size({"width": 320, "height": 800})
    wide = page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    culprits = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id + ' '
        + Math.round(e.getBoundingClientRect().right) + ' ' + (e.textContent||'').slice(0,60))"""
    )
    assert not wide, f"horizontal scrolling at 320 px on {page.url}: {culprits}"
    page.set_viewport_size({"width": 1280, "height": 900})


def save_selection(page: Page) -> Response:
    return submit(page, lambda: page.get_by_role("button", name="Spara urvalet").first.click())


def test_a_new_case_and_its_recipients_are_filled_in_without_javascript_and_accessibly(
    page: Page, start_portal: StartPortal
) -> None:
    portal = start_portal(REMISS_ADMIN_PASSWORD_HASH=hash_password(PASSWORD))
    page.goto(f"{portal.url}/admin/login")
    page.get_by_label("Lösenord").fill(PASSWORD)
    assert click(page, "Logga in").status == 200, portal.log_text()
    check(page)

    page.get_by_role("link", name="Ny remiss").first.click()
    expect(page.get_by_role("heading", name="Ny remiss")).to_be_visible()
    check(page)
    assert click(page, "Skapa ett nytt ärende").status == 200
    expect(page.get_by_role("heading", name="Ärendet", exact=True)).to_be_visible()
    check(page)

    # The motion first: its att-satser and motionärer are offered.
    page.get_by_label("Diarienummer").fill("KS 2026/1201")
    page.get_by_label("Rubrik").fill(
        "Motion om Stockholms stads stöd i återuppbyggnaden av Ukraina"
    )
    page.get_by_label("Fil att ladda upp").set_input_files(str(MOTION_PDF))
    assert click(page, "Ladda upp").status == 200
    expect(page.get_by_role("heading", name="Förslag ur motionen")).to_be_visible()
    check(page)
    assert click(page, "Använd förslaget ur motion.pdf").status == 200
    expect(page.get_by_label("Att-sats 2")).to_have_value(
        "att staden inrättar en praxis som ger förvaltningar och bolag i uppgift att vid nyinköp "
        "se över möjligheten att donera befintlig utrustning till återuppbyggnaden av Ukraina"
    )
    expect(page.get_by_label("Parti, motionär 4")).to_have_value("KD")
    check(page)

    # A row added and removed with buttons.
    assert click(page, "Lägg till att-sats").status == 200
    expect(page.get_by_label("Att-sats 3")).to_be_visible()
    assert click(page, "Ta bort att-sats 3").status == 200
    expect(page.get_by_label("Att-sats 3")).to_have_count(0)

    # Bad input: the summary links to the fields, the values stay.
    page.get_by_label("Namn", exact=True).fill("Karin Lindqvist")
    page.get_by_label("E-postadress", exact=True).fill("karin@")
    page.get_by_label("Väckt (frivilligt)").fill("19 oktober")
    assert click(page, "Spara och välj mottagare").status == 422
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Ange en giltig e-postadress")
    expect(alert).to_contain_text("Ange datumet som ÅÅÅÅ-MM-DD")
    expect(page.get_by_label("Diarienummer")).to_have_value("KS 2026/1201")
    check(page)
    page.get_by_label("E-postadress", exact=True).fill("karin.lindqvist@stockholm.example")
    page.get_by_label("Väckt (frivilligt)").fill("2026-10-19")
    assert click(page, "Spara och välj mottagare").status == 200
    expect(page.get_by_role("heading", name="Mottagare", exact=True)).to_be_visible()
    check(page)

    # Recipients: a whole group, one found by search, and an outside organisation.
    page.get_by_label("Alla stadsdelsnämnder").check()
    assert save_selection(page).status == 200
    expect(page.get_by_role("status")).to_contain_text("Urvalet av mottagare är sparat.")
    check(page)
    page.get_by_label("Sök remissinstans").fill("social")
    assert click(page, "Sök").status == 200
    page.get_by_label("Socialnämnden").check()
    assert save_selection(page).status == 200
    expect(page.get_by_role("heading", name="Valda mottagare")).to_contain_text("12")
    check(page)

    page.get_by_label("Organisationens namn").fill("Teaterförbundet")
    page.get_by_label("E-postadress dit remissen skickas").fill("kansli@teaterforbundet")
    assert click(page, "Lägg till mottagaren").status == 422
    expect(page.get_by_role("alert")).to_contain_text("Ange en giltig e-postadress")
    check(page)
    page.get_by_label("E-postadress dit remissen skickas").fill("kansli@teaterforbundet.example")
    assert click(page, "Lägg till mottagaren").status == 200
    expect(page.get_by_text("Teaterförbundet, kansli@teaterforbundet.example")).to_be_visible()
    check(page)

    with page.expect_navigation():
        page.get_by_role("button", name="Spara och välj svarsdag").click()
    assert page.url.endswith("/svarstid")

    # The overview lists the draft.
    page.goto(f"{portal.url}/admin")
    expect(page.get_by_role("link", name="KS 2026/1201")).to_be_visible()
    check(page)
