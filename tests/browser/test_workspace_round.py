"""The round page in Chromium, as a handläggare follows and steers a running round: axe-core
on every state of the page and on each form with its errors, and no horizontal scrolling
at 320 px outside data tables."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from remiss.answers import anstand as anstand_service
from remiss.answers import service as answers
from remiss.core import dates
from remiss.core.settings import load_settings
from remiss.core.states import EventKind
from remiss.core.terms import NOT_REVIEWED
from remiss.db.engine import session_scope
from remiss.db.models import Event
from remiss.storage.uploads import UploadLimits, check_files
from tests.browser.conftest import CODES, StartPortal, click, submit, working_day_after
from tests.browser.test_workspace_report import check
from tests.conftest import future_deadline
from tests.e2e.conftest import RunCli
from tests.support.documents import pdf_bytes
from tests.support.rounds import dispatch_of


def prepare_states(data_dir: Path, deadline_day: str) -> None:
    """What the mailbox and the answer page would have stored: a bounce, a request for
    anstånd and an answer by e-mail that waits for review."""
    settings = load_settings({"REMISS_DATA_DIR": str(data_dir)})
    now = dates.utcnow()
    files = check_files([("yttrande.pdf", pdf_bytes())], UploadLimits())
    with session_scope(settings.database_url) as session:
        farsta = dispatch_of(session, "farsta")
        farsta.bounced_at, farsta.bounce_reason = now, "550 5.1.1 Mottagaren finns inte"
        session.add(
            Event(dispatch_id=farsta.id, at=now, kind=EventKind.BOUNCED, detail={"reason": "550"})
        )
        anstand_service.request_anstand(
            session,
            dispatch=dispatch_of(session, "bromma"),
            new_date=working_day_after(dates.parse_date(deadline_day), 14).isoformat(),
            reason="Nämnden sammanträder först efter svarsdagen.",
            requested_by="registrator@bromma.example",
            now=now,
        )
        answers.submit_answer(
            session,
            dispatch=dispatch_of(session, "kpr"),
            values={
                "position": NOT_REVIEWED,
                "att_sats_positions": {},
                "summary": None,
                "contact_email": "kansli@kpr.example",
                "needs_review": True,
                "email_message_id": "<svar@kpr.example>",
            },
            files=files,
            store=settings.documents_dir,
            now=now,
            channel="email",
        )


def test_the_round_page_and_its_forms_are_accessible_in_every_state(
    page: Page, start_portal: StartPortal, run_cli: RunCli
) -> None:
    portal = start_portal(
        REMISS_ADMIN_SSO_HEADER="X-Remote-User",
        REMISS_ADMIN_ROLES="karin.lindqvist=handlaggare;lars.berg=lasare",
    )
    page.set_extra_http_headers({"X-Remote-User": "karin.lindqvist"})
    deadline = future_deadline()
    started = run_cli(
        "round",
        "start",
        str(Path(__file__).parents[2] / "examples" / "KS-2025-348" / "arende.yaml"),
        "--deadline",
        deadline.isoformat(),
        "--to",
        ",".join(CODES),
    )
    assert started.returncode == 0, started.stdout + started.stderr
    prepare_states(portal.data_dir, deadline.isoformat())
    url = f"{portal.url}/admin/omgang/1"

    # Following: the whole page, then one filter.
    page.goto(url)
    expect(page.get_by_role("heading", name="Begärda anstånd")).to_be_visible()
    check(page)
    page.get_by_role("link", name="Studsade eller misslyckade (1)").click()
    expect(page.get_by_role("region", name="Remissinstansernas status")).to_contain_text("Farsta")
    check(page)

    # Each form with an error: the summary at the top, the error at the field.
    page.goto(url)
    page.get_by_label("Rättad e-postadress").fill("inte en adress")
    response = submit(
        page,
        lambda: page.get_by_role("button", name="Rätta och skicka remissen igen").click(),
    )
    assert response.status == 422
    expect(page.get_by_role("alert")).to_contain_text("Ange en giltig e-postadress")
    check(page)
    page.get_by_label("Ny svarsdag (ÅÅÅÅ-MM-DD)").fill("2020-01-01")
    assert click(page, "Förläng svarstiden").status == 422
    expect(page.get_by_role("alert")).to_contain_text("senare än nuvarande svarsdag")
    check(page)
    assert click(page, "Lägg till och skicka remissen").status == 422
    expect(page.get_by_role("alert")).to_contain_text("Välj en remissinstans i listan.")
    check(page)
    assert click(page, "Lägg till organisationen och skicka remissen").status == 422
    expect(page.get_by_role("alert")).to_contain_text("Ange organisationens namn.")
    check(page)
    page.get_by_label("Ny svarsdag om anståndet beviljas (ÅÅÅÅ-MM-DD)").fill("2031-01-07")
    assert click(page, "Bevilja anstånd").status == 422
    expect(page.get_by_role("alert")).to_contain_text("Anstånd kan ges till och med")
    check(page)

    # Each action done: the page says so.
    page.goto(url)
    page.get_by_label("Rättad e-postadress").fill("registrator@farsta.example")
    submit(page, lambda: page.get_by_role("button", name="Rätta och skicka remissen igen").click())
    expect(page.get_by_role("status")).to_contain_text("Adressen är rättad")
    check(page)
    page.get_by_label("Meddelande i beslutet (frivilligt)").fill("Beviljas.")
    click(page, "Bevilja anstånd")
    expect(page.get_by_role("status")).to_contain_text("Anståndet är beviljat")
    check(page)
    page.get_by_label("Ny svarsdag (ÅÅÅÅ-MM-DD)").fill(working_day_after(deadline, 7).isoformat())
    click(page, "Förläng svarstiden")
    expect(page.get_by_role("status")).to_contain_text("Svarstiden är förlängd")
    check(page)
    page.get_by_label("Remissinstans ur registret").select_option("kulturnamnden")
    click(page, "Lägg till och skicka remissen")
    expect(page.get_by_role("status")).to_contain_text("Remissinstansen är tillagd")
    page.get_by_label("Organisationens namn").fill("Teaterförbundet för scen och film")
    page.get_by_label("E-postadress dit remissen skickas").fill("kansli@teaterforbundet.example")
    click(page, "Lägg till organisationen och skicka remissen")
    expect(page.get_by_role("region", name="Åtgärder i omgången")).to_contain_text(
        "Teaterförbundet för scen och film"
    )
    check(page)

    # Reviewing the answer that came by e-mail: the form, its error, then done.
    page.get_by_role("link", name="Granska svaret från Kommunala pensionärsrådet").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Granska svar")
    check(page)
    assert click(page, "Spara granskningen").status == 422
    expect(page.get_by_role("alert")).to_contain_text("Välj ställningstagandet")
    check(page)
    page.get_by_label("Inga synpunkter").check()
    click(page, "Spara granskningen")
    expect(page.get_by_role("status")).to_contain_text("Svaret är granskat")
    check(page)

    # A reader sees the same page without the forms.
    page.set_extra_http_headers({"X-Remote-User": "lars.berg"})
    page.goto(url)
    expect(page.get_by_text("Ni har rollen läsare")).to_be_visible()
    expect(page.get_by_role("button", name="Förläng svarstiden")).to_have_count(0)
    check(page)
