"""The pages of a joint answer in Chromium, in every state: the partner's page that asks it
to confirm, the handläggare's page of joint answers, before and after a decision. axe-core
finds nothing on any of them, and nothing scrolls sideways at 320 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    Portal,
    StartedRound,
    StartPortal,
    Upload,
    click,
    described_as,
    dispatches,
    fill_answer,
    open_link,
)
from tests.browser.test_workspace_report import check
from tests.e2e.conftest import RunCli


@pytest.fixture
def portal(start_portal: StartPortal) -> Portal:
    # Staff come through the single-sign-on proxy on this host (127.0.0.1 is trusted).
    return start_portal(REMISS_ADMIN_SSO_HEADER="X-Remote-User")


def test_the_pages_of_a_joint_answer_are_accessible_in_every_state(
    page: Page,
    portal: Portal,
    started_round: StartedRound,
    run_cli: RunCli,
    answer_files: tuple[Upload, Upload],
) -> None:
    open_link(page, started_round.link("socialnamnden"))
    fill_answer(page, answer_files, position="Tillstyrker", joint_with=("Bromma stadsdelsnämnd",))
    assert click(page, "Skicka svaret").status == 200
    check(page)  # the receipt, naming the partner that has yet to confirm

    open_link(page, started_round.link("bromma"))
    expect(described_as(page, "Gemensamt svar")).to_contain_text("har angett er")
    check(page)  # asked to confirm

    page.set_extra_http_headers({"X-Remote-User": "karin.lindqvist"})
    page.goto(f"{portal.url}/admin/omgang/1/gemensamma-svar")
    expect(page.get_by_role("button", name="Bekräfta det gemensamma svaret")).to_be_visible()
    check(page)  # a claim waiting for its partner
    assert click(page, "Bekräfta det gemensamma svaret").status == 200
    expect(page.get_by_role("button", name="Bekräfta det gemensamma svaret")).to_have_count(0)
    check(page)  # confirmed by the handläggare
    assert dispatches(run_cli)["bromma"]["progress"] == "answered"

    page.set_extra_http_headers({})
    open_link(page, started_round.link("bromma"))
    expect(described_as(page, "Gemensamt svar")).to_contain_text("Socialnämnden")
    check(page)  # the partner's page once the joint answer counts as its own
