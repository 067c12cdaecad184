"""The whole journey of a new remiss in Chromium, as a handläggare makes it: the case, the
recipients, the deadline, the preview, "Skicka" (twice), and the round page. axe-core on
every page and state (0 violations), and no horizontal scrolling at 320 px."""

from __future__ import annotations

import datetime as dt
import re
import time

from playwright.sync_api import Page, expect

from remiss.core import dates
from remiss.web.security import hash_password
from tests.browser.conftest import StartPortal, click, outbox_files, swedish_date
from tests.browser.test_workspace_case import MOTION_PDF, PASSWORD, check, save_selection
from tests.conftest import future_deadline


def saturday_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(5 - day.weekday()) % 7 or 7)


def test_a_handlaggare_sends_a_new_remiss_from_the_workspace_once(
    page: Page, start_portal: StartPortal
) -> None:
    portal = start_portal(REMISS_ADMIN_PASSWORD_HASH=hash_password(PASSWORD))
    page.goto(f"{portal.url}/admin/login")
    page.get_by_label("Lösenord").fill(PASSWORD)
    assert click(page, "Logga in").status == 200, portal.log_text()

    # 1. The case, with the motion.
    page.goto(f"{portal.url}/admin/ny")
    assert click(page, "Skapa ett nytt ärende").status == 200
    page.get_by_label("Diarienummer").fill("KS 2026/1201")
    page.get_by_label("Rubrik").fill("Motion om fler scener för fri teater")
    page.get_by_label("Väckt (frivilligt)").fill("2026-10-19")
    page.get_by_label("Namn, motionär 1").fill("Anna Andersson")
    page.get_by_label("Parti, motionär 1").fill("S")
    page.get_by_label("Att-sats 1").fill("att staden inventerar lokaler som kan bli scener")
    page.get_by_label("Namn", exact=True).fill("Karin Lindqvist")
    page.get_by_label("E-postadress", exact=True).fill("karin.lindqvist@stockholm.example")
    page.get_by_label("Fil att ladda upp").set_input_files(str(MOTION_PDF))
    assert click(page, "Ladda upp").status == 200
    assert click(page, "Spara och välj mottagare").status == 200

    # 2. The recipients: two nämnder and an outside organisation.
    page.get_by_label("Socialnämnden").check()
    page.get_by_label("Kulturnämnden").check()
    assert save_selection(page).status == 200
    page.get_by_label("Organisationens namn").fill("Teaterförbundet")
    page.get_by_label("E-postadress dit remissen skickas").fill("kansli@teaterforbundet.example")
    assert click(page, "Lägg till mottagaren").status == 200
    assert click(page, "Spara och välj svarsdag").status == 200

    # 3. The deadline: the earliest workable day beside the field, a Saturday refused.
    expect(page.get_by_role("heading", name="Svarsdag", exact=True)).to_be_visible()
    field = page.get_by_label("Svar senast (ÅÅÅÅ-MM-DD)")
    expect(field).to_have_accessible_description(re.compile("Tidigaste svarsdag som fungerar"))
    expect(page.get_by_role("region", name="Sammanträden per nämnd")).to_be_visible()
    check(page)
    saturday = saturday_after(future_deadline())
    field.fill(saturday.isoformat())
    assert click(page, "Spara och förhandsgranska").status == 400
    expect(page.get_by_role("alert")).to_contain_text("är ingen arbetsdag (lördag)")
    expect(field).to_have_value(saturday.isoformat())
    expect(field).to_have_attribute("aria-invalid", "true")
    check(page)
    deadline = dates.add_working_days(saturday, 1)
    field.fill(deadline.isoformat())
    assert click(page, "Spara och kontrollera nämndernas sammanträden").status == 200
    expect(
        page.get_by_text(f"Kontrollerat mot svarsdagen {swedish_date(deadline)}")
    ).to_be_visible()
    check(page)
    assert click(page, "Spara och förhandsgranska").status == 200

    # 4. The preview: the e-mail as Teaterförbundet gets it, the HTML in its sandbox.
    expect(page.get_by_role("heading", name="Förhandsgranska och skicka")).to_be_visible()
    expect(page.get_by_text("Remissen skickas till 3 remissinstanser", exact=False)).to_be_visible()
    page.get_by_label("Visa meddelandet som det ser ut för").select_option(label="Teaterförbundet")
    assert click(page, "Visa").status == 200
    header = page.locator("dl.meddelandehuvud")
    expect(header).to_contain_text("kansli@teaterforbundet.example")
    expect(header).to_contain_text(
        f"Remiss KS 2026/1201: Motion om fler scener för fri teater – svar senast "
        f"{swedish_date(deadline)}"
    )
    expect(header).to_contain_text("motion.pdf")
    expect(header).to_contain_text(f"Svara på remissen, förfaller {swedish_date(deadline)}")
    frame = page.frame_locator("iframe.epostram")
    expect(frame.get_by_text("Till Teaterförbundet", exact=True)).to_be_visible()
    expect(frame.get_by_role("link", name="Öppna remissen och svara")).to_be_visible()
    check(page)

    # Send with an impatient double click: one round, one e-mail each.
    button = page.get_by_role("button", name="Skicka remissen till 3 remissinstanser")
    # The second click may abort the first click's navigation in the browser (while the
    # server still gets both posts), so wait for where the page ends, not for one navigation.
    button.dblclick()
    page.wait_for_url(re.compile(r"/skickas$"))
    expect(page.get_by_role("heading", name="Remissen skickas")).to_be_visible()
    check(page)
    # Back to the preview: it leads to this page again, with nothing to send twice.
    page.go_back()
    expect(page.get_by_role("heading", name="Remissen skickas")).to_be_visible()

    round_link = page.get_by_role("link", name=re.compile(r"Följ remissomgång \d+"))
    ends = time.monotonic() + 120
    while round_link.count() == 0:
        assert time.monotonic() < ends, portal.log_text()[-3000:]
        time.sleep(1)
        page.get_by_role("link", name="Ladda om sidan").click()
    check(page)
    round_link.click()
    expect(page.get_by_role("main")).to_contain_text("KS 2026/1201")
    assert re.search(r"/admin/omgang/\d+$", page.url), page.url
    check(page)

    while len(list(portal.outbox.glob("*_missiv_0.eml"))) < 3:
        assert time.monotonic() < ends, portal.log_text()[-3000:]
        time.sleep(0.5)
    time.sleep(1)  # anything sent twice would show up now
    assert len(list(portal.outbox.glob("*_missiv_0.eml"))) == 3
    assert len(outbox_files(portal.outbox, "socialnamnden", "missiv")) == 1
