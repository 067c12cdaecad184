"""The answer page in Chromium, as an official at a nämnd uses it from the link in the e-mail.

Each test starts a real round with the CLI, reads the missiv from the outbox, opens its
personal link on a real portal server and acts through labels and roles, as a person (or a
screen reader) finds the fields. What the page says is checked against `remiss status
--json` and the outbox, not against the page alone.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from remiss.core.dates import local_today, utcnow
from tests.browser.conftest import (
    DIARIENUMMER,
    ERROR_CASES,
    POSITION_GROUP,
    RUBRIK,
    Portal,
    StartedRound,
    Upload,
    click,
    described_as,
    dispatches,
    fill_answer,
    open_link,
    outbox_files,
    read_eml,
    sha256,
    submit,
    swedish_date,
    text_of,
    wait_for_mail,
    working_day_after,
)
from tests.e2e.conftest import RunCli
from tests.support.documents import pdf_bytes

MOTIONARER = ("Dennis Wedin (M)", "Jan Jönsson (L)", "Jonas Naddebo (C)", "Nike Örbrink (KD)")
ATT_SATSER = (
    "att finansborgarrådet ger stadsdirektören i uppdrag att signera vänskapsavtalet med Kiev",
    "att staden inrättar en praxis som ger förvaltningar och bolag i uppgift att vid nyinköp "
    "se över möjligheten att donera befintlig utrustning till återuppbyggnaden av Ukraina",
)
FILES_LABEL = "Svarets handlingar: protokollsutdrag och tjänsteutlåtande (obligatoriskt)"


# --- Helpers ---------------------------------------------------------------------------------


def wait_until(check: Callable[[], Any], *, timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached within {timeout:.0f} s"
        time.sleep(0.5)


def files_table(page: Page) -> dict[str, str]:
    """The receipt's table of files: file name -> sha256, read cell by cell through roles."""
    table = page.get_by_role("table", name="Mottagna filer med storlek och kontrollsumma")
    rows = table.get_by_role("row").all()[1:]  # the first row holds the column headers
    result = {}
    for row in rows:
        cells = row.get_by_role("cell").all()
        result[cells[0].inner_text().strip()] = cells[2].inner_text().strip()
    return result


# --- 1. The link in the e-mail opens the remiss; receipt is confirmed ---------------------


def test_link_in_the_missiv_opens_the_remiss_and_receipt_is_confirmed(
    page: Page, started_round: StartedRound, run_cli: RunCli
) -> None:
    missiv = started_round.missiv["socialnamnden"]
    assert "registrator.socialforvaltningen@stockholm.example" in str(missiv["To"])
    assert DIARIENUMMER in str(missiv["Subject"])
    assert dispatches(run_cli)["socialnamnden"]["progress"] == "sent"

    open_link(page, started_round.link("socialnamnden"))

    main = page.get_by_role("main")
    expect(page).to_have_title(re.compile(re.escape(f"Remiss {DIARIENUMMER}")))
    expect(main).to_contain_text(f"Dnr {DIARIENUMMER}")
    expect(page.get_by_role("heading", level=1)).to_have_text(RUBRIK)
    expect(main).to_contain_text("Till Socialnämnden")
    for motionar in MOTIONARER:
        expect(main).to_contain_text(motionar)
    att_satser = page.get_by_role("region", name="Ärendet").get_by_role("listitem")
    # In a running list: a comma after each att-sats, a full stop after the last.
    expect(att_satser.filter(has_text=re.compile("^att "))).to_have_text(
        [f"{ATT_SATSER[0]},", f"{ATT_SATSER[1]}."]
    )
    expect(described_as(page, "Svar senast")).to_have_text(swedish_date(started_round.deadline))
    expect(described_as(page, "Status")).to_have_text("Öppnad")
    assert dispatches(run_cli)["socialnamnden"]["progress"] == "opened"

    page.get_by_label("Ert diarienummer för remissen (frivilligt)").fill("SN 2025/1234")
    page.get_by_label("Kontaktperson (frivilligt)").fill("Anna Berg")
    page.get_by_label("Kontaktpersonens e-post (frivilligt)").fill("anna.berg@stockholm.example")
    response = click(page, "Bekräfta mottagandet")

    assert response.status == 200
    expect(page.get_by_role("status")).to_contain_text("Mottagandet av remissen är bekräftat")
    expect(described_as(page, "Mottagandet bekräftat")).to_contain_text(
        "ert diarienummer SN 2025/1234"
    )
    expect(described_as(page, "Status")).to_have_text("Mottagandet bekräftat")
    expect(page.get_by_role("button", name="Bekräfta mottagandet")).to_have_count(0)

    status = dispatches(run_cli)
    assert status["socialnamnden"]["progress"] == "received"
    assert status["socialnamnden"]["their_diarienummer"] == "SN 2025/1234"
    assert status["socialnamnden"]["received_at"] is not None
    assert {status[c]["progress"] for c in status if c != "socialnamnden"} == {"sent"}


# --- 2. Anstånd: asked for on the page, granted with the CLI ------------------------------


def test_anstand_asked_for_on_the_page_and_granted_moves_the_deadline(
    page: Page,
    portal: Portal,
    started_round: StartedRound,
    run_cli: RunCli,
    cli_env: dict[str, str],
) -> None:
    new_date = working_day_after(started_round.deadline, 21)
    open_link(page, started_round.link("servicenamnden"))

    page.get_by_label("Nytt datum för svaret (obligatoriskt)").fill(new_date.isoformat())
    page.get_by_label("Skäl (obligatoriskt)", exact=True).fill(
        "Nämnden sammanträder först efter svarsdagen; ärendet justeras omedelbart."
    )
    page.get_by_label("E-post för beslutet (frivilligt)").fill("nils.ek@stockholm.example")
    response = click(page, "Begär anstånd")

    assert response.status == 200
    expect(page.get_by_role("status")).to_contain_text("Er begäran om anstånd är skickad")
    expect(described_as(page, "Anstånd")).to_have_text(
        f"Begärt till {swedish_date(new_date)}, väntar på beslut"
    )
    expect(page.get_by_role("button", name="Begär anstånd")).to_have_count(0)

    (request,) = dispatches(run_cli)["servicenamnden"]["anstand"]
    assert request["state"] == "requested"
    assert request["requested_date"] == new_date.isoformat()
    listed = run_cli("anstand", "list", env={**cli_env, "COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr
    line = next(row for row in listed.stdout.splitlines() if "Servicenämnden" in row)
    assert str(request["id"]) in line
    assert new_date.isoformat() in line
    assert started_round.deadline.isoformat() in line

    granted = run_cli("anstand", "grant", str(request["id"]))
    assert granted.returncode == 0, granted.stdout + granted.stderr
    assert "Beslutet är skickat med e-post" in granted.stdout

    (decision_file,) = outbox_files(portal.outbox, "servicenamnden", "anstand_beslut")
    assert "anstand_beslut" in decision_file.name
    decision = read_eml(decision_file)
    assert "registrator.serviceforvaltningen@stockholm.example" in str(decision["To"])
    assert f"senast {swedish_date(new_date)}" in " ".join(text_of(decision).split())

    page.reload()
    expect(described_as(page, "Svar senast")).to_have_text(
        f"{swedish_date(new_date)} (efter beviljat anstånd)"
    )
    expect(page.get_by_text("väntar på beslut")).to_have_count(0)
    after = dispatches(run_cli)["servicenamnden"]
    assert after["deadline"] == new_date.isoformat()
    assert after["anstand"][0]["state"] == "granted"


# --- 3. An answer with two files, a position per att-sats and a joint remissinstans -------


def test_answer_with_two_files_gives_a_receipt_page_and_a_kvittens(
    page: Page,
    portal: Portal,
    started_round: StartedRound,
    run_cli: RunCli,
    answer_files: tuple[Upload, Upload],
) -> None:
    pdf, docx = answer_files
    decided = local_today(utcnow()) - dt.timedelta(days=2)
    open_link(page, started_round.link("socialnamnden"))

    fill_answer(
        page,
        answer_files,
        position="Tillstyrker delvis",
        per_sats=("Tillstyrker", "Avstyrker"),
        summary="Socialnämnden ställer sig bakom vänskapsavtalet men inte en generell praxis.",
        decision_date=decided,
        paragraph="§ 12",
        joint_with=("Bromma stadsdelsnämnd",),
    )
    response = click(page, "Skicka svaret")

    assert response.status == 200
    assert re.search(r"/kvitto/1$", page.url), page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Ert svar har tagits emot")
    expect(described_as(page, "Version")).to_have_text("1 (gällande)")
    expect(described_as(page, "Ställningstagande")).to_have_text("Tillstyrker delvis")
    expect(described_as(page, "Att-sats 1")).to_have_text("Tillstyrker")
    expect(described_as(page, "Att-sats 2")).to_have_text("Avstyrker")
    expect(described_as(page, "Nämndens beslut")).to_have_text(f"{swedish_date(decided)}, § 12")
    expect(described_as(page, "Gemensamt svar med")).to_have_text("Bromma stadsdelsnämnd")
    assert files_table(page) == {pdf.name: pdf.sha256, docx.name: docx.sha256}

    # The stored file is the uploaded file, byte for byte.
    with page.expect_download() as download:
        page.get_by_role("link", name=pdf.name).click()
    assert Path(download.value.path()).read_bytes() == pdf.data

    kvittens_file = wait_for_mail(portal.outbox, "socialnamnden", "kvittens", 1, timeout=60)
    assert "kvittens" in kvittens_file.name
    kvittens = read_eml(kvittens_file)
    assert "registrator.socialforvaltningen@stockholm.example" in str(kvittens["To"])
    body = text_of(kvittens)
    for upload in answer_files:
        assert upload.name in body
        assert upload.sha256 in body

    status = dispatches(run_cli)
    answer = status["socialnamnden"]["answer"]
    assert status["socialnamnden"]["progress"] == "answered"
    assert answer["version"] == 1
    assert answer["position"] == "tillstyrker_delvis"
    assert answer["att_sats_positions"] == {"1": "tillstyrker", "2": "avstyrker"}
    assert answer["decision_date"] == decided.isoformat()
    assert answer["decision_paragraph"] == "§ 12"
    assert answer["joint_with"] == ["bromma"]
    assert {(f["filename"], f["sha256"]) for f in answer["files"]} == {
        (pdf.name, pdf.sha256),
        (docx.name, docx.sha256),
    }
    # Bromma is asked to confirm the joint answer, and does not count as answered until then.
    assert status["bromma"]["progress"] == "sent"
    assert status["bromma"]["answered_jointly_by"] is None
    assert status["bromma"]["joint_claims"] == [
        {"by": "socialnamnden", "version": 1, "state": "claimed"}
    ]
    request = read_eml(wait_for_mail(portal.outbox, "bromma", "gemensamt_svar", timeout=60))
    assert started_round.link("bromma") in text_of(request)
    assert status["farsta"]["progress"] == "sent"
    wait_until(
        lambda: dispatches(run_cli)["socialnamnden"]["answer"]["processed"],
        what="answer marked processed",
    )


def test_a_joint_answer_counts_for_the_partner_once_it_confirms_on_its_page(
    page: Page, started_round: StartedRound, run_cli: RunCli, answer_files: tuple[Upload, Upload]
) -> None:
    open_link(page, started_round.link("socialnamnden"))
    fill_answer(page, answer_files, position="Tillstyrker", joint_with=("Bromma stadsdelsnämnd",))
    assert click(page, "Skicka svaret").status == 200

    open_link(page, started_round.link("bromma"))
    expect(described_as(page, "Gemensamt svar")).to_contain_text("har angett er")
    assert dispatches(run_cli)["bromma"]["progress"] != "answered"
    assert click(page, "Vi står bakom svaret").status == 200
    expect(page.get_by_role("status")).to_contain_text("Det räknas nu som ert svar")
    expect(described_as(page, "Gemensamt svar")).to_contain_text("Socialnämnden")
    bromma = dispatches(run_cli)["bromma"]
    assert bromma["progress"] == "answered"
    assert bromma["answered_jointly_by"] == "socialnamnden"
    # The page says what `remiss status` says.
    expect(described_as(page, "Status")).to_have_text(bromma["progress_label"].capitalize())


# --- 4. Changing the answer makes version 2; version 1 stays ---------------------------------


def test_a_changed_answer_is_version_2_and_version_1_is_kept(
    page: Page,
    portal: Portal,
    started_round: StartedRound,
    run_cli: RunCli,
    answer_files: tuple[Upload, Upload],
    tmp_path: Path,
) -> None:
    link = started_round.link("socialnamnden")
    open_link(page, link)
    fill_answer(page, answer_files, position="Tillstyrker delvis")
    assert click(page, "Skicka svaret").status == 200
    expect(described_as(page, "Version")).to_have_text("1 (gällande)")

    open_link(page, link)
    expect(page.get_by_role("heading", name="Ändra ert svar")).to_be_visible()
    corrected = tmp_path / "Protokollsutdrag justerat.pdf"
    corrected.write_bytes(pdf_bytes("Justerat protokollsutdrag"))
    fill_answer(page, [Upload(corrected, corrected.read_bytes())], position="Tillstyrker")
    response = click(page, "Skicka svaret")

    assert response.status == 200
    assert re.search(r"/kvitto/2$", page.url), page.url
    expect(described_as(page, "Version")).to_have_text("2 (gällande)")
    expect(described_as(page, "Ställningstagande")).to_have_text("Tillstyrker")
    assert files_table(page) == {corrected.name: sha256(corrected.read_bytes())}

    open_link(page, link)
    versions = page.get_by_role("region", name="Status för ert svar").get_by_role("listitem")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("Version 2 (gällande)")
    expect(versions.nth(0)).to_contain_text("tillstyrker.")
    expect(versions.nth(1)).to_contain_text("Version 1,")
    expect(versions.nth(1)).not_to_contain_text("gällande")
    expect(versions.nth(1)).to_contain_text("tillstyrker delvis")

    # The receipt of version 1 is still there, and no longer current.
    submit(page, lambda: page.get_by_role("link", name="Visa kvitto för version 1").click())
    expect(described_as(page, "Version")).to_have_text("1")
    assert set(files_table(page)) == {u.name for u in answer_files}

    status = dispatches(run_cli)["socialnamnden"]
    assert status["answer"]["version"] == 2
    assert status["answer_versions"] == 2
    assert [f["filename"] for f in status["answer"]["files"]] == [corrected.name]
    wait_for_mail(portal.outbox, "socialnamnden", "kvittens", 2, timeout=60)


# --- 5. Declining ----------------------------------------------------------------------------


def test_declining_with_a_reason(page: Page, started_round: StartedRound, run_cli: RunCli) -> None:
    open_link(page, started_round.link("farsta"))
    page.get_by_label("Skäl (frivilligt)").fill("Ärendet berör inte stadsdelsnämndens ansvar.")
    response = click(page, "Avstå från att yttra oss")

    assert response.status == 200
    expect(page.get_by_role("status")).to_contain_text("Ni har meddelat att ni avstår")
    expect(described_as(page, "Avstår")).to_contain_text("att ni avstår från att yttra er")
    expect(described_as(page, "Status")).to_have_text("Avstått")
    expect(page.get_by_role("button", name="Skicka svaret")).to_have_count(0)

    status = dispatches(run_cli)["farsta"]
    assert status["progress"] == "declined"
    assert status["decline_reason"] == "Ärendet berör inte stadsdelsnämndens ansvar."
    assert status["answer"] is None


# --- 6. Validation errors are shown and tied to their fields -------------------------------


def expect_error_tied_to(
    page: Page, field: Locator, field_id: str, message: str, target: str | None = None
) -> None:
    """The summary (role=alert) links to the field (`target`: the element that takes focus,
    e.g. a group's first radio button); the field is invalid and described by its error."""
    summary = page.get_by_role("alert")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text(message)
    expect(summary.get_by_role("link", name=message)).to_have_attribute(
        "href", f"#{target or field_id}"
    )
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", re.compile(rf"\b{field_id}-fel\b"))
    error = page.locator(f"[id='{field_id}-fel']")
    expect(error).to_be_visible()
    expect(error).to_contain_text(message)
    expect(field).to_have_accessible_description(re.compile(re.escape(message)))


def test_validation_errors_are_shown_and_tied_to_their_fields(
    page: Page, started_round: StartedRound, run_cli: RunCli, answer_files: tuple[Upload, Upload]
) -> None:
    open_link(page, started_round.link("socialnamnden"))
    page.get_by_label("Kort sammanfattning av svaret (frivilligt)").fill("Utkast")

    # Neither a position nor a file.
    response = click(page, "Skicka svaret")
    assert response.status == 400
    expect(page).to_have_title(re.compile("^Fel i formuläret"))
    group = page.get_by_role("group", name=POSITION_GROUP)
    expect_error_tied_to(
        page, group, "stallningstagande", "Välj ert ställningstagande.", "stallning-tillstyrker"
    )
    expect(page.get_by_label("Kort sammanfattning av svaret (frivilligt)")).to_have_value("Utkast")

    # A position but still no file.
    group.get_by_label("Tillstyrker", exact=True).check()
    response = click(page, "Skicka svaret")
    assert response.status == 400
    files = page.get_by_label(FILES_LABEL)
    expect_error_tied_to(page, files, "filer", "Bifoga minst en fil.")
    expect(files).to_have_accessible_description(re.compile("PDF, Word"))  # the hint stays
    expect(page.get_by_role("group", name=POSITION_GROUP)).not_to_have_attribute(
        "aria-invalid", "true"
    )
    expect(page.get_by_label("Tillstyrker", exact=True)).to_be_checked()

    status = dispatches(run_cli)["socialnamnden"]
    assert status["answer"] is None
    assert status["answer_versions"] == 0
    assert status["progress"] == "opened"


def test_each_form_ties_its_error_to_its_own_field(
    page: Page, started_round: StartedRound, run_cli: RunCli, subtests: pytest.Subtests
) -> None:
    """The page has three forms with look-alike fields (two e-post, two kontaktperson, two
    skäl): an error must point at the field in the form that was sent, and only at it."""
    for case in ERROR_CASES:
        with subtests.test(case.name):
            open_link(page, started_round.link("socialnamnden"))
            case.fill(page, started_round)
            assert click(page, case.button).status == 400
            field = page.get_by_label(case.field_label, exact=True)
            expect(page.locator("[aria-invalid=true]")).to_have_count(1)
            expect(page.locator(f"[id='{case.field_id}-fel']")).to_have_count(1)
            expect_error_tied_to(page, field, case.field_id, case.message)
            if case.look_alike:
                other = page.get_by_label(case.look_alike, exact=True)
                expect(other).to_have_value("")
                expect(other).not_to_have_attribute("aria-invalid", "true")

    status = dispatches(run_cli)["socialnamnden"]
    assert status["progress"] == "opened"
    assert status["answer"] is None
    assert status["anstand"] == []
    assert status["declined_at"] is None


def test_the_confirmation_is_in_view_after_sending(
    page: Page, started_round: StartedRound, subtests: pytest.Subtests
) -> None:
    """After each form the page says what happened, where the official is looking: the
    redirect's #fragment must not scroll the notice out of view."""

    def ask_for_anstand() -> None:
        later = working_day_after(started_round.deadline, 14)
        page.get_by_label("Nytt datum för svaret (obligatoriskt)").fill(later.isoformat())
        page.get_by_label("Skäl (obligatoriskt)", exact=True).fill("Nämnden sammanträder senare.")

    def nothing() -> None:
        pass

    steps: list[tuple[str, str, Callable[[], None], str, str]] = [
        ("receipt", "socialnamnden", nothing, "Bekräfta mottagandet", "Mottagandet av remissen"),
        ("anstånd", "servicenamnden", ask_for_anstand, "Begär anstånd", "begäran om anstånd"),
        (
            "declining",
            "farsta",
            nothing,
            "Avstå från att yttra oss",
            "Ni har meddelat att ni avstår",
        ),
    ]
    for name, code, fill, button, text in steps:
        with subtests.test(name):
            open_link(page, started_round.link(code))
            fill()
            assert click(page, button).status == 200
            notice = page.get_by_role("status")
            expect(notice).to_contain_text(text)
            expect(notice).to_be_in_viewport()


# --- 7. Keyboard only ------------------------------------------------------------------------


def focused(page: Page) -> str:
    value = page.evaluate(
        "() => { const e = document.activeElement;"
        " return e ? (e.id || e.textContent || e.tagName).trim() : ''; }"
    )
    assert isinstance(value, str)
    return value


def tab_to(page: Page, target: str, *, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page) == target:
            return
    raise AssertionError(f"{target!r} not reached with {limit} presses of Tab")


def test_receipt_can_be_confirmed_with_the_keyboard_only(
    page: Page, started_round: StartedRound, run_cli: RunCli
) -> None:
    open_link(page, started_round.link("servicenamnden"))

    page.keyboard.press("Tab")
    assert focused(page) == "Hoppa till innehållet"
    tab_to(page, "diarienummer")
    page.keyboard.type("SVN 2025/77")
    page.keyboard.press("Tab")
    assert focused(page) == "kontaktperson"
    page.keyboard.type("Nils Ek")
    page.keyboard.press("Tab")
    assert focused(page) == "epost"
    page.keyboard.press("Tab")
    assert focused(page) == "Bekräfta mottagandet"
    response = submit(page, lambda: page.keyboard.press("Enter"))

    assert response.status == 200
    expect(page.get_by_role("status")).to_contain_text("Mottagandet av remissen är bekräftat")
    status = dispatches(run_cli)["servicenamnden"]
    assert status["progress"] == "received"
    assert status["their_diarienummer"] == "SVN 2025/77"


def test_after_a_refused_form_focus_is_on_the_error_summary_and_the_typed_date_is_kept(
    page: Page, started_round: StartedRound
) -> None:
    """Typed as the hint says (digits from the keyboard), the date stays as typed (a native
    date control turned "24112026" into another date); the refused form puts focus on the
    error summary (autofocus, no script), from which each link leads to its field."""
    open_link(page, started_round.link("socialnamnden"))
    decided = local_today(utcnow()) - dt.timedelta(days=2)
    date_field = page.get_by_label("Datum för nämndens beslut (frivilligt)")
    expect(date_field).to_have_accessible_description(re.compile("till exempel 2027-02-15"))
    date_field.click()
    page.keyboard.type(decided.strftime("%Y%m%d"))
    expect(date_field).to_have_value(decided.strftime("%Y%m%d"))

    response = click(page, "Skicka svaret")  # no position, no file

    assert response.status == 400
    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_count(2)
    page.keyboard.press("Tab")
    expect(summary.get_by_role("link", name="Välj ert ställningstagande.")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#stallning-tillstyrker")).to_be_focused()
    expect(date_field).to_have_value(decided.strftime("%Y%m%d"))
    expect(summary).to_contain_text("Välj dem igen")


# --- 8. Without JavaScript -----------------------------------------------------------------


def test_the_whole_flow_works_without_javascript(
    browser: Browser,
    portal: Portal,
    started_round: StartedRound,
    run_cli: RunCli,
    answer_files: tuple[Upload, Upload],
) -> None:
    context = browser.new_context(java_script_enabled=False, locale="sv-SE")
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        open_link(page, started_round.link("kpr"))
        expect(page.get_by_role("heading", level=1)).to_have_text(RUBRIK)

        page.get_by_label("Ert diarienummer för remissen (frivilligt)").fill("KPR 2025/9")
        assert click(page, "Bekräfta mottagandet").status == 200
        expect(described_as(page, "Mottagandet bekräftat")).to_contain_text("KPR 2025/9")

        response = click(page, "Skicka svaret")
        assert response.status == 400
        expect(page.get_by_role("alert")).to_contain_text("Välj ert ställningstagande.")

        fill_answer(page, answer_files, position="Inga synpunkter")
        response = click(page, "Skicka svaret")
        assert response.status == 200
        expect(page.get_by_role("heading", level=1)).to_have_text("Ert svar har tagits emot")
        assert files_table(page) == {u.name: u.sha256 for u in answer_files}
    finally:
        context.close()

    status = dispatches(run_cli)["kpr"]
    assert status["progress"] == "answered"
    assert status["their_diarienummer"] == "KPR 2025/9"
    assert status["answer"]["position"] == "inga_synpunkter"
    assert len(status["answer"]["files"]) == 2
    wait_for_mail(portal.outbox, "kpr", "kvittens", timeout=60)
