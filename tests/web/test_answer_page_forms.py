"""The answer page's forms as an official meets them: what each field asks and promises, which
forms each state and each type of remissinstans is offered, and what an error leads to."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from remiss.answers.processing import queue_kvittens
from remiss.core.dates import local_today, swedish_date, utcnow
from remiss.core.states import RoundState
from remiss.db.engine import session_scope
from remiss.db.models import Answer, Dispatch, Document, OutgoingMessage, Round
from remiss.outbox.compose import build_message
from tests.support.documents import pdf_bytes
from tests.support.rounds import dispatch_of
from tests.web.conftest import Portal

PDF = pdf_bytes()
# Starts like a PDF, as a renamed or truncated file does, but pdfium cannot open it.
BROKEN_PDF = b"%PDF-1.7\n" + b"inte en pdf " * 200
MARKS = ("(obligatoriskt)", "(frivilligt)")


# --- Reading the page as a structure -------------------------------------------------------


class Forms(HTMLParser):
    """Every form of a page: its action, its field names, and the text of each label and of
    each legend of a group of choices (with whether the group holds inputs)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []
        self.ids: set[str] = set()
        self.summary_links: list[str] = []
        self.autofocus: list[str] = []
        self._form: dict[str, object] | None = None
        self._capture: list[str] | None = None
        self._in_summary = 0
        self._fieldsets = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if "autofocus" in a:
            self.autofocus.append(a.get("class") or tag)
        if tag == "div" and "felsammanfattning" in (a.get("class") or ""):
            self._in_summary = 1
        elif self._in_summary and tag == "div":
            self._in_summary += 1
        if self._in_summary and tag == "a":
            self.summary_links.append(a.get("href") or "")
        if tag == "form":
            self._form = {"action": a.get("action"), "labels": [], "names": set()}
            self.forms.append(self._form)
        if self._form is None:
            return
        if tag in ("input", "textarea", "select") and a.get("name"):
            names = self._form["names"]
            assert isinstance(names, set)
            names.add(a["name"])
        if tag == "fieldset":
            self._fieldsets += 1
        if tag in ("label", "legend"):
            self._capture = []

    def handle_endtag(self, tag: str) -> None:
        if self._in_summary and tag == "div":
            self._in_summary -= 1
        if tag in ("label", "legend") and self._capture is not None and self._form is not None:
            labels = self._form["labels"]
            assert isinstance(labels, list)
            # A label inside a group names one choice; the group's legend says the rest.
            kind = "choice" if tag == "label" and self._fieldsets else tag
            labels.append((kind, " ".join("".join(self._capture).split())))
            self._capture = None
        if tag == "fieldset":
            self._fieldsets -= 1
        if tag == "form":
            self._form = None

    def handle_data(self, data: str) -> None:
        if self._capture is not None:
            self._capture.append(data)


def parse(html: str) -> Forms:
    forms = Forms()
    forms.feed(html)
    return forms


def form_for(page: Forms, action_end: str) -> dict[str, object]:
    (found,) = [f for f in page.forms if str(f["action"]).endswith(action_end)]
    return found


# --- Posting --------------------------------------------------------------------------------


def post(
    portal: Portal,
    code: str,
    form: str,
    data: Mapping[str, object],
    files: list[tuple[str, bytes]] | None = None,
    csrf: str | None = None,
) -> tuple[int, str]:
    token = portal.tokens[code]
    response = portal.client.post(
        f"/r/{token}/{form}",
        data={"csrf": csrf or csrf_of(portal, code), **data},
        files=[("filer", (n, d, "application/octet-stream")) for n, d in files or []] or None,
    )
    return response.status_code, response.text


def csrf_of(portal: Portal, code: str) -> str:
    """The form token, as a page loaded earlier (or another tab of the same browser) holds
    it: a page that offers no form any more carries none, and the cookie is the browser's."""
    for token in (portal.tokens[code], *portal.tokens.values()):
        found = re.search(r'name="csrf" value="([^"]+)"', portal.client.get(f"/r/{token}").text)
        if found:
            return str(found.group(1))
    raise AssertionError("no page with a form")


def visible(html: str) -> str:
    """The page's text without its tags, as a person reads it."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def page_of(portal: Portal, code: str) -> str:
    response = portal.client.get(f"/r/{portal.tokens[code]}")
    assert response.status_code == 200
    return str(response.text)


def with_dispatch(portal: Portal, code: str, change: Callable[[Dispatch], None]) -> None:
    with session_scope(portal.settings.database_url) as session:
        change(dispatch_of(session, code))


def close_round(portal: Portal) -> None:
    with session_scope(portal.settings.database_url) as session:
        for rnd in session.scalars(select(Round)):
            rnd.state = RoundState.CLOSED
            rnd.closed_at = utcnow()


def current_answer(portal: Portal, code: str) -> Answer | None:
    with session_scope(portal.settings.database_url) as session:
        answer = dispatch_of(session, code).current_answer
        if answer is not None:
            _ = answer.documents
        return answer


def today() -> dt.date:
    return local_today(utcnow())


# --- 1. Date fields take what their hint says ----------------------------------------------


def test_date_fields_are_text_fields_whose_hint_says_what_they_take(portal: Portal) -> None:
    html = page_of(portal, "socialnamnden")
    for field in ("beslutsdatum", "datum"):
        tag = re.search(rf'<input id="{field}"[^>]*>', html)
        assert tag, field
        for attribute in ('type="text"', 'inputmode="numeric"', 'autocomplete="off"'):
            assert attribute in tag.group(0), (field, attribute)
        assert f'aria-describedby="{field}-hjalp"' in tag.group(0)
        hint = re.search(rf'<p class="hjalp" id="{field}-hjalp">([^<]*)</p>', html)
        assert hint
        assert "till exempel 2027-02-15" in hint.group(1)
    # No label promises a format the control does not take (a native date picker showed
    # mm/dd/yyyy beside a label saying ÅÅÅÅ-MM-DD).
    assert 'type="date"' not in html
    labels = [text for form in parse(html).forms for _, text in form["labels"]]  # type: ignore[attr-defined]
    assert not [text for text in labels if "ÅÅÅÅ" in text]


@pytest.mark.parametrize(
    ("typed", "days_ago"),
    [("{iso}", 2), ("{y}-{m}-{d}", 3), ("{y}{mm}{dd}", 4), ("{y}/{mm}/{dd}", 5)],
)
def test_a_decision_date_is_taken_year_first_with_or_without_zeros_and_dashes(
    portal: Portal, typed: str, days_ago: int
) -> None:
    day = today() - dt.timedelta(days=days_ago)
    text = typed.format(
        iso=day.isoformat(), y=day.year, m=day.month, d=day.day, mm=f"{day:%m}", dd=f"{day:%d}"
    )
    status, body = post(
        portal,
        "socialnamnden",
        "svar",
        {"stallningstagande": "tillstyrker", "beslutsdatum": text},
        [("svar.pdf", PDF)],
    )
    assert status == 303, body
    answer = current_answer(portal, "socialnamnden")
    assert answer is not None
    assert answer.decision_date == day


def test_a_day_first_date_is_refused_not_guessed(portal: Portal) -> None:
    status, body = post(
        portal,
        "socialnamnden",
        "svar",
        {"stallningstagande": "tillstyrker", "beslutsdatum": "05/11/2026"},
        [("svar.pdf", PDF)],
    )
    assert status == 400
    assert "Ange beslutsdatumet som ÅÅÅÅ-MM-DD, till exempel 2027-02-15." in body
    assert current_answer(portal, "socialnamnden") is None


def test_a_decision_date_before_the_case_or_after_today_is_refused_at_its_field(
    portal: Portal,
) -> None:
    cases = {
        "1999-01-01": "Beslutsdatumet kan inte ligga innan motionen väcktes (19 oktober 2026).",
        (today() + dt.timedelta(days=1)).isoformat(): (
            f"Beslutsdatumet kan inte ligga efter i dag ({swedish_date(today())})."
        ),
    }
    for typed, message in cases.items():
        status, body = post(
            portal,
            "socialnamnden",
            "svar",
            {"stallningstagande": "tillstyrker", "beslutsdatum": typed},
            [("svar.pdf", PDF)],
        )
        assert status == 400, typed
        assert '<p class="felmeddelande" id="beslutsdatum-fel">' in body
        assert message in body, typed
        assert f'value="{typed}"' in body, "the value is kept"
    assert current_answer(portal, "socialnamnden") is None


# --- 2. The error summary: focus, every error, no link to nowhere ---------------------------


def test_the_anstand_form_reports_every_mistake_at_once(portal: Portal) -> None:
    status, body = post(portal, "bromma", "anstand", {"datum": "", "skal": "", "epost": "x@"})
    assert status == 400
    summary = parse(body).summary_links
    assert summary == ["#datum", "#skal", "#epost_anstand"]
    assert "Ange vilket datum ni behöver anstånd till." in body
    assert "Ange skälet till att ni behöver anstånd." in body
    # A malformed date keeps the format message; a date too early says the deadline in prose.
    _, body = post(portal, "bromma", "anstand", {"datum": "i morgon", "skal": "Möte"})
    assert "Ange datumet som ÅÅÅÅ-MM-DD, till exempel 2027-02-15." in body
    with session_scope(portal.settings.database_url) as session:
        deadline = dispatch_of(session, "bromma").deadline
    _, body = post(portal, "bromma", "anstand", {"datum": deadline.isoformat(), "skal": "Möte"})
    assert f"senare än nuvarande svarsdag, {swedish_date(deadline)}." in body


def test_the_answer_form_reports_the_fields_and_the_files_together(portal: Portal) -> None:
    status, body = post(portal, "socialnamnden", "svar", {"epost": "anna@"})
    assert status == 400
    assert parse(body).summary_links == ["#stallning-tillstyrker", "#svar-epost", "#filer"]
    # Browsers cannot refill a file field: the page says so, in the summary and at the field.
    assert "Välj dem igen innan ni skickar svaret." in body
    assert re.search(r'<input id="filer"[^>]*aria-describedby="filer-hjalp filer-igen', body)


def error_states(portal: Portal) -> list[tuple[str, str, str, dict[str, str | list[str]]]]:
    """(what, remissinstans, form, data) for each mistake and each refusal a form can meet."""
    return [
        ("kvittens: e-post", "farsta", "kvittens", {"epost": "x@"}),
        ("svar: nothing", "socialnamnden", "svar", {}),
        (
            "svar: every field wrong",
            "socialnamnden",
            "svar",
            {
                "stallningstagande": "x",
                "att_sats": ["x", "y"],
                "beslutsdatum": "x",
                "paragraf": "§" * 60,
                "gemensamt": ["okand"],
                "kontaktperson": "A" * 201,
                "epost": "x@",
            },
        ),
        ("anstånd: nothing", "bromma", "anstand", {}),
        ("avstå: too long", "kpr", "avstar", {"skal": "x" * 2001}),
        ("gemensamt: no claim", "farsta", "gemensamt", {"svar": "1", "beslut": "x"}),
    ]


def assert_summary_links_resolve(body: str, what: str) -> None:
    page = parse(body)
    assert page.summary_links, what
    for href in page.summary_links:
        assert href.startswith("#"), (what, href)
        assert href[1:] in page.ids, (
            f"{what}: the summary links to {href}, which is not on the page"
        )
    assert page.autofocus == ["felsammanfattning"], f"{what}: focus goes to the summary"


def test_every_link_in_the_error_summary_leads_to_something_on_the_page(
    portal: Portal,
) -> None:
    # Open round: each form's mistakes.
    for what, code, form, data in error_states(portal):
        status, body = post(portal, code, form, data)
        assert status == 400, what
        assert_summary_links_resolve(body, what)
    # Forms the page no longer shows, posted from a page loaded before: after an answer,
    # after declining, and once the round is closed.
    status, _ = post(
        portal, "servicenamnden", "svar", {"stallningstagande": "avstyrker"}, [("s.pdf", PDF)]
    )
    assert status == 303
    for form in ("anstand", "avstar", "kvittens"):
        status, body = post(portal, "servicenamnden", form, {"datum": "2030-01-01", "skal": "x"})
        if status == 400:
            assert_summary_links_resolve(body, f"answered: {form}")
    assert post(portal, "kpr", "avstar", {})[0] == 303
    for form in ("anstand", "svar"):
        status, body = post(portal, "kpr", form, {"stallningstagande": "tillstyrker"})
        assert status == 400
        assert_summary_links_resolve(body, f"declined: {form}")
    csrf = csrf_of(portal, "bromma")  # the page was loaded before the round was closed
    close_round(portal)
    for form in ("kvittens", "svar", "anstand", "avstar", "gemensamt"):
        status, body = post(portal, "bromma", form, {"svar": "1", "beslut": "bekrafta"}, csrf=csrf)
        assert status == 400, form
        assert "avslutad" in body
        assert_summary_links_resolve(body, f"closed: {form}")


# --- 3. Required and optional, said the same way on every form -----------------------------


def labels_of(html: str) -> dict[str, list[str]]:
    """Each form (by its action's last part) with the text of its labels and legends; the
    legend of a group whose answer is a button (the joint answer's question) is no field."""
    found = {}
    for form in parse(html).forms:
        names = form["names"]
        assert isinstance(names, set)
        labels = form["labels"]
        assert isinstance(labels, list)
        kept = [
            text
            for tag, text in labels
            if tag == "label" or (tag == "legend" and names - {"csrf", "svar"})
        ]
        found[str(form["action"]).rsplit("/", 1)[1]] = kept
    return found


def required_fields(portal: Portal, code: str) -> dict[str, list[str]]:
    html = page_of(portal, code)
    required: dict[str, list[str]] = {}
    for form, labels in labels_of(html).items():
        for text in labels:
            # Exactly one mark, at the end of the label.
            assert sum(text.count(m) for m in MARKS) == 1, f"{form}: {text!r}"
            assert text.endswith(MARKS), f"{form}: {text!r}"
        required[form] = [t for t in labels if t.endswith("(obligatoriskt)")]
    return required


def test_every_field_of_every_form_says_whether_it_is_required_and_the_server_agrees(
    portal: Portal,
) -> None:
    required = required_fields(portal, "socialnamnden")
    assert set(required) == {"kvittens", "svar", "anstand", "avstar"}
    assert required["kvittens"] == []
    assert required["avstar"] == []
    assert required["svar"] == [
        "Ställningstagande till ärendet som helhet (obligatoriskt)",
        "Svarets handlingar: protokollsutdrag och tjänsteutlåtande (obligatoriskt)",
    ]
    assert required["anstand"] == ["Nytt datum för svaret (obligatoriskt)", "Skäl (obligatoriskt)"]

    # With only the required fields, each form is accepted; without one, refused at it.
    with session_scope(portal.settings.database_url) as session:
        anstand_day = dispatch_of(session, "bromma").deadline + dt.timedelta(days=7)
        while anstand_day.weekday() >= 5:
            anstand_day += dt.timedelta(days=1)
    anstand = {"datum": anstand_day.isoformat(), "skal": "Nämnden sammanträder senare."}
    for missing, field in (("datum", "datum"), ("skal", "skal")):
        status, body = post(portal, "bromma", "anstand", {**anstand, missing: ""})
        assert status == 400
        assert parse(body).summary_links == [f"#{field}"]
    assert post(portal, "bromma", "anstand", anstand)[0] == 303
    status, body = post(portal, "socialnamnden", "svar", {}, [("s.pdf", PDF)])
    assert (status, parse(body).summary_links) == (400, ["#stallning-tillstyrker"])
    status, body = post(portal, "socialnamnden", "svar", {"stallningstagande": "tillstyrker"})
    assert (status, parse(body).summary_links) == (400, ["#filer"])
    assert (
        post(
            portal, "socialnamnden", "svar", {"stallningstagande": "tillstyrker"}, [("s.pdf", PDF)]
        )[0]
        == 303
    )
    assert post(portal, "farsta", "kvittens", {})[0] == 303
    assert post(portal, "kpr", "avstar", {})[0] == 303
    # An answered page's form ("Ändra ert svar") marks its fields the same way.
    assert required_fields(portal, "socialnamnden")["svar"] == required["svar"]


# --- 4. Upload limits said up front ---------------------------------------------------------


def test_the_upload_limits_are_said_before_any_file_is_chosen(
    make_portal: Callable[..., Portal],
) -> None:
    portal = make_portal(
        REMISS_UPLOAD_MAX_FILES="3", REMISS_UPLOAD_MAX_FILE_MB="5", REMISS_UPLOAD_MAX_TOTAL_MB="12"
    )
    hint = re.search(r'<p class="hjalp" id="filer-hjalp">([^<]*)</p>', page_of(portal, "bromma"))
    assert hint
    assert "Högst tre filer, högst 5 MB per fil och 12 MB sammanlagt." in hint.group(1)
    status, body = post(
        portal,
        "bromma",
        "svar",
        {"stallningstagande": "tillstyrker"},
        [(f"{i}.pdf", PDF) for i in range(4)],
    )
    assert status == 400
    assert "Ni kan bifoga högst tre filer." in body


# --- 5. Forms offered where they make sense, fields that fit the remissinstans --------------


def test_a_remissinstans_answered_by_a_confirmed_joint_answer_is_offered_only_to_see_it(
    portal: Portal,
) -> None:
    status, _ = post(
        portal,
        "socialnamnden",
        "svar",
        {"stallningstagande": "avstyrker", "gemensamt": ["servicenamnden"]},
        [("s.pdf", PDF)],
    )
    assert status == 303
    with session_scope(portal.settings.database_url) as session:
        answer_id = dispatch_of(session, "socialnamnden").current_answer.id  # type: ignore[union-attr]
    assert (
        post(portal, "servicenamnden", "gemensamt", {"svar": str(answer_id), "beslut": "bekrafta"})[
            0
        ]
        == 303
    )
    html = page_of(portal, "servicenamnden")
    for offer in ("Lämna ert svar", "Begär anstånd", "Avstå från att yttra er", "Bekräfta att"):
        assert offer not in html, offer
    assert f'<a href="#gemensamt-{answer_id}">Se det gemensamma svaret</a>' in html
    assert f'id="gemensamt-{answer_id}"' in html
    # A page loaded before, posted now: refused, nothing stored.
    for form, data in (("avstar", {}), ("anstand", {"datum": "2030-01-02", "skal": "x"})):
        status, body = post(portal, "servicenamnden", form, data)
        assert status == 400, form
        assert "står bakom det gemensamma svaret från Socialnämnden" in body
        assert_summary_links_resolve(body, f"joint: {form}")
    assert current_answer(portal, "servicenamnden") is None


NAMND_ONLY = ("beslutsdatum", "paragraf", "reservationer", "sarskilda_uttalanden")


@pytest.mark.parametrize(
    ("kind", "asked", "files_label", "decision_label"),
    [
        ("namnd", NAMND_ONLY, "protokollsutdrag och tjänsteutlåtande", "nämndens"),
        ("stadsdelsnamnd", NAMND_ONLY, "protokollsutdrag och tjänsteutlåtande", "nämndens"),
        (
            "bolag",
            ("beslutsdatum", "paragraf"),
            "bolagets yttrande eller styrelsens beslut",
            "styrelsens",
        ),
        ("rad", (), "rådets yttrande", None),
        ("extern", (), "ert yttrande", None),
    ],
)
def test_each_type_of_remissinstans_is_asked_only_what_fits_it(
    portal: Portal, kind: str, asked: tuple[str, ...], files_label: str, decision_label: str | None
) -> None:
    def set_kind(d: Dispatch) -> None:
        d.remissinstans.kind = kind

    with_dispatch(portal, "farsta", set_kind)
    html = page_of(portal, "farsta")
    names = form_for(parse(html), "/svar")["names"]
    assert isinstance(names, set)
    for field in NAMND_ONLY:
        assert (field in names) == (field in asked), (kind, field)
    assert f"Svarets handlingar: {files_label} (obligatoriskt)" in visible(html)
    if decision_label:
        assert f"Datum för {decision_label} beslut (frivilligt)" in visible(html)
    # What the form does not ask is not stored either, even when a crafted post sends it.
    status, body = post(
        portal,
        "farsta",
        "svar",
        {
            "stallningstagande": "tillstyrker",
            "beslutsdatum": today().isoformat(),
            "paragraf": "§ 3",
            "reservationer": "R",
            "sarskilda_uttalanden": "S",
        },
        [("s.pdf", PDF)],
    )
    assert status == 303, body
    answer = current_answer(portal, "farsta")
    assert answer is not None
    assert (answer.decision_date is not None) == ("beslutsdatum" in asked)
    assert (answer.reservationer is not None) == ("reservationer" in asked)


def test_anser_motionen_besvarad_is_offered_and_taken_only_on_a_motion(portal: Portal) -> None:
    assert "Anser motionen besvarad" in page_of(portal, "bromma")
    with session_scope(portal.settings.database_url) as session:
        dispatch_of(session, "bromma").round.case.arendetyp = "skrivelse"
    assert 'value="besvarad"' not in page_of(portal, "bromma")
    status, body = post(
        portal,
        "bromma",
        "svar",
        {"stallningstagande": "besvarad", "att_sats": ["besvarad"]},
        [("s.pdf", PDF)],
    )
    assert status == 400
    assert "”anser motionen besvarad” gäller bara motioner" in body
    assert "Välj ett av alternativen för att-sats 1." in body
    assert current_answer(portal, "bromma") is None


# --- 6. "Ändra ert svar" starts from the answer in force ------------------------------------


def test_changing_an_answer_starts_from_the_answer_in_force(portal: Portal) -> None:
    decided = today() - dt.timedelta(days=3)
    sent = {
        "stallningstagande": "tillstyrker_delvis",
        "att_sats": ["", "avstyrker"],
        "sammanfattning": "Nämnden ser positivt på det mesta.",
        "beslutsdatum": decided.isoformat(),
        "paragraf": "§ 12",
        "gemensamt": ["servicenamnden"],
        "reservationer": "Ledamoten (V) reserverade sig.",
        "sarskilda_uttalanden": "Ett särskilt uttalande.",
        "kontaktperson": "Anna Berg",
        "epost": "anna.berg@stockholm.example",
    }
    assert post(portal, "socialnamnden", "svar", sent, [("s.pdf", PDF)])[0] == 303
    html = page_of(portal, "socialnamnden")
    assert "Ändra ert svar" in html
    assert re.search(r'value="tillstyrker_delvis" checked', html)
    select = re.search(r'<select id="att_sats_2".*?</select>', html, re.S)
    assert select
    assert '<option value="avstyrker" selected>' in select.group(0)
    assert 'value="servicenamnden" checked' in html
    for field, value in (
        ("beslutsdatum", decided.isoformat()),
        ("paragraf", "§ 12"),
        ("svar-kontaktperson", "Anna Berg"),
        ("svar-epost", "anna.berg@stockholm.example"),
    ):
        tag = re.search(rf'<input id="{field}"[^>]*>', html)
        assert tag, field
        assert f'value="{value}"' in tag.group(0), field
    for field in ("sammanfattning", "reservationer", "sarskilda_uttalanden"):
        assert f">{sent[field]}</textarea>" in html, field


# --- 8. A file whose text cannot be read ----------------------------------------------------


def test_a_pdf_that_cannot_be_opened_is_kept_and_the_official_is_asked_for_a_readable_one(
    portal: Portal,
) -> None:
    token = portal.tokens["socialnamnden"]
    status, _ = post(
        portal,
        "socialnamnden",
        "svar",
        {"stallningstagande": "tillstyrker"},
        [("Protokoll.pdf", BROKEN_PDF), ("Utlåtande.pdf", PDF)],
    )
    assert status == 303
    receipt = portal.client.get(f"/r/{token}/kvitto/1").text
    assert "Texten i en fil kunde inte läsas" in receipt
    assert "Protokoll.pdf: Filen ser ut som en PDF men kunde inte öppnas" in receipt
    assert "Utlåtande.pdf:" not in receipt
    with session_scope(portal.settings.database_url) as session:
        docs = {
            d.filename: d
            for d in session.scalars(select(Document).where(Document.answer_id.is_not(None)))
        }
        assert docs["Protokoll.pdf"].text_error  # the handläggare sees it in the review too
        assert docs["Utlåtande.pdf"].text_error is None
        # The kvittens, composed after the text is read (as the flow does), says it too.
        answer = dispatch_of(session, "socialnamnden").current_answer
        assert answer is not None
        message_id = queue_kvittens(session, answer_id=answer.id)
        mail = build_message(
            session,
            message=session.get_one(OutgoingMessage, message_id),
            settings=portal.settings,
        )
    for body in (mail.text, mail.html):
        assert "Texten i filen Protokoll.pdf kunde inte läsas" in body
        assert "Skicka gärna ett nytt svar med en läsbar version" in body
    assert "Med kontrollsummorna (sha256)" in mail.text
