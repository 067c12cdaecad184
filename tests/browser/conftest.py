"""Browser tests: a real portal server in a subprocess, a real round from the CLI, Chromium.

The portal is started as `remiss portal` would be run by an operator, with the e2e test
environment (a data folder in tmp, the recording outbox) and REMISS_BASE_URL pointing at
the portal itself, so that the link in each missiv really opens the answer page.
"""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    Response,
    sync_playwright,
)

from remiss.core.dates import is_working_day
from tests.conftest import ROOT, future_deadline
from tests.e2e import conftest as e2e
from tests.e2e.conftest import REMISS, RunCli, status_json
from tests.support.documents import docx_bytes, pdf_bytes
from tests.support.net import free_port

# The e2e fixtures (the real CLI in subprocesses, data folder in tmp, recording outbox).
cli_env = e2e.cli_env
prefect_home = e2e.prefect_home
run_cli = e2e.run_cli

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A small round: two facknämnder, two stadsdelsnämnder and a råd.
CODES = ("socialnamnden", "servicenamnden", "bromma", "farsta", "kpr")
DIARIENUMMER = "KS 2025/348"
RUBRIK = "Motion om Stockholms stads stöd i återuppbyggnaden av Ukraina"
MONTHS = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)


def swedish_date(day: dt.date) -> str:
    """'26 augusti 2025', written out here rather than taken from the code under test."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


# --- Files an official uploads -------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Upload:
    path: Path
    data: bytes

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def sha256(self) -> str:
        return sha256(self.data)


@pytest.fixture
def answer_files(tmp_path: Path) -> tuple[Upload, Upload]:
    """Protokollsutdrag as PDF and tjänsteutlåtande as DOCX, on disk for the file chooser."""
    folder = tmp_path / "uppladdning"
    folder.mkdir()
    pdf = folder / "Protokollsutdrag socialnämnden § 12.pdf"
    pdf.write_bytes(pdf_bytes("Protokollsutdrag"))
    docx = folder / "Tjänsteutlåtande socialförvaltningen.docx"
    docx.write_bytes(docx_bytes("Nämnden tillstyrker delvis förslaget."))
    return Upload(pdf, pdf.read_bytes()), Upload(docx, docx.read_bytes())


# --- The portal server -----------------------------------------------------------------------


@dataclass
class Portal:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    data_dir: Path

    @property
    def outbox(self) -> Path:
        return self.data_dir / "outbox"

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (http://127.0.0.1)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the portal and whatever it started (its own process group), never anything else."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


StartPortal = Callable[..., Portal]


@pytest.fixture
def start_portal(cli_env: dict[str, str], run_cli: RunCli, tmp_path: Path) -> Iterator[StartPortal]:
    """Start `remiss portal` on a free port; extra keyword arguments are environment variables.

    REMISS_BASE_URL is set in `cli_env` itself (which `run_cli` uses), so a round started
    afterwards sends links that open this portal.
    """
    started: list[subprocess.Popen[bytes]] = []

    def start(**extra_env: str) -> Portal:
        assert not started, "one portal per test"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cli_env["REMISS_BASE_URL"] = url
        init = run_cli("init")
        assert init.returncode == 0, init.stderr
        log = tmp_path / "portal.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(REMISS), "portal", "--host", "127.0.0.1", "--port", str(port)],
                env={**cli_env, **extra_env},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(process)
        portal = Portal(url, process, log, Path(cli_env["REMISS_DATA_DIR"]))
        deadline = time.monotonic() + 60
        while not _answers(url + "/"):
            if process.poll() is not None:
                pytest.fail(f"remiss portal exited with {process.returncode}:\n{portal.log_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"remiss portal did not answer within 60 s:\n{portal.log_text()}")
            time.sleep(0.2)
        return portal

    yield start
    for process in started:
        _stop(process)


@pytest.fixture
def portal(start_portal: StartPortal) -> Portal:
    return start_portal()


# --- A round, started as stadsledningskontoret would --------------------------------------


def working_day_after(day: dt.date, days: int) -> dt.date:
    """The first working day at least `days` after `day` (anstånd must end on a working day)."""
    later = day + dt.timedelta(days=days)
    while not is_working_day(later):
        later += dt.timedelta(days=1)
    return later


@dataclass(frozen=True)
class StartedRound:
    deadline: dt.date
    missiv: dict[str, EmailMessage]  # by remissinstans code

    def link(self, code: str) -> str:
        return link_in(self.missiv[code])


def read_eml(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    content = body.get_content()
    assert isinstance(content, str)
    return content


def link_in(message: EmailMessage) -> str:
    pattern = r"http://127\.0\.0\.1:\d+/r/[A-Za-z0-9_-]{32,}"
    links: set[str] = set(re.findall(pattern, text_of(message)))
    assert len(links) == 1, links
    return links.pop()


def outbox_files(outbox: Path, code: str, kind: str, stage: int | None = None) -> list[Path]:
    """.eml files of one remissinstans and kind; the outbox names them after the message key,
    `remiss-<round uid>/<code>/<kind>/<stage>` (the answer version for a kvittens)."""
    if not outbox.exists():
        return []
    return sorted(outbox.glob(f"remiss-*_{code}_{kind}_{'*' if stage is None else stage}.eml"))


def wait_for_mail(
    outbox: Path, code: str, kind: str, stage: int | None = None, *, timeout: float = 60
) -> Path:
    deadline = time.monotonic() + timeout
    while True:
        found = outbox_files(outbox, code, kind, stage)
        if found:
            return found[-1]
        if time.monotonic() > deadline:
            names = sorted(p.name for p in outbox.glob("*.eml")) if outbox.exists() else []
            pytest.fail(f"no {kind} e-mail for {code} within {timeout:.0f} s; outbox: {names}")
        time.sleep(0.5)


@pytest.fixture
def started_round(portal: Portal, run_cli: RunCli, case_dir: Path) -> StartedRound:
    deadline = future_deadline()
    started = run_cli(
        "round",
        "start",
        str(case_dir / "arende.yaml"),
        "--deadline",
        deadline.isoformat(),
        "--to",
        ",".join(CODES),
    )
    assert started.returncode == 0, started.stdout + started.stderr
    missiv = {}
    for code in CODES:
        (path,) = outbox_files(portal.outbox, code, "missiv")
        missiv[code] = read_eml(path)
    return StartedRound(deadline, missiv)


def dispatches(run_cli: RunCli) -> dict[str, dict[str, Any]]:
    """The only round's dispatches from `remiss status --json`, by remissinstans code."""
    (rnd,) = status_json(run_cli)["rounds"]
    return {d["code"]: d for d in rnd["dispatches"]}


# --- Acting on the page -------------------------------------------------------------------

POSITION_GROUP = "Ställningstagande till ärendet som helhet (obligatoriskt)"


def open_link(page: Page, link: str) -> None:
    """Open the link as an official does: a click on it in the e-mail (a navigation the
    browser marks as a person's, which is what records the opening)."""
    page.set_content(f'<a href="{link}">Öppna remissen</a>')
    response = submit(page, lambda: page.get_by_role("link").click())
    assert response.status == 200, response.status


def submit(page: Page, action: Callable[[], None]) -> Response:
    """Do what sends a form and return the response of the page that is shown afterwards."""
    with page.expect_navigation() as navigation:
        action()
    return navigation.value


def click(page: Page, button: str) -> Response:
    return submit(page, lambda: page.get_by_role("button", name=button, exact=True).click())


def described_as(page: Page, term: str) -> Locator:
    """The <dd> of the <dt> whose whole text is `term` (the page's 'Läge', 'Svar senast', ...)."""
    return (
        page.locator("dt")
        .filter(has_text=re.compile(f"^{re.escape(term)}$"))
        .locator("xpath=following-sibling::dd[1]")
    )


def fill_answer(
    page: Page,
    files: Sequence[Upload],
    *,
    position: str,
    per_sats: Sequence[str] = (),
    summary: str = "",
    decision_date: dt.date | None = None,
    paragraph: str = "",
    joint_with: Sequence[str] = (),
) -> None:
    page.get_by_role("group", name=POSITION_GROUP).get_by_label(position, exact=True).check()
    for number, choice in enumerate(per_sats, start=1):
        page.get_by_label(f"Ställningstagande till att-sats {number} (frivilligt)").select_option(
            label=choice
        )
    if summary:
        page.get_by_label("Kort sammanfattning av svaret (frivilligt)").fill(summary)
    if decision_date:
        page.get_by_label("Datum för nämndens beslut (frivilligt)").fill(decision_date.isoformat())
    if paragraph:
        page.get_by_label("Paragraf i protokollet (frivilligt)").fill(paragraph)
    for name in joint_with:
        page.get_by_role("group", name="Gemensamt svar (frivilligt)").get_by_label(name).check()
    page.set_input_files("#filer", [f.path for f in files])


# --- Mistakes an official can make, one per form field --------------------------------


@dataclass(frozen=True)
class ErrorCase:
    """One mistake in one form, and the field its error message must be tied to."""

    name: str
    fill: Callable[[Page, StartedRound], None]
    button: str
    field_label: str
    field_id: str
    message: str
    # The look-alike field of another form (same name, another id), which must stay as it was.
    look_alike: str | None = None


def _answer_with(label: str, value: str) -> Callable[[Page, StartedRound], None]:
    def fill(page: Page, _round: StartedRound) -> None:
        page.get_by_role("group", name=POSITION_GROUP).get_by_label(
            "Tillstyrker", exact=True
        ).check()
        page.get_by_label(label, exact=True).fill(value)
        # With a file, the one mistake is the field's: every mistake is reported at once.
        page.locator("#filer").set_input_files(
            {"name": "svar.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}
        )

    return fill


def _fill(label: str, value: str) -> Callable[[Page, StartedRound], None]:
    def fill(page: Page, _round: StartedRound) -> None:
        page.get_by_label(label, exact=True).fill(value)

    return fill


def _anstand_on_deadline(page: Page, started_round: StartedRound) -> None:
    page.get_by_label("Nytt datum för svaret (obligatoriskt)").fill(
        started_round.deadline.isoformat()
    )
    page.get_by_label("Skäl (obligatoriskt)", exact=True).fill("Nämnden sammanträder senare.")


def _anstand_without_reason(page: Page, started_round: StartedRound) -> None:
    later = working_day_after(started_round.deadline, 14)
    page.get_by_label("Nytt datum för svaret (obligatoriskt)").fill(later.isoformat())


ERROR_CASES = [
    ErrorCase(
        "receipt: e-mail",
        _fill("Kontaktpersonens e-post (frivilligt)", "anna.berg@"),
        "Bekräfta mottagandet",
        "Kontaktpersonens e-post (frivilligt)",
        "epost",
        "Ange en giltig e-postadress, till exempel namn@kommun.se.",
        "E-post till kontaktpersonen (frivilligt)",
    ),
    ErrorCase(
        "answer: contact's e-mail",
        _answer_with("E-post till kontaktpersonen (frivilligt)", "anna.berg@"),
        "Skicka svaret",
        "E-post till kontaktpersonen (frivilligt)",
        "svar-epost",
        "Ange en giltig e-postadress, till exempel namn@kommun.se.",
        "Kontaktpersonens e-post (frivilligt)",
    ),
    ErrorCase(
        "answer: contact's name",
        _answer_with("Kontaktperson för svaret (frivilligt)", "A" * 201),
        "Skicka svaret",
        "Kontaktperson för svaret (frivilligt)",
        "svar-kontaktperson",
        "Texten får vara högst 200 tecken.",
        "Kontaktperson (frivilligt)",
    ),
    ErrorCase(
        "anstånd: date not after the deadline",
        _anstand_on_deadline,
        "Begär anstånd",
        "Nytt datum för svaret (obligatoriskt)",
        "datum",
        "Det nya datumet måste vara senare än nuvarande svarsdag",
    ),
    ErrorCase(
        "anstånd: no reason",
        _anstand_without_reason,
        "Begär anstånd",
        "Skäl (obligatoriskt)",
        "skal",
        "Ange skälet till att ni behöver anstånd.",
        "Skäl (frivilligt)",
    ),
    ErrorCase(
        "declining: reason too long",
        _fill("Skäl (frivilligt)", "x" * 2001),
        "Avstå från att yttra oss",
        "Skäl (frivilligt)",
        "skal_avstar",
        "Texten får vara högst 2000 tecken.",
        "Skäl (obligatoriskt)",
    ),
]


# --- The browser ----------------------------------------------------------------------------


# Package scope: Playwright's sync API keeps an event loop running in this thread while it
# is started, and Prefect (3.9) then takes every later sync call in the session for an
# async one (it hands back coroutines). It stops when the browser tests are done.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    p = sync_playwright().start()
    yield p
    p.stop()


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is required for the browser tests and is missing at {CHROMIUM}")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()
