"""axe-core on every page an official or a member of staff meets (WCAG 2.1 AA and axe's
best practices): the remiss page, its validation errors, the receipt, the 404 page and
the staff login.

axe is injected with Playwright's evaluate, which the page's Content-Security-Policy
(no scripts at all) does not block.
"""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from remiss.web.security import hash_password
from tests.browser.conftest import (
    ERROR_CASES,
    StartedRound,
    StartPortal,
    Upload,
    click,
    fill_answer,
    open_link,
)

AXE = Axe()


def violations(page: Page) -> list[dict[str, Any]]:
    results = AXE.run(page)
    found: list[dict[str, Any]] = results.response["violations"]
    return found


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for violation in found:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"    {node['target']}: {node['html'][:200]}")
            summary = node.get("failureSummary")
            if summary:
                lines.append("      " + " ".join(summary.split()))
    return "\n".join(lines)


def fits_320(page: Page) -> None:
    """At 320 px (WCAG 1.4.10) nothing but a data table's own scroll region is wider than the
    page: the document does not scroll sideways."""
    before = page.viewport_size or {"width": 1280, "height": 900}
    page.set_viewport_size({"width": 320, "height": 800})
    try:
        wide = page.evaluate(
            "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        culprits = page.evaluate(
            """() => {
                const root = document.documentElement;
                return [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > root.clientWidth)
                    .filter(e => !e.closest('.tabell'))
                    .map(e => e.tagName + '.' + e.className + ' '
                         + Math.round(e.getBoundingClientRect().right)
                         + ' ' + (e.textContent || '').slice(0, 30));
            }"""
        )
        assert not wide, f"horizontal scrolling at 320 px on {page.url}: {culprits[:5]}"
    finally:
        page.set_viewport_size(before)


def assert_accessible(page: Page) -> None:
    """axe-core finds nothing, and the page reflows at 320 px: every page state checked."""
    found = violations(page)
    assert not found, f"axe violations on {page.url}:\n{describe(found)}"
    fits_320(page)


def test_the_remiss_page_as_first_opened(page: Page, started_round: StartedRound) -> None:
    open_link(page, started_round.link("socialnamnden"))
    assert_accessible(page)


def test_the_remiss_page_showing_validation_errors(
    page: Page, started_round: StartedRound, subtests: pytest.Subtests
) -> None:
    link = started_round.link("socialnamnden")
    with subtests.test("answer without a position"):
        open_link(page, link)
        assert click(page, "Skicka svaret").status == 400
        expect(page.get_by_role("alert")).to_contain_text("Välj ert ställningstagande.")
        assert_accessible(page)
    with subtests.test("answer without files"):
        open_link(page, link)
        page.get_by_label("Tillstyrker", exact=True).check()
        assert click(page, "Skicka svaret").status == 400
        expect(page.get_by_role("alert")).to_contain_text("Bifoga minst en fil.")
        assert_accessible(page)
    for case in ERROR_CASES:
        with subtests.test(case.name):
            open_link(page, link)
            case.fill(page, started_round)
            assert click(page, case.button).status == 400
            expect(page.get_by_role("alert")).to_contain_text(case.message)
            assert_accessible(page)


def test_the_receipt_page_and_the_answered_remiss_page(
    page: Page, started_round: StartedRound, answer_files: tuple[Upload, Upload]
) -> None:
    link = started_round.link("socialnamnden")
    open_link(page, link)
    page.get_by_label("Ert diarienummer för remissen (frivilligt)").fill("SN 2025/1234")
    assert click(page, "Bekräfta mottagandet").status == 200
    assert_accessible(page)  # with the confirmation notice
    fill_answer(
        page,
        answer_files,
        position="Tillstyrker delvis",
        per_sats=("Tillstyrker", "Avstyrker"),
        joint_with=("Bromma stadsdelsnämnd",),
    )
    assert click(page, "Skicka svaret").status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Ert svar har tagits emot")
    assert_accessible(page)
    open_link(page, link)  # now with the list of versions and "Ändra ert svar"
    assert_accessible(page)


def test_the_page_for_an_unknown_link(page: Page, start_portal: StartPortal) -> None:
    portal = start_portal()
    response = page.goto(f"{portal.url}/r/{'x' * 43}")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Sidan finns inte")
    assert_accessible(page)


def test_the_staff_login_page(page: Page, start_portal: StartPortal) -> None:
    portal = start_portal(REMISS_ADMIN_PASSWORD_HASH=hash_password("rätt lösenord, långt"))
    response = page.goto(f"{portal.url}/admin/login")
    assert response is not None
    assert response.status == 200
    expect(page.get_by_label("Lösenord")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Lösenord").fill("fel lösenord")
    assert click(page, "Logga in").status == 401
    expect(page.get_by_role("alert")).to_contain_text("Fel lösenord.")
    assert_accessible(page)


def test_the_staff_login_page_when_not_configured(page: Page, start_portal: StartPortal) -> None:
    portal = start_portal()
    response = page.goto(f"{portal.url}/admin/login")
    assert response is not None
    assert response.status == 403
    assert_accessible(page)


def test_axe_does_run_on_these_pages(page: Page, started_round: StartedRound) -> None:
    """A canary: with a label removed, axe must report it (so an empty list above means
    the page passed, not that axe did not run under the page's Content-Security-Policy)."""
    open_link(page, started_round.link("socialnamnden"))
    page.evaluate("() => document.querySelector('label[for=diarienummer]').remove()")
    found = violations(page)
    assert "label" in {v["id"] for v in found}, describe(found)
    (label,) = [v for v in found if v["id"] == "label"]
    assert [node["target"] for node in label["nodes"]] == [["#diarienummer"]]
